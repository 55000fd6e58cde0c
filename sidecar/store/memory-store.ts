import type { CounterStore, GcraLimit, GcraResult } from "./counter-store.ts";

/**
 * The in-memory counter store: one process's counters, with bounded memory.
 *
 * Each key holds a small array `[expiresAtMs, ...state]`: for GCRA the theoretical arrival time
 * (TAT) of each limit, expiring at the largest (a TAT in the past carries no state), for a window
 * counter `[windowEndMs, count]`, expiring at the window's end. Expired keys are treated as absent
 * when read and are dropped by a periodic sweep (an unref'd timer, so it never keeps the process up).
 *
 * Memory is capped by `maxKeys`, with two generations of at most `maxKeys / 2` keys each: new keys
 * go into the young Map; when it is full it becomes the old one and the previous old one is dropped
 * whole. A key read from the old generation moves back to the young one. Every operation is O(1),
 * and it approximates LRU: a key survives as long as it is used at least once per `maxKeys / 2` new
 * keys. (Evicting one key at a time from a single Map costs O(n) per eviction in V8, which walks the
 * deleted slots at its front, and true LRU would move a key on every hit.)
 *
 * The trade-off: under a flood of new keys faster than that (a million unique client addresses), a
 * key in use can still be dropped and start again with a full burst or an empty quota: the limit
 * fails open for that key, and memory stays bounded. The alternatives are worse: refusing new keys
 * would fail closed for every new client, and growing without bound lets the flood take the process
 * down. A global limit and the concurrency limit still protect the app during such a flood. A key
 * costs about 200 bytes with its Map slot (see the flood test): the default 100,000 keys take about
 * 20 MiB at most, so lower `maxKeys` for a small sidecar.
 */

/** Options of the memory store. */
export interface MemoryStoreOptions {
  /** Keys held at most (two generations of half each); default 100,000. */
  maxKeys?: number;
  /** How often expired keys are swept, in ms; 0 turns the timer off. Default 10,000. */
  sweepIntervalMs?: number;
  /** The clock of the sweep, in ms. Default `Date.now`. */
  now?: () => number;
}

/** Floating-point slack when counting whole units left (periods are not always multiples of T). */
const EPSILON = 1e-9;

/**
 * The in-memory CounterStore; see the module comment.
 * @example const store = new MemoryCounterStore({ maxKeys: 50_000 }); store.incrementWindow("quota:q:=a", end, 1);
 */
export class MemoryCounterStore implements CounterStore {
  readonly maxKeys: number;
  /** Keys dropped by the cap so far (not counting expired keys the sweep removed). */
  evictions = 0;
  private young = new Map<string, number[]>();
  private old = new Map<string, number[]>();
  private readonly generationSize: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.generationSize = Math.max(1, Math.floor(this.maxKeys / 2));
    this.now = options.now ?? Date.now;
    const interval = options.sweepIntervalMs ?? 10_000;
    this.timer = interval > 0 ? setInterval(() => this.sweep(), interval).unref() : undefined;
  }

  /** Keys held now, expired ones included until the next sweep. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  gcra(key: string, limits: readonly GcraLimit[], nowMs: number, cost: number): GcraResult {
    const found = this.lookup(key);
    const stored = found !== undefined && found.length === limits.length + 1 ? found : undefined;
    let retryAfterMs = 0;
    for (let i = 0; i < limits.length; i++) {
      const { emissionIntervalMs: t, burstToleranceMs: tau } = limits[i] as GcraLimit;
      const wait = arrival(stored, i, nowMs) + cost * t - tau - t - nowMs;
      if (wait > retryAfterMs) retryAfterMs = wait;
    }
    const allowed = retryAfterMs === 0;
    const entry = allowed ? (stored ?? this.create(key, found, limits.length + 1, nowMs)) : undefined;
    const remaining = new Array<number>(limits.length);
    const resetMs = new Array<number>(limits.length);
    let expiresAt = nowMs;
    for (let i = 0; i < limits.length; i++) {
      const { emissionIntervalMs: t, burstToleranceMs: tau } = limits[i] as GcraLimit;
      let ahead = arrival(stored, i, nowMs) - nowMs;
      if (entry !== undefined) {
        ahead += cost * t;
        entry[i + 1] = nowMs + ahead;
        expiresAt = Math.max(expiresAt, nowMs + ahead);
      }
      remaining[i] = Math.max(0, Math.floor((tau + t - ahead) / t + EPSILON));
      resetMs[i] = ahead;
    }
    if (entry !== undefined) entry[0] = expiresAt;
    return { allowed, remaining, resetMs, retryAfterMs };
  }

  incrementWindow(key: string, windowEndMs: number, amount: number): number {
    const found = this.lookup(key);
    if (found !== undefined && found.length === 2 && found[0] === windowEndMs) {
      found[1] = (found[1] as number) + amount;
      return found[1];
    }
    const entry = found !== undefined && found.length === 2 ? found : this.create(key, found, 2, windowEndMs);
    entry[0] = windowEndMs;
    entry[1] = amount;
    return amount;
  }

  /** Drops every key that expired at or before `nowMs`; returns how many. */
  sweep(nowMs: number = this.now()): number {
    return sweepMap(this.young, nowMs) + sweepMap(this.old, nowMs);
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.young.clear();
    this.old.clear();
  }

  /** The entry of `key`; one found in the old generation moves to the young one (it is in use). */
  private lookup(key: string): number[] | undefined {
    const entry = this.young.get(key);
    if (entry !== undefined) return entry;
    const aged = this.old.get(key);
    if (aged === undefined) return undefined;
    this.old.delete(key);
    this.insert(key, aged);
    return aged;
  }

  /** A new entry of `length` for `key` (replacing `found`, of another shape, in place). */
  private create(key: string, found: number[] | undefined, length: number, fill: number): number[] {
    // Filled with a time, so the array holds unboxed doubles from the start (no elements-kind change).
    const entry = length === 2 ? [fill, fill] : new Array<number>(length).fill(fill);
    if (found === undefined) this.insert(key, entry);
    else this.young.set(key, entry);
    return entry;
  }

  private insert(key: string, entry: number[]): void {
    if (this.young.size >= this.generationSize) {
      this.evictions += this.old.size;
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, entry);
  }
}

function sweepMap(entries: Map<string, number[]>, nowMs: number): number {
  let removed = 0;
  for (const [key, entry] of entries) {
    if ((entry[0] as number) <= nowMs) {
      entries.delete(key);
      removed++;
    }
  }
  return removed;
}

/** The stored TAT of limit `i`, or now when there is none or it is in the past. */
function arrival(stored: number[] | undefined, i: number, nowMs: number): number {
  const tat = stored === undefined ? nowMs : (stored[i + 1] as number);
  return Math.max(tat, nowMs);
}
