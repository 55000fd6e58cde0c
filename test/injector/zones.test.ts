/** Zone floors: tighter or looser, per field rule. */
import { describe, expect, it } from "vitest";
import { parseAnnotations } from "../../injector/annotation-values.ts";
import { policyDraft } from "../../injector/policy.ts";
import { DEFAULT_ZONES } from "../../injector/settings.ts";
import { applyFloor, routeCovers, type ZoneFloor } from "../../injector/zones.ts";

const floor = (config: Record<string, unknown>, extra: Partial<ZoneFloor> = {}): ZoneFloor => ({
  allowOptOut: true,
  requireRoutes: false,
  tls: "none",
  authentication: "optional",
  config,
  ...extra,
});

describe("route coverage", () => {
  it.each([
    ["/api/**", ["*"], "/api/users", ["GET"], true],
    ["/api/**", ["*"], "/api", ["GET"], true],
    ["/api/**", ["GET"], "/api/**", ["GET", "HEAD"], true],
    ["/api/**", ["GET"], "/api/x", ["POST"], false],
    ["/api/*", ["*"], "/api/x", ["*"], true],
    ["/api/*", ["*"], "/api/x/y", ["GET"], false],
    ["/api/*", ["*"], "/api/**", ["GET"], false],
    ["/api/x", ["GET"], "/api/*", ["GET"], false],
    ["/api/x", ["GET"], "/api/x", ["*"], false],
  ] as const)(
    "floor %s %j covers pod %s %j: %s",
    (floorPath, floorMethods, podPath, podMethods, expected) => {
      expect(
        routeCovers(
          { path: floorPath, methods: [...floorMethods] },
          { path: podPath, methods: [...podMethods] },
        ),
      ).toBe(expected);
    },
  );
});

describe("applying a floor", () => {
  it("fills in what the pod leaves unset and keeps what it tightens", () => {
    const result = applyFloor("z", floor({ limits: { maxBodyBytes: 1000, maxHeaderCount: 50 } }), {
      limits: { maxBodyBytes: 10 },
    });
    expect(result).toEqual({ config: { limits: { maxBodyBytes: 10, maxHeaderCount: 50 } }, problems: [] });
  });

  it("names the annotation and the floor for each loosening", () => {
    const result = applyFloor(
      "edge",
      floor({
        forwarding: { trustedProxies: ["10.0.0.0/8"] },
        routes: [{ path: "/api/**", methods: ["GET"] }],
      }),
      {
        forwarding: { trustedProxies: ["10.0.0.0/8", "0.0.0.0/0"] },
        routes: [{ path: "/admin", methods: ["GET"] }],
      },
    );
    expect(result.problems).toEqual([
      'podgate.io/trusted-proxies: "10.0.0.0/8,0.0.0.0/0" loosens zone edge\'s floor (forwarding.trustedProxies within "10.0.0.0/8")',
      'podgate.io/routes: "/admin GET" loosens zone edge\'s floor (routes within "/api/** GET")',
    ]);
  });

  it("accepts a floor's own values as equal, not looser", () => {
    const pci = DEFAULT_ZONES.pci;
    if (pci === undefined) throw new Error("pci zone missing");
    const annotations = parseAnnotations({
      "podgate.io/max-body-size": "1Mi",
      "podgate.io/access-log": "true",
      "podgate.io/routes": "/** *",
      "podgate.io/lockout": "10 in 15m lock 30m",
      "podgate.io/tls-secret": "t",
      "podgate.io/client-ca-secret": "ca",
      "podgate.io/client-certificates": "required",
    });
    expect(policyDraft(annotations, { name: "pci", floor: pci }).problems).toEqual([]);
  });
});

