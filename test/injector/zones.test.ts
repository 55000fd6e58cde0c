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
    });
    expect(policyDraft(annotations, { name: "pci", floor: pci }).problems).toEqual([]);
  });
});
