import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PolicyOutcome } from "../../../sidecar/chain.ts";
import type { PodgateError } from "../../../sidecar/errors.ts";
import { type ConcurrencyPolicy, concurrencyLimit } from "../../../sidecar/policies/concurrency.ts";
import type { ConcurrencyConfig } from "../../../sidecar/policy-config.ts";
import {
  fakeContext,
  finishExchange,
  startTrafficSidecar,
  type TrafficSidecar,
} from "../../helpers/traffic-sidecar.ts";
import { type EchoUpstream, reflect, startEchoUpstream } from "../../helpers/upstream.ts";

const defaults: ConcurrencyConfig = {
  maxInFlight: 2,
  queueSize: 1,
  queueTimeoutMs: 1000,
  adaptive: false,
  targetLatencyMs: 100,
  minInFlight: 1,
};

describe("concurrencyLimit", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("admits up to the limit, queues one, and sheds the next with 503 and Retry-After", () => {
    const policy = concurrencyLimit(defaults);
    expect(policy.evaluate(fakeContext())).toBeUndefined();
    expect(policy.evaluate(fakeContext())).toBeUndefined();
    expect(policy.evaluate(fakeContext())).toBeInstanceOf(Promise);
    const shed = policy.evaluate(fakeContext()) as PodgateError;
    expect(shed.statusCode).toBe(503);
    expect(shed.code).toBe("PODGATE_TRAFFIC_OVERLOADED");
    expect(shed.headers).toEqual({ "retry-after": "1" });
    expect([policy.inFlight, policy.queued]).toEqual([2, 1]);
  });

  it("hands a freed slot to the oldest waiter, which then holds it until its exchange ends", async () => {
    const policy = concurrencyLimit({ ...defaults, maxInFlight: 1, queueSize: 2 });
    const first = fakeContext();
    const second = fakeContext();
    policy.evaluate(first);
    const waiting = policy.evaluate(second) as Promise<PolicyOutcome>;
    finishExchange(first);
    await expect(waiting).resolves.toBeUndefined();
    expect([policy.inFlight, policy.queued]).toEqual([1, 0]);
    finishExchange(second, 499);
    expect(policy.inFlight).toBe(0);
  });

  it("answers 503 to a waiter that gets no slot within queueTimeoutMs", async () => {
    vi.useFakeTimers();
    const policy = concurrencyLimit({ ...defaults, maxInFlight: 1, queueTimeoutMs: 2500 });
    policy.evaluate(fakeContext());
    const waiting = policy.evaluate(fakeContext()) as Promise<PolicyOutcome>;
    vi.advanceTimersByTime(2499);
    expect(policy.queued).toBe(1);
    vi.advanceTimersByTime(1);
    const shed = (await waiting) as PodgateError;
    expect(shed.statusCode).toBe(503);
    expect(shed.headers).toEqual({ "retry-after": "3" });
    expect(policy.queued).toBe(0);
  });

  it("drops a waiter whose client goes away, and never admits a destroyed one", async () => {
    const policy = concurrencyLimit({ ...defaults, maxInFlight: 1, queueSize: 5 });
    const running = fakeContext();
    policy.evaluate(running);
    const gone = fakeContext();
    const goneOutcome = policy.evaluate(gone) as Promise<PolicyOutcome>;
    gone.req.socket.emit("close");
    expect(((await goneOutcome) as PodgateError).statusCode).toBe(503);
    const destroyed = fakeContext();
    const destroyedOutcome = policy.evaluate(destroyed) as Promise<PolicyOutcome>;
    destroyed.req.socket.destroyed = true;
    const next = fakeContext();
    const nextOutcome = policy.evaluate(next) as Promise<PolicyOutcome>;
    finishExchange(running);
    expect(((await destroyedOutcome) as PodgateError).statusCode).toBe(503);
    await expect(nextOutcome).resolves.toBeUndefined();
    expect([policy.inFlight, policy.queued]).toEqual([1, 0]);
    expect(gone.req.socket.listenerCount("close")).toBe(0);
  });

  it("gives no slot to a request whose client left while an earlier policy was pending", () => {
    const policy = concurrencyLimit(defaults);
    const gone = fakeContext();
    gone.req.socket.destroyed = true;
    expect((policy.evaluate(gone) as PodgateError).statusCode).toBe(503);
    expect(policy.inFlight).toBe(0);
  });

  it("does not count WebSocket upgrades, which end with no exchange callback", () => {
    const policy = concurrencyLimit({ ...defaults, maxInFlight: 1 });
    expect(policy.evaluate(fakeContext({ upgrade: true }))).toBeUndefined();
    expect(policy.inFlight).toBe(0);
  });
});