describe("policy floors", () => {
  const ipLimit = { name: "floor-ip", key: "ip", limits: [{ requests: 100, per: "second", burst: 200 }] };
  const rateFloor = floor({ policies: { rateLimits: [ipLimit] } });
  const rates = (raw: string) => {
    const annotations = parseAnnotations({ "podgate.io/rate-limit": raw });
    return policyDraft(annotations, { name: "edge", floor: rateFloor });
  };
  const names = (draft: Record<string, unknown>) =>
    (draft.policies as { rateLimits: { name: string }[] }).rateLimits.map((limit) => limit.name);

  it.each([
    ["50/s by=ip", ["ip"]],
    ["100/s burst=200 by=ip", ["ip"]],
    ["10/s by=identity", ["identity", "floor-ip"]],
    ["50/s by=ip routes=/a/**", ["ip", "floor-ip"]],
    ["1000/m by=ip", ["ip", "floor-ip"]],
  ])("lets a pod tighten or add to a floor's rate limit: %s keeps %j", (raw, expected) => {
    const { draft, problems } = rates(raw);
    expect(problems).toEqual([]);
    expect(names(draft)).toEqual(expected);
  });

  it("fills in the floor's rate limit when the pod sets none", () => {
    const { draft } = policyDraft(parseAnnotations({}), { name: "edge", floor: rateFloor });
    expect(names(draft)).toEqual(["floor-ip"]);
  });

  it.each([
    ["1000/s by=ip", "1000/s by=ip"],
    ["100/s burst=500", "100/s burst=500"],
  ])("denies a pod that loosens a floor's rate on the same key and period: %s", (raw) => {
    expect(rates(raw).problems).toEqual([
      `podgate.io/rate-limit: ${JSON.stringify(raw)} loosens zone edge's floor (policies.rateLimits at most "100/s burst=200 by=ip")`,
    ]);
  });

  it("keeps a floor's quota beside the pod's and denies a higher one on the same key and period", () => {
    const quotaFloor = floor({
      policies: { quotas: [{ name: "floor-day", key: "identity", requests: 1000, period: "day" }] },
    });
    const quota = (raw: string) =>
      policyDraft(parseAnnotations({ "podgate.io/quota": raw }), { name: "edge", floor: quotaFloor });
    expect(quota("500/day").problems).toEqual([]);
    expect(quota("10/minute").draft.policies).toMatchObject({
      quotas: [{ name: "identity-minute" }, { name: "floor-day" }],
    });
    expect(quota("5000/day").problems).toEqual([
      `podgate.io/quota: "5000/day" loosens zone edge's floor (policies.quotas at most "1000/day by=identity")`,
    ]);
  });

  it("judges a lockout field by field: fewer failures, a longer window and a longer lock are tighter", () => {
    const pci = DEFAULT_ZONES.pci;
    if (pci === undefined) throw new Error("pci zone missing");
    const lockout = (raw: string) =>
      policyDraft(parseAnnotations({ "podgate.io/lockout": raw, "podgate.io/api-keys": "k" }), {
        name: "pci",
        floor: { ...pci, tls: "none", requireRoutes: false },
      }).problems;
    expect(lockout("5 in 1h lock 1h")).toEqual([]);
    expect(lockout("10 in 10m lock 30m")).toEqual([
      `podgate.io/lockout: "10 in 10m lock 30m" loosens zone pci's floor (policies.lockout.windowSeconds at least "15m")`,
    ]);
  });

  it("adds a pod's denied CIDRs to the floor's and keeps allowed ones within the floor's", () => {
    const ipFloor = floor({ policies: { ipRules: { allow: ["10.0.0.0/8"], deny: ["10.1.0.0/16"] } } });
    const result = policyDraft(
      parseAnnotations({ "podgate.io/ip-deny": "10.2.0.0/16", "podgate.io/ip-allow": "192.168.0.0/16" }),
      { name: "edge", floor: ipFloor },
    );
    expect(result.draft.policies).toEqual({
      ipRules: { allow: ["192.168.0.0/16"], deny: ["10.1.0.0/16", "10.2.0.0/16"] },
    });
    expect(result.problems).toEqual([
      `podgate.io/ip-allow: "192.168.0.0/16" loosens zone edge's floor (policies.ipRules.allow within "10.0.0.0/8")`,
    ]);
  });
});

