import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../../sidecar/config.ts";
import { trafficPolicies } from "../../../sidecar/policies/traffic.ts";
import { headerIdentity, startTrafficSidecar, type TrafficSidecar } from "../../helpers/traffic-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const NOW = Date.parse("2025-03-31T23:59:30.000Z");
const perMinute = (name: string, key: string, requests: number, extra: Record<string, unknown> = {}) => ({
  name,
  key,
  limits: [{ requests, per: "minute" }],
  ...extra,
});

describe("trafficPolicies", () => {
  it("returns rate limits, then quotas, then the concurrency limit, and nothing when none is configured", () => {
    const config = parseConfig({
      policies: {
        concurrency: {},
        quotas: [{ name: "monthly", requests: 10, period: "month" }],
        rateLimits: [perMinute("a", "ip", 5), perMinute("b", "global", 50)],
      },
    });
    expect(trafficPolicies(config).map((p) => p.name)).toEqual([
      "rate-limit:a",
      "rate-limit:b",
      "quota:monthly",
      "concurrency",
    ]);
    expect(trafficPolicies(parseConfig({}))).toEqual([]);
  });
});

describe("rate limits and quotas over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: TrafficSidecar;

  afterEach(async () => {
    await sidecar.close();
    await upstream.close();
  });

  const start = async (policies: Record<string, unknown>, config: Record<string, unknown> = {}) => {
    upstream = await startEchoUpstream();
    sidecar = await startTrafficSidecar(upstream.url, {
      policies,
      config,
      before: [headerIdentity("x-test-user")],
      deps: { now: () => NOW },
    });
  };

  it("puts the RateLimit fields on the app's responses and on the 429, which has Retry-After", async () => {
    await start({ rateLimits: [perMinute("api", "ip", 2)] });
    const first = await sidecar.request("/a");
    expect(first.status).toBe(200);
    expect(first.headers["ratelimit-policy"]).toBe('"api";q=2;w=60');
    expect(first.headers.ratelimit).toBe('"api";r=1;t=30');
    expect((await sidecar.request("/a")).headers.ratelimit).toBe('"api";r=0;t=30');
    const denied = await sidecar.request("/a");
    expect(denied.status).toBe(429);
    expect(denied.headers["content-type"]).toBe("application/problem+json");
    expect(denied.headers["retry-after"]).toBe("30");
    expect(denied.headers["ratelimit-policy"]).toBe('"api";q=2;w=60');
    expect(denied.headers.ratelimit).toBe('"api";r=0;t=30');
    expect(JSON.parse(denied.body)).toMatchObject({
      type: "https://podgate.io/problems/rate-limited",
      status: 429,
      code: "PODGATE_TRAFFIC_RATE_LIMITED",
    });
    expect(upstream.received).toHaveLength(2);
  });

  it("keys by the client IP from a trusted proxy's X-Forwarded-For, never by a forged one", async () => {
    await start(
      { rateLimits: [perMinute("per-ip", "ip", 1)] },
      { forwarding: { trustedProxies: ["127.0.0.1/32"] } },
    );
    const from = (ip: string) => sidecar.request("/", { headers: { "x-forwarded-for": ip } });
    expect((await from("203.0.113.1")).status).toBe(200);
    expect((await from("203.0.113.2")).status).toBe(200);
    expect((await from("203.0.113.1")).status).toBe(429);
    // A hop that is not an address is not believed: the client is the trusted peer, a bucket of its own.
    expect((await from("203.0.113.1, not-an-ip")).status).toBe(200);
  });

  it.each([
    ["global", [{}, { "x-tenant": "b" }], [200, 429]],
    ["header:x-tenant", [{ "x-tenant": "a" }, { "x-tenant": "b" }, { "x-tenant": "a" }], [200, 200, 429]],
    ["header:x-tenant", [{}, {}], [200, 429]],
    ["identity", [{ "x-test-user": "alice" }, { "x-test-user": "bob" }, {}, {}], [200, 200, 200, 429]],
  ] as const)("keys %s: requests with %o answer %o", async (key, headers, statuses) => {
    await start({ rateLimits: [perMinute("k", key, 1)] });
    const seen: number[] = [];
    for (const h of headers) seen.push((await sidecar.request("/", { headers: h })).status);
    expect(seen).toEqual(statuses);
  });

  it("limits only the selected routes and methods; other responses carry no fields", async () => {
    await start({
      rateLimits: [perMinute("writes", "global", 1, { routes: ["/api/**"], methods: ["POST"] })],
    });
    expect((await sidecar.request("/api/orders", { method: "POST" })).status).toBe(200);
    const other = await sidecar.request("/health");
    expect(other.status).toBe(200);
    expect(other.headers.ratelimit).toBeUndefined();
    expect((await sidecar.request("/api/orders")).status).toBe(200);
    expect((await sidecar.request("/api/orders", { method: "POST" })).status).toBe(429);
  });

  it("answers quota-exceeded until the month ends, with both policies' fields on one line each", async () => {
    await start({
      rateLimits: [perMinute("burst", "identity", 100)],
      quotas: [{ name: "monthly", key: "identity", requests: 1, period: "month" }],
    });
    const alice = { "x-test-user": "alice" };
    const ok = await sidecar.request("/", { headers: alice });
    expect(ok.status).toBe(200);
    expect(ok.headers["ratelimit-policy"]).toBe('"burst";q=100;w=60, "monthly";q=1;w=2678400');
    expect(ok.headers.ratelimit).toBe('"burst";r=99;t=1, "monthly";r=0;t=30');
    const denied = await sidecar.request("/", { headers: alice });
    expect(denied.status).toBe(429);
    expect(denied.headers["retry-after"]).toBe("30");
    expect(denied.headers.ratelimit).toBe('"burst";r=98;t=1, "monthly";r=0;t=30');
    expect(JSON.parse(denied.body)).toMatchObject({
      type: "https://podgate.io/problems/quota-exceeded",
      code: "PODGATE_TRAFFIC_QUOTA_EXCEEDED",
    });
    expect((await sidecar.request("/", { headers: { "x-test-user": "bob" } })).status).toBe(200);
  });
});
