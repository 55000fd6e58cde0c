import { afterEach, describe, expect, it } from "vitest";
import type { PodgateError } from "../../../sidecar/errors.ts";
import { calendarPeriod, quota } from "../../../sidecar/policies/quota.ts";
import type { QuotaConfig } from "../../../sidecar/policy-config.ts";
import type { CounterStore } from "../../../sidecar/store/counter-store.ts";
import { MemoryCounterStore } from "../../../sidecar/store/memory-store.ts";
import { type FakeRequest, fakeContext, responseField } from "../../helpers/traffic-sidecar.ts";

const utc = (...parts: [number, number, number?, number?, number?, number?, number?]) => Date.UTC(...parts);

describe("calendarPeriod", () => {
  it.each([
    ["minute", "2025-01-01T10:30:59.999Z", "2025-01-01T10:30:00.000Z", "2025-01-01T10:31:00.000Z"],
    ["minute", "2025-01-01T10:31:00.000Z", "2025-01-01T10:31:00.000Z", "2025-01-01T10:32:00.000Z"],
    ["hour", "2025-06-30T23:59:59.000Z", "2025-06-30T23:00:00.000Z", "2025-07-01T00:00:00.000Z"],
    ["day", "2024-12-31T12:00:00.000Z", "2024-12-31T00:00:00.000Z", "2025-01-01T00:00:00.000Z"],
    ["month", "2024-01-31T23:59:59.999Z", "2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z"],
    ["month", "2024-02-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"],
    ["month", "2024-02-29T12:00:00.000Z", "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"],
    ["month", "2025-02-28T23:59:00.000Z", "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z"],
    ["month", "2025-04-30T23:59:59.999Z", "2025-04-01T00:00:00.000Z", "2025-05-01T00:00:00.000Z"],
    ["month", "2025-12-31T23:59:59.999Z", "2025-12-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
    ["month", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"],
  ] as const)("the %s containing %s runs from %s to %s", (period, now, start, end) => {
    expect(calendarPeriod(period, Date.parse(now))).toEqual({
      startMs: Date.parse(start),
      endMs: Date.parse(end),
    });
  });
});

describe("quota", () => {
  let store: MemoryCounterStore;
  let now = 0;
  afterEach(() => store.close());

  const policy = (config: Partial<QuotaConfig>, at: number, into?: CounterStore) => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    now = at;
    const base: QuotaConfig = { name: "monthly", key: "identity", requests: 3, period: "month" };
    return quota({ ...base, ...config }, { store: into ?? store, now: () => now });
  };
  const run = (p: ReturnType<typeof quota>, request: FakeRequest = {}) => {
    const context = fakeContext(request);
    const outcome = p.evaluate(context) as PodgateError | undefined;
    return {
      outcome,
      policy: responseField(context, "ratelimit-policy"),
      limit: responseField(context, "ratelimit"),
    };
  };
  const alice: FakeRequest = { identity: { id: "alice", source: "jwt" } };

  it("counts per calendar month, answers 429 quota-exceeded until the month ends, then renews", () => {
    const p = policy({}, utc(2024, 0, 31, 23, 59, 58, 500));
    expect(run(p, alice)).toEqual({
      outcome: undefined,
      policy: '"monthly";q=3;w=2678400',
      limit: '"monthly";r=2;t=2',
    });
    expect(run(p, alice).limit).toBe('"monthly";r=1;t=2');
    expect(run(p, alice).limit).toBe('"monthly";r=0;t=2');
    now = utc(2024, 0, 31, 23, 59, 59, 500);
    const denied = run(p, alice);
    expect(denied.outcome?.statusCode).toBe(429);
    expect(denied.outcome?.code).toBe("PODGATE_TRAFFIC_QUOTA_EXCEEDED");
    expect(denied.outcome?.slug).toBe("quota-exceeded");
    expect(denied.outcome?.headers).toEqual({ "retry-after": "1" });
    expect(denied.limit).toBe('"monthly";r=0;t=1');
    now = utc(2024, 1, 1);
    // February 2024 has 29 days: w follows the period.
    expect(run(p, alice)).toEqual({
      outcome: undefined,
      policy: '"monthly";q=3;w=2505600',
      limit: `"monthly";r=2;t=${29 * 86_400}`,
    });
  });

  it("keeps a counter per identity, and one shared counter for requests without one", () => {
    const p = policy({ requests: 1, period: "day" }, utc(2025, 3, 10, 8));
    expect(run(p, alice).outcome).toBeUndefined();
    expect(run(p, alice).outcome?.statusCode).toBe(429);
    expect(run(p, { identity: { id: "bob", source: "jwt" } }).outcome).toBeUndefined();
    expect(run(p, { clientAddress: "192.0.2.1" }).outcome).toBeUndefined();
    expect(run(p, { clientAddress: "192.0.2.2" }).outcome?.statusCode).toBe(429);
  });

  it("gives Retry-After in whole seconds to the end of the UTC day", () => {
    const p = policy({ requests: 1, period: "day" }, utc(2025, 3, 10, 23, 0, 0, 1));
    run(p, alice);
    expect(run(p, alice).outcome?.headers).toEqual({ "retry-after": "3600" });
  });

  it("applies only to the selected routes", () => {
    const p = policy({ requests: 1, period: "hour", routes: ["/reports/*"] }, utc(2025, 3, 10, 8));
    expect(run(p, { ...alice, path: "/reports/q1" }).outcome).toBeUndefined();
    expect(run(p, { ...alice, path: "/other" })).toEqual({
      outcome: undefined,
      policy: undefined,
      limit: undefined,
    });
    expect(run(p, { ...alice, path: "/reports/q2" }).outcome?.statusCode).toBe(429);
  });

  it("works with a store that answers asynchronously", async () => {
    const remote: CounterStore = {
      gcra: () => Promise.reject(new Error("unused")),
      incrementWindow: async (key, end, amount) => store.incrementWindow(key, end, amount),
      close: () => undefined,
    };
    const p = policy({ requests: 1, period: "minute" }, utc(2025, 3, 10, 8, 0, 30), remote);
    await expect(p.evaluate(fakeContext(alice))).resolves.toBeUndefined();
    const denied = (await p.evaluate(fakeContext(alice))) as PodgateError;
    expect(denied.headers).toEqual({ "retry-after": "30" });
  });
});