describe("concurrencyLimit, adaptive", () => {
  const adaptive = { ...defaults, adaptive: true, maxInFlight: 20, minInFlight: 4, queueSize: 0 };

  it("cuts the limit by 10% once per round of slow answers, never below minInFlight", () => {
    let now = 0;
    const policy = concurrencyLimit(adaptive, { now: () => now });
    const limits: number[] = [];
    for (let round = 0; round < 20; round++) {
      const batch = Array.from({ length: policy.limit }, () => fakeContext());
      for (const context of batch) policy.evaluate(context);
      now += 150;
      for (const context of batch) finishExchange(context);
      limits.push(policy.limit);
    }
    expect(limits.slice(0, 6)).toEqual([18, 16, 14, 12, 10, 9]);
    expect(limits.at(-1)).toBe(4);
  });

  it("raises the limit back by one step per round of fast answers, up to maxInFlight", () => {
    let now = 0;
    const policy = concurrencyLimit(adaptive, { now: () => now });
    const round = (latency: number) => {
      const batch = Array.from({ length: policy.limit }, () => fakeContext());
      for (const context of batch) policy.evaluate(context);
      now += latency;
      for (const context of batch) finishExchange(context);
    };
    for (let i = 0; i < 20; i++) round(500);
    expect(policy.limit).toBe(4);
    const limits: number[] = [];
    for (let i = 0; i < 30; i++) {
      round(10);
      limits.push(policy.limit);
    }
    expect(limits.slice(0, 4)).toEqual([5, 6, 7, 8]);
    expect(limits.at(-1)).toBe(20);
  });

  it("ignores slow answers to requests admitted before the last cut", () => {
    let now = 0;
    const policy = concurrencyLimit(adaptive, { now: () => now });
    const early = Array.from({ length: 10 }, () => fakeContext());
    for (const context of early) policy.evaluate(context);
    now += 500;
    for (const context of early) finishExchange(context);
    expect(policy.limit).toBe(18);
  });
});

describe("concurrency limit over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: TrafficSidecar;
  /** Responses the app holds until the test lets them go. */
  let held: Array<() => void>;

  afterEach(async () => {
    for (const release of held) release();
    await sidecar.close();
    await upstream.close();
  });

  const start = async (concurrency: Partial<ConcurrencyConfig>, delayMs?: number) => {
    upstream = await startEchoUpstream();
    held = [];
    upstream.handler = (req, res, body) => {
      if (delayMs !== undefined) setTimeout(() => reflect(req, res, body), delayMs);
      else held.push(() => reflect(req, res, body));
    };
    sidecar = await startTrafficSidecar(upstream.url, { policies: { concurrency } });
    return sidecar.policies.at(-1) as ConcurrencyPolicy;
  };

  it("sheds a request past the queue with 503, and serves a queued one when a slot frees", async () => {
    const policy = await start({ maxInFlight: 1, queueSize: 1, queueTimeoutMs: 5000 });
    const first = sidecar.request("/first");
    await expect.poll(() => held.length).toBe(1);
    const queued = sidecar.request("/queued");
    await expect.poll(() => policy.queued).toBe(1);
    const shed = await sidecar.request("/shed");
    expect(shed.status).toBe(503);
    expect(shed.headers["retry-after"]).toBe("5");
    expect(JSON.parse(shed.body)).toMatchObject({ type: "https://podgate.io/problems/overloaded" });
    held.shift()?.();
    expect((await first).status).toBe(200);
    await expect.poll(() => held.length).toBe(1);
    held.shift()?.();
    expect((await queued).status).toBe(200);
    expect(upstream.received.map((r) => r.url)).toEqual(["/first", "/queued"]);
    await expect.poll(() => policy.inFlight).toBe(0);
  });

  it("answers 503 when the queue wait times out", async () => {
    await start({ maxInFlight: 1, queueSize: 1, queueTimeoutMs: 100 });
    const first = sidecar.request("/first");
    await expect.poll(() => held.length).toBe(1);
    const timedOut = await sidecar.request("/waits");
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers["retry-after"]).toBe("1");
    held.shift()?.();
    expect((await first).status).toBe(200);
  });

  it("frees the queue place of a client that went away", async () => {
    const policy = await start({ maxInFlight: 1, queueSize: 1, queueTimeoutMs: 5000 });
    const first = sidecar.request("/first");
    await expect.poll(() => held.length).toBe(1);
    const socket = net.connect(sidecar.port, "127.0.0.1");
    socket.write("GET /gone HTTP/1.1\r\nHost: a\r\n\r\n");
    await expect.poll(() => policy.queued).toBe(1);
    socket.destroy();
    await expect.poll(() => policy.queued).toBe(0);
    held.shift()?.();
    expect((await first).status).toBe(200);
    const next = sidecar.request("/next");
    await expect.poll(() => held.length).toBe(1);
    held.shift()?.();
    expect((await next).status).toBe(200);
    expect(upstream.received.map((r) => r.url)).toEqual(["/first", "/next"]);
    await expect.poll(() => policy.inFlight).toBe(0);
  });

  it("lowers the adaptive limit while the app answers slower than the target", async () => {
    const policy = await start(
      {
        maxInFlight: 8,
        minInFlight: 2,
        adaptive: true,
        targetLatencyMs: 40,
        queueSize: 50,
        queueTimeoutMs: 5000,
      },
      120,
    );
    for (let wave = 0; wave < 3; wave++) {
      const answers = await Promise.all(Array.from({ length: 8 }, () => sidecar.request("/slow")));
      expect(answers.every((a) => a.status === 200)).toBe(true);
    }
    expect(policy.limit).toBeLessThan(8);
    expect(policy.limit).toBeGreaterThanOrEqual(2);
    await expect.poll(() => policy.inFlight).toBe(0);
  });
});
