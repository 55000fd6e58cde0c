import type { LockoutStore } from "../policies/lockout.ts";

/** Options of memoryLockoutStore. */
export interface MemoryLockoutStoreOptions {
  /** Failure counters and locks kept at most, each; default 100 000. */
  maxKeys?: number;
}

/** A lockout store in this process's memory, with its size for tests and metrics. */
export interface MemoryLockoutStore extends LockoutStore {
  /** Failure counters plus locks held now. */
  readonly size: number;
}

interface Window {
  count: number;
  resetAt: number;
}

/**
 * A bounded in-memory LockoutStore. Memory stays bounded under a flood of unique client addresses
 * or invented principals: each map holds at most `maxKeys` entries. Entries live in insertion order
 * and every window (and every lock) of one lockout has the same length, so the oldest entry is the
 * first to expire: expired entries are swept from the front on each write, and at the cap the
 * oldest entry is dropped, which is the one closest to expiring anyway. All calls are synchronous.
 * @example const store = memoryLockoutStore({ maxKeys: 50_000 })
 */
export function memoryLockoutStore(options: MemoryLockoutStoreOptions = {}): MemoryLockoutStore {
  const maxKeys = options.maxKeys ?? 100_000;
  const windows = new Map<string, Window>();
  const locks = new Map<string, number>();
  let lastNow = 0;
  return {
    get size() {
      return windows.size + locks.size;
    },
    recordFailure(key, windowMs, nowMs) {
      lastNow = Math.max(lastNow, nowMs);
      const window = windows.get(key);
      if (window !== undefined && window.resetAt > nowMs) return ++window.count;
      // A new window goes to the back, so the front stays the oldest.
      windows.delete(key);
      sweep(windows, nowMs, (entry) => entry.resetAt, maxKeys);
      windows.set(key, { count: 1, resetAt: nowMs + windowMs });
      return 1;
    },
    lock(key, untilMs) {
      locks.delete(key);
      sweep(locks, lastNow, (until) => until, maxKeys);
      locks.set(key, untilMs);
    },
    lockedUntil(key, nowMs) {
      lastNow = Math.max(lastNow, nowMs);
      const until = locks.get(key);
      if (until === undefined) return undefined;
      if (until > nowMs) return until;
      locks.delete(key);
      return undefined;
    },
  };
}

/** Drops expired entries from the front, then the oldest while the map is full. */
function sweep<V>(map: Map<string, V>, now: number, expiresAt: (value: V) => number, maxKeys: number): void {
  for (const [key, value] of map) {
    if (expiresAt(value) > now && map.size < maxKeys) break;
    map.delete(key);
  }
}
