import { afterEach, describe, expect, it } from "vitest";
import type { PodgateError } from "../../../sidecar/errors.ts";
import { rateLimit } from "../../../sidecar/policies/rate-limit.ts";
import type { RateLimitConfig } from "../../../sidecar/policy-config.ts";
import type { CounterStore } from "../../../sidecar/store/counter-store.ts";
import { MemoryCounterStore } from "../../../sidecar/store/memory-store.ts";
import { type FakeRequest, fakeContext, responseField } from "../../helpers/traffic-sidecar.ts";

const T0 = 1_700_000_000_000;

describe("rateLimit", () => {
  let store: MemoryCounterStore;
  let now = T0;
  afterEach(() => store.close());

  const policy = (
    config: Partial<RateLimitConfig> & Pick<RateLimitConfig, "limits">,
    into?: CounterStore,
  ) => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    now = T0;
    return rateLimit({ name: "api", key: "ip", ...config }, { store: into ?? store, now: () => now });
  };
  const run = (p: ReturnType<typeof rateLimit>, request: FakeRequest = {}) => {
    const context = fakeContext(request);
    const outcome = p.evaluate(context) as PodgateError | undefined;
    return {
      outcome,
      policy: responseField(context, "ratelimit-policy"),
      limit: responseField(context, "ratelimit"),
    };
  };

  it("names each rate in RateLimit-Policy and reports r and t per rate in RateLimit", () => {
    const p = policy({
      limits: [
        { requests: 10, per: "second", burst: 20 },
        { requests: 1000, per: "hour" },
      ],
    });
    const first = run(p);
    expect(first.outcome).toBeUndefined();
    expect(first.policy).toBe('"api-second";q=10;w=1;podgate-burst=20, "api-hour";q=1000;w=3600');
    expect(first.limit).toBe('"api-second";r=19;t=1, "api-hour";r=999;t=4');
    expect(p.name).toBe("rate-limit:api");
  });

  it("answers 429 with Retry-After and an exhausted RateLimit item once the burst is spent", () => {
    const p = policy({ limits: [{ requests: 10, per: "second", burst: 20 }] });
    for (let i = 0; i < 20; i++) expect(run(p).outcome).toBeUndefined();
    const denied = run(p);
    expect(denied.outcome?.statusCode).toBe(429);
    expect(denied.outcome?.code).toBe("PODGATE_TRAFFIC_RATE_LIMITED");
    expect(denied.outcome?.slug).toBe("rate-limited");
    expect(denied.outcome?.headers).toEqual({ "retry-after": "1" });
    expect(denied.policy).toBe('"api";q=10;w=1;podgate-burst=20');
    expect(denied.limit).toBe('"api";r=0;t=1');
  });

  it.each([
    [0, "60"],
    [30_000, "30"],
    [59_500, "1"],
    [59_999, "1"],
  ])("rounds Retry-After up to whole seconds (%i ms after the spend: %s)", (elapsed, retryAfter) => {
    const p = policy({ limits: [{ requests: 1, per: "minute" }] });
    expect(run(p).outcome).toBeUndefined();
    now = T0 + elapsed;
    const denied = run(p);
    expect(denied.outcome?.headers).toEqual({ "retry-after": retryAfter });
    expect(denied.limit).toBe(`"api";r=0;t=${retryAfter}`);
  });

  it("denies on the tighter of several rates, charging neither", () => {
    const p = policy({
      limits: [
        { requests: 10, per: "second", burst: 20 },
        { requests: 3, per: "minute" },
      ],
    });
    for (let i = 0; i < 3; i++) expect(run(p).outcome).toBeUndefined();
    const denied = run(p);
    expect(denied.outcome?.headers).toEqual({ "retry-after": "20" });
    expect(denied.limit).toBe('"api-second";r=17;t=1, "api-minute";r=0;t=20');
  });

  it.each([
    ["ip", { clientAddress: "192.0.2.1" }, { clientAddress: "192.0.2.2" }, false],
    ["global", { clientAddress: "192.0.2.1" }, { clientAddress: "192.0.2.2" }, true],
    ["header:x-tenant", { headers: { "X-Tenant": "acme" } }, { headers: { "x-tenant": "acme" } }, true],
    ["header:x-tenant", { headers: { "X-Tenant": "acme" } }, { headers: { "x-tenant": "umbrella" } }, false],
    ["header:x-tenant", {}, { headers: { "x-other": "1" } }, true],
    [
      "identity",
      { identity: { id: "alice", source: "jwt" } },
      { identity: { id: "bob", source: "jwt" } },
      false,
    ],
    [
      "identity",
      { identity: { id: "alice", source: "jwt" } },
      { identity: { id: "alice", source: "api-key" } },
      true,
    ],
    ["identity", {}, { clientAddress: "192.0.2.9" }, true],
  ] as const)("key %s: %o then %o share a bucket: %s", (key, a, b, shared) => {
    const p = policy({ key, limits: [{ requests: 1, per: "minute" }] });
    expect(run(p, a).outcome).toBeUndefined();
    expect(run(p, b).outcome === undefined).toBe(!shared);
  });

  it("hashes long key values, so a client cannot make one key cost kilobytes", () => {
    const keys: string[] = [];
    const spy: CounterStore = {
      gcra: (key, limits, nowMs, cost) => {
        keys.push(key);
        return store.gcra(key, limits, nowMs, cost);
      },
      incrementWindow: () => 0,
      close: () => undefined,
    };
    const p = policy({ key: "header:x-tenant", limits: [{ requests: 5, per: "second" }] }, spy);
    run(p, { headers: { "x-tenant": "t".repeat(10_000) } });
    run(p, { headers: { "x-tenant": "t".repeat(9_999) } });
    expect(keys[0]).toMatch(/^rate:api:#[A-Za-z0-9_-]{43}$/);
    expect(keys[1]).not.toBe(keys[0]);
  });

  it("applies only to the selected routes and methods, leaving other responses without fields", () => {
    const p = policy({
      routes: ["/api/**"],
      methods: ["GET", "POST"],
      limits: [{ requests: 1, per: "minute" }],
    });
    expect(run(p, { path: "/health" })).toEqual({ outcome: undefined, policy: undefined, limit: undefined });
    expect(run(p, { path: "/api/orders", method: "DELETE" }).limit).toBeUndefined();
    expect(run(p, { path: "/api/orders", method: "HEAD" }).limit).toBe('"api";r=0;t=60');
    expect(run(p, { path: "/api/orders", method: "POST" }).outcome?.statusCode).toBe(429);
  });

  it("joins the fields of several rate limits into one field line each", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    const perIp = rateLimit({ name: "ip", key: "ip", limits: [{ requests: 5, per: "second" }] }, { store });
    const all = rateLimit(
      { name: "all", key: "global", limits: [{ requests: 100, per: "second" }] },
      { store },
    );
    const context = fakeContext();
    perIp.evaluate(context);
    all.evaluate(context);
    expect(responseField(context, "ratelimit-policy")).toBe('"ip";q=5;w=1, "all";q=100;w=1');
    expect(responseField(context, "ratelimit")).toBe('"ip";r=4;t=1, "all";r=99;t=1');
  });

  it("works with a store that answers asynchronously", async () => {
    const remote: CounterStore = {
      gcra: async (key, limits, nowMs, cost) => store.gcra(key, limits, nowMs, cost),
      incrementWindow: async () => 0,
      close: () => undefined,
    };
    const p = policy({ limits: [{ requests: 1, per: "minute" }] }, remote);
    const context = fakeContext();
    await expect(p.evaluate(context)).resolves.toBeUndefined();
    expect(responseField(context, "ratelimit")).toBe('"api";r=0;t=60');
    const denied = (await p.evaluate(fakeContext())) as PodgateError;
    expect(denied.statusCode).toBe(429);
  });
});
