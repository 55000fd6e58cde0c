import { afterEach, describe, expect, it, vi } from "vitest";
import type { GcraLimit } from "../../../sidecar/store/counter-store.ts";
import { MemoryCounterStore } from "../../../sidecar/store/memory-store.ts";

/** 10 per second with a burst of 20: T = 100 ms, τ = 19 × T. */
const TEN_PER_SECOND_BURST_20: GcraLimit = { emissionIntervalMs: 100, burstToleranceMs: 1900 };
/** 30 per minute, burst 30: T = 2 s. */
const THIRTY_PER_MINUTE: GcraLimit = { emissionIntervalMs: 2000, burstToleranceMs: 58_000 };
const T0 = 1_700_000_000_000;

describe("MemoryCounterStore GCRA", () => {
  let store: MemoryCounterStore;
  afterEach(() => store.close());

  it("allows the burst at once, then denies with the time until the next unit", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    const remaining: number[] = [];
    for (let i = 0; i < 20; i++) {
      const result = store.gcra("k", [TEN_PER_SECOND_BURST_20], T0, 1);
      expect(result.allowed).toBe(true);
      remaining.push(result.remaining[0] as number);
    }
    expect(remaining).toEqual([19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const denied = store.gcra("k", [TEN_PER_SECOND_BURST_20], T0, 1);
    expect(denied).toMatchObject({ allowed: false, remaining: [0], resetMs: [2000], retryAfterMs: 100 });
    expect(store.gcra("k", [TEN_PER_SECOND_BURST_20], T0 + 40, 1).retryAfterMs).toBe(60);
    expect(store.gcra("k", [TEN_PER_SECOND_BURST_20], T0 + 100, 1)).toMatchObject({
      allowed: true,
      remaining: [0],
      resetMs: [2000],
    });
  });

  it("lets a steady rate at the limit through forever, and holds a faster one to the rate", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    for (let i = 0; i < 1000; i++) {
      expect(store.gcra("steady", [TEN_PER_SECOND_BURST_20], T0 + i * 100, 1).allowed).toBe(true);
    }
    let allowed = 0;
    for (let t = 0; t < 10_000; t += 25) {
      if (store.gcra("fast", [TEN_PER_SECOND_BURST_20], T0 + t, 1).allowed) allowed++;
    }
    // 40/s offered for 10 s: the burst of 20 at once, then one per 100 ms (t = 100 ... 9900).
    expect(allowed).toBe(20 + 99);
  });

  it("checks several limits at once and charges none when one denies", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    const limits = [TEN_PER_SECOND_BURST_20, THIRTY_PER_MINUTE];
    let t = T0;
    for (let i = 0; i < 30; i++, t += 200) expect(store.gcra("k", limits, t, 1).allowed).toBe(true);
    // 30 requests over 6 s brought 3 units of the minute limit back: spend them, then it denies.
    for (let i = 0; i < 3; i++, t += 200) expect(store.gcra("k", limits, t, 1).allowed).toBe(true);
    const denied = store.gcra("k", limits, t, 1);
    expect(denied.allowed).toBe(false);
    expect(denied.remaining[0]).toBeGreaterThan(10);
    expect(denied.remaining[1]).toBe(0);
    expect(denied.retryAfterMs).toBeGreaterThan(100);
    const again = store.gcra("k", limits, t, 1);
    expect(again.remaining[0]).toBe(denied.remaining[0]);
    expect(store.gcra("k", limits, t + denied.retryAfterMs, 1).allowed).toBe(true);
  });

  it("charges a cost of several units, and denies a cost above the burst without storing anything", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    expect(store.gcra("k", [TEN_PER_SECOND_BURST_20], T0, 5).remaining).toEqual([15]);
    expect(store.gcra("big", [TEN_PER_SECOND_BURST_20], T0, 21).allowed).toBe(false);
    expect(store.size).toBe(1);
  });
});

describe("MemoryCounterStore window counters", () => {
  let store: MemoryCounterStore;
  afterEach(() => store.close());

  it("counts within a window and starts again from zero in the next one", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    expect(store.incrementWindow("q", T0 + 60_000, 1)).toBe(1);
    expect(store.incrementWindow("q", T0 + 60_000, 1)).toBe(2);
    expect(store.incrementWindow("q", T0 + 60_000, 3)).toBe(5);
    expect(store.incrementWindow("q", T0 + 120_000, 1)).toBe(1);
  });
});

describe("MemoryCounterStore memory bounds", () => {
  let store: MemoryCounterStore;
  afterEach(() => {
    store.close();
    vi.useRealTimers();
  });

  it("sweeps GCRA keys whose TAT has passed and window keys whose window ended", () => {
    store = new MemoryCounterStore({ sweepIntervalMs: 0 });
    store.gcra("rate", [TEN_PER_SECOND_BURST_20], T0, 3);
    store.incrementWindow("quota", T0 + 1000, 1);
    expect(store.sweep(T0 + 299)).toBe(0);
    expect(store.sweep(T0 + 300)).toBe(1);
    expect(store.size).toBe(1);
    expect(store.sweep(T0 + 1000)).toBe(1);
    expect(store.size).toBe(0);
  });

  it("sweeps on an unref'd timer with its own clock", () => {
    vi.useFakeTimers();
    let now = T0;
    store = new MemoryCounterStore({ sweepIntervalMs: 1000, now: () => now });
    store.incrementWindow("quota", T0 + 1500, 1);
    vi.advanceTimersByTime(1000);
    expect(store.size).toBe(1);
    now = T0 + 2000;
    vi.advanceTimersByTime(1000);
    expect(store.size).toBe(0);
  });

  it("never holds more than maxKeys, dropping the least recently used generation", () => {
    store = new MemoryCounterStore({ maxKeys: 4, sweepIntervalMs: 0 });
    for (const key of ["a", "b", "c", "d"]) store.incrementWindow(key, T0 + 60_000, 1);
    store.incrementWindow("a", T0 + 60_000, 1); // a is in use: it moves to the young generation
    for (const key of ["e", "f"]) store.incrementWindow(key, T0 + 60_000, 1);
    expect(store.size).toBeLessThanOrEqual(4);
    expect(store.incrementWindow("a", T0 + 60_000, 1)).toBe(3);
    expect(store.incrementWindow("b", T0 + 60_000, 1)).toBe(1);
    expect(store.evictions).toBeGreaterThan(0);
  });
});
