import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { rateLimit } from "../../../sidecar/policies/rate-limit.ts";
import { MemoryCounterStore } from "../../../sidecar/store/memory-store.ts";
import { fakeContext } from "../../helpers/traffic-sidecar.ts";

const MiB = 1024 * 1024;

/** A full collection, when the runtime lets us ask for one (`--expose-gc` set at run time). */
function collector(): (() => void) | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

describe("a flood of unique rate-limit keys (issue 4)", () => {
  let store: MemoryCounterStore;
  afterEach(() => store.close());

  it("a million unique client addresses keep the store at its cap, the heap flat, and expire", () => {
    const gc = collector();
    const heapUsed = () => {
      gc?.();
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    let now = 1_700_000_000_000;
    store = new MemoryCounterStore({ sweepIntervalMs: 0, now: () => now });
    const limits = [{ requests: 10, per: "second" as const, burst: 20 }];
    const policy = rateLimit({ name: "api", key: "ip", limits }, { store, now: () => now });
    const context = fakeContext() as { clientAddress: string; responseEdits: unknown };
    const flood = (from: number, to: number) => {
      let denied = 0;
      for (let i = from; i < to; i++) {
        context.clientAddress = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        context.responseEdits = undefined;
        if (policy.evaluate(context as Parameters<typeof policy.evaluate>[0]) !== undefined) denied++;
        now += 0.001;
      }
      expect(denied).toBe(0);
    };
    const before = heapUsed();
    flood(0, 200_000);
    const atCap = heapUsed();
    expect(store.size).toBe(store.maxKeys);
    flood(200_000, 1_000_000);
    const after = heapUsed();
    expect(store.size).toBe(store.maxKeys);
    expect(store.evictions).toBe(1_000_000 - store.maxKeys);
    if (gc !== undefined) {
      // About 200 bytes a key: 100,000 keys stay under 32 MiB, and 800,000 more add nothing.
      expect(atCap - before).toBeLessThan(32 * MiB);
      expect(after - atCap).toBeLessThan(4 * MiB);
    }
    now += 2_000;
    expect(store.sweep()).toBe(store.maxKeys);
    expect(store.size).toBe(0);
  });
});