describe("zone transport and authentication", () => {
  const check = (extra: Partial<ZoneFloor>, annotations: Record<string, string>) =>
    policyDraft(parseAnnotations(annotations), { name: "z", floor: floor({}, extra) }).problems;
  const mtls = {
    "podgate.io/tls-secret": "t",
    "podgate.io/client-ca-secret": "ca",
    "podgate.io/client-certificates": "required",
  };

  it.each([
    [{ tls: "tls" }, {}, ["zone z requires TLS: set podgate.io/tls-secret"]],
    [{ tls: "tls" }, { "podgate.io/tls-secret": "t" }, []],
    [
      { tls: "mtls" },
      { ...mtls, "podgate.io/client-certificates": "optional" },
      [
        'zone z requires mTLS: set podgate.io/tls-secret, podgate.io/client-ca-secret and podgate.io/client-certificates: "required"',
      ],
    ],
    [{ tls: "mtls", authentication: "required" }, mtls, []],
    [
      { authentication: "required" },
      {},
      [
        "zone z requires authentication: set podgate.io/api-keys, a JWT issuer (podgate.io/jwt-issuer) or client certificates (podgate.io/client-certificates)",
      ],
    ],
    [
      { authentication: "required" },
      { "podgate.io/api-keys": "k", "podgate.io/auth-required": "false" },
      [`podgate.io/auth-required: "false" loosens zone z's floor (authentication required)`],
    ],
  ] as const)("zone %j with %j: %j", (extra, annotations, expected) => {
    expect(check(extra, annotations)).toEqual(expected);
  });

  it("requires authentication in the rendered config of a zone that requires it", () => {
    const result = policyDraft(
      parseAnnotations({ "podgate.io/api-keys": "k", "podgate.io/auth-required": "true" }),
      {
        name: "z",
        floor: floor({}, { authentication: "required" }),
      },
    );
    expect(result.draft.policies).toMatchObject({ authentication: { required: true } });
  });
});

describe("route coverage with scopes and identities", () => {
  it.each([
    [{ scopes: ["admin"] }, { scopes: ["admin", "audit"] }, true],
    [{ scopes: ["admin"] }, {}, false],
    [{ identities: ["a", "b"] }, { identities: ["a"] }, true],
    [{ identities: ["a"] }, {}, false],
    [{}, { identities: ["a"], scopes: ["x"] }, true],
  ])("floor %j covers pod %j: %s", (floorExtra, podExtra, expected) => {
    const route = (extra: object) => ({ path: "/api/**", methods: ["*" as const], ...extra });
    expect(routeCovers(route(floorExtra), route(podExtra))).toBe(expected);
  });
});

describe("audit and redaction floors", () => {
  const ssn = { name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" };
  const mrn = { name: "mrn", pattern: "\\bMRN\\d{8}\\b" };
  const hipaa = DEFAULT_ZONES.hipaa;
  if (hipaa === undefined) throw new Error("hipaa zone missing");

  it.each([
    ["hipaa", { audit: { enabled: true }, redact: { patterns: [ssn] } }],
    ["pci", { audit: { enabled: true } }],
  ])("the %s floor turns the audit log on and sets its redact patterns", (zone, expected) => {
    const shipped = DEFAULT_ZONES[zone];
    if (shipped === undefined) throw new Error(`${zone} zone missing`);
    const { config } = applyFloor(zone, shipped, {});
    expect({ audit: config.audit, redact: config.redact }).toEqual({ redact: undefined, ...expected });
  });

  it("adds a pod's redact patterns to the floor's and never drops the floor's", () => {
    const bare = floor(hipaa.config);
    const { config, problems } = applyFloor("hipaa", bare, { redact: { patterns: [mrn, ssn] } });
    expect(problems).toEqual([]);
    expect(config.redact).toEqual({ patterns: [ssn, mrn] });
    expect(applyFloor("hipaa", bare, { redact: { patterns: [] } }).config.redact).toEqual({
      patterns: [ssn],
    });
  });

  it("rejects audit.enabled false in a zone", () => {
    const { problems } = applyFloor("pci", floor({ audit: { enabled: true } }), {
      audit: { enabled: false },
    });
    expect(problems).toEqual([
      'audit.enabled: "false" loosens zone pci\'s floor (audit.enabled must be "true")',
    ]);
  });
});
