/**
 * The one interface every traffic counter goes through (rate limits, quotas). Each operation is a
 * single atomic check-and-update on one key, so that a shared store can run it as one server-side
 * step (a Redis Lua script, one round trip) and several gateway replicas never race on a counter.
 * Results may be synchronous (the memory store) or a Promise (a remote store): the policies keep the
 * chain synchronous when the store is.
 *
 * Keys are opaque strings built by the policies (`rate:<name>:=<value>`, `quota:<name>:=<value>`);
 * one store holds both kinds, so an implementation must not assume anything about a key's shape.
 */

/** One GCRA limit (generic cell rate algorithm, ITU-T I.371), compiled once from a configured rate. */
export interface GcraLimit {
  /** T: how long one unit of quota takes to come back, `period / requests`, in ms. */
  readonly emissionIntervalMs: number;
  /** τ: how far the schedule may run ahead of now beyond one interval, `(burst - 1) × T`, in ms. */
  readonly burstToleranceMs: number;
}

/** The outcome of one GCRA check, with what the RateLimit header fields report. */
export interface GcraResult {
  /** True when every limit allowed the request; then, and only then, every limit was charged. */
  readonly allowed: boolean;
  /** Per limit, in the order given: units that could still be spent now, after this request. */
  readonly remaining: readonly number[];
  /** Per limit: ms until it is fully restored (its theoretical arrival time minus now, at least 0). */
  readonly resetMs: readonly number[];
  /** When denied, ms until the same request would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

/** A counter store; see the module comment. */
export interface CounterStore {
  /**
   * GCRA check-and-update of all `limits` of one key, atomically and all or nothing: the request is
   * allowed only when each limit allows `cost` units at `nowMs`; when allowed each limit's theoretical
   * arrival time (TAT) advances by `cost × T`, when denied nothing changes. The state of a key is one
   * TAT per limit; a TAT in the past carries no information, so the key may expire at its largest TAT.
   * A remote store may use its own clock instead of `nowMs` (one clock for every replica).
   * @example store.gcra("rate:api:=10.0.0.7", [{ emissionIntervalMs: 100, burstToleranceMs: 1900 }], Date.now(), 1)
   */
  gcra(
    key: string,
    limits: readonly GcraLimit[],
    nowMs: number,
    cost: number,
  ): GcraResult | Promise<GcraResult>;

  /**
   * Adds `amount` to the counter of `key` for the fixed window ending at `windowEndMs` and returns the
   * new count, atomically. A counter stored for another window starts again from zero; a counter may
   * be dropped once its window has ended (a remote store sets it to expire at `windowEndMs`).
   * @example store.incrementWindow("quota:monthly:=alice", Date.UTC(2025, 1, 1), 1) // 1, 2, 3, ...
   */
  incrementWindow(key: string, windowEndMs: number, amount: number): number | Promise<number>;

  /** Stops background work (sweeps, connections). */
  close(): void | Promise<void>;
}
