import { type Policy, type PolicyOutcome, type RequestContext, whenDone } from "../chain.ts";
import { OverloadedError, type PodgateError } from "../errors.ts";
import type { ConcurrencyConfig } from "../policy-config.ts";

/**
 * Concurrency limit and load shedding: at most `limit` requests in flight to the app. Past it a
 * request waits in a short FIFO queue (`queueSize`) for up to `queueTimeoutMs`; a full queue or a
 * wait that times out answers 503 with `Retry-After`. A slot is held from admission until the
 * exchange ends (the data plane calls the `whenDone` callbacks on every finish, client aborts
 * included) and is handed straight to the oldest waiter. A waiter whose client goes away leaves
 * the queue. WebSocket upgrades are not counted: they are connections, not exchanges, and no
 * `whenDone` callback runs for them.
 *
 * Adaptive mode (AIMD, as in TCP congestion control and Netflix's concurrency-limits `AIMDLimit`):
 * the limit starts at `maxInFlight`. An exchange that took longer than `targetLatencyMs` cuts the
 * limit by 10% (at least 1, never below `minInFlight`), at most once per round: answers to requests
 * admitted before the last cut reflect the old limit, so they do not cut again (TCP likewise reacts
 * once per window). Fast exchanges raise it by 1 per `limit` of them, i.e. one step per round,
 * back up to `maxInFlight` (Netflix grows only while half the limit is in use, to keep an untested
 * limit from growing without bound; here `maxInFlight` bounds it). Latency is measured
 * from admission (queueing excluded) to the end of the exchange, so a slow download counts too:
 * choose `targetLatencyMs` above the app's normal full-exchange time.
 */

/** Options of the concurrency policy. */
export interface ConcurrencyOptions {
  /** The clock for latency, in ms. Default `Date.now`. */
  now?: () => number;
}

/** The concurrency policy, with its state for probes and tests. */
export interface ConcurrencyPolicy extends Policy {
  /** The limit now: fixed at `maxInFlight`, or moved by adaptive mode. */
  readonly limit: number;
  readonly inFlight: number;
  readonly queued: number;
}

/** Multiplicative decrease of the adaptive limit (Netflix's AIMDLimit default backoff ratio). */
const DECREASE = 0.9;

interface Waiter {
  readonly context: RequestContext;
  readonly resolve: (outcome: PolicyOutcome) => void;
  timer: NodeJS.Timeout | undefined;
  abandon: (() => void) | undefined;
}

/**
 * Compiles `policies.concurrency` into a policy named `concurrency`.
 * @example
 * concurrencyLimit({ maxInFlight: 64, queueSize: 32, queueTimeoutMs: 500, adaptive: true, targetLatencyMs: 200, minInFlight: 4 })
 * // 65th request waits; 97th answers 503 with Retry-After: 1; slow answers lower the limit toward 4
 */
export function concurrencyLimit(
  config: ConcurrencyConfig,
  options: ConcurrencyOptions = {},
): ConcurrencyPolicy {
  return new ConcurrencyLimiter(config, options.now ?? Date.now);
}

class ConcurrencyLimiter implements ConcurrencyPolicy {
  readonly name = "concurrency";
  limit: number;
  inFlight = 0;
  private readonly waiters: Waiter[] = [];
  private readonly config: ConcurrencyConfig;
  private readonly now: () => number;
  private readonly retryAfter: string;
  /** Adaptive mode: fast answers since the limit last moved; `limit` of them raise it by one. */
  private fastAnswers = 0;
  /** Adaptive mode: when the limit was last cut. */
  private loweredAt = Number.NEGATIVE_INFINITY;

  constructor(config: ConcurrencyConfig, now: () => number) {
    this.config = config;
    this.now = now;
    this.limit = config.maxInFlight;
    this.retryAfter = String(Math.max(1, Math.ceil(config.queueTimeoutMs / 1000)));
  }

  get queued(): number {
    return this.waiters.length;
  }

  evaluate(context: RequestContext): PolicyOutcome | Promise<PolicyOutcome> {
    if (isUpgrade(context)) return undefined;
    // A client that left while an earlier policy was pending (a JWKS fetch): its exchange may never
    // report its end, so it must not take a slot.
    if (context.req.socket.destroyed) return this.overloaded("the client went away");
    if (this.inFlight < this.limit && this.waiters.length === 0) {
      this.acquire(context);
      return undefined;
    }
    if (this.waiters.length >= this.config.queueSize) return this.overloaded("the queue is full");
    return new Promise<PolicyOutcome>((resolve) => this.enqueue(context, resolve));
  }

  private acquire(context: RequestContext): void {
    this.inFlight++;
    if (!this.config.adaptive) {
      whenDone(context, this.release);
      return;
    }
    const admittedAt = this.now();
    whenDone(context, () => this.completed(admittedAt));
  }

  /** Frees a slot and hands it on; shared by every exchange in fixed mode, so no closure per request. */
  private readonly release = (): void => {
    this.inFlight--;
    this.admitWaiters();
  };

  private completed(admittedAt: number): void {
    this.adapt(this.now() - admittedAt, admittedAt);
    this.release();
  }

  private adapt(latencyMs: number, admittedAt: number): void {
    const { targetLatencyMs, minInFlight, maxInFlight } = this.config;
    if (latencyMs > targetLatencyMs) {
      if (admittedAt < this.loweredAt) return;
      this.limit = Math.max(minInFlight, Math.min(this.limit - 1, Math.floor(this.limit * DECREASE)));
      this.loweredAt = this.now();
      this.fastAnswers = 0;
      return;
    }
    if (this.limit >= maxInFlight || ++this.fastAnswers < this.limit) return;
    this.fastAnswers = 0;
    this.limit++;
  }

  private enqueue(context: RequestContext, resolve: (outcome: PolicyOutcome) => void): void {
    const waiter: Waiter = { context, resolve, timer: undefined, abandon: undefined };
    waiter.timer = setTimeout(() => {
      this.leave(waiter);
      resolve(this.overloaded(`no slot was free within ${this.config.queueTimeoutMs} ms`));
    }, this.config.queueTimeoutMs);
    waiter.abandon = () => {
      this.leave(waiter);
      resolve(this.overloaded("the client went away while queued"));
    };
    context.req.socket.once("close", waiter.abandon);
    this.waiters.push(waiter);
  }

  /** Takes a waiter out of the queue and drops its timer and close listener. */
  private leave(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index !== -1) this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    if (waiter.abandon !== undefined) waiter.context.req.socket.off("close", waiter.abandon);
  }

  private admitWaiters(): void {
    while (this.inFlight < this.limit && this.waiters.length > 0) {
      const waiter = this.waiters[0] as Waiter;
      this.leave(waiter);
      // A socket destroyed but not yet reported closed: its exchange would never end, so never admit it.
      if (waiter.context.req.socket.destroyed) {
        waiter.resolve(this.overloaded("the client went away while queued"));
        continue;
      }
      this.acquire(waiter.context);
      waiter.resolve(undefined);
    }
  }

  private overloaded(reason: string): PodgateError {
    return new OverloadedError(`${reason}; the app takes at most ${this.limit} requests at once`, {
      headers: { "retry-after": this.retryAfter },
    });
  }
}

/** Node marks a request it hands to the `upgrade` event (`req.upgrade`); @types/node does not declare it. */
function isUpgrade(context: RequestContext): boolean {
  return (context.req as { upgrade?: boolean }).upgrade === true;
}
