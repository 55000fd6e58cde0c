import type { Logger } from "pino";
import type { Policy, PolicyOutcome, RequestContext } from "../chain.ts";
import { AuthLockedError } from "../errors.ts";
import type { LockoutConfig } from "../policy-config.ts";

/**
 * The counters the lockout needs, shaped for an atomic remote store as well as memory: each call is
 * one round trip that reads and writes together, and every entry expires on its own.
 */
export interface LockoutStore {
  /**
   * Counts one failure for `key` in a fixed window of `windowMs` that starts at the key's first
   * failure, and returns the count so far in that window (1 for the first).
   */
  recordFailure(key: string, windowMs: number, nowMs: number): number | Promise<number>;
  /** Blocks `key` until `untilMs` (ms since the epoch). */
  lock(key: string, untilMs: number): void | Promise<void>;
  /** When `key` is blocked, until when; undefined when it is not (or no longer) blocked. */
  lockedUntil(key: string, nowMs: number): number | undefined | Promise<number | undefined>;
}

/** Options of lockout. */
export interface LockoutOptions {
  store: LockoutStore;
  log: Logger;
  /** The clock, in ms since the epoch; default Date.now. */
  now?: () => number;
  /** The principal a request claims before it is verified (a JWT's sub), if any. */
  claimedPrincipal?: ((context: RequestContext) => string | undefined) | undefined;
}

/** The lockout check, plus the hook that counts a failed authentication. */
export interface LockoutPolicy extends Policy {
  /** Counts a failed authentication for the request's client address and claimed principal. */
  recordFailure(context: RequestContext): Promise<void>;
}

/**
 * Failed-authentication lockout (PCI DSS 8.3.4): `maxFailures` failed authentications within
 * `windowSeconds` from one client address, or for one claimed principal, block it for `lockSeconds`.
 * The check runs before any credential is evaluated, so a blocked caller learns nothing more, even
 * with a valid credential; it answers 429 with `Retry-After`. Failures are counted by the
 * authentication policy through `recordFailure`. A store that fails denies (the chain turns the
 * error into a 500): a lockout that cannot be checked never lets a request through.
 * @example lockout({ maxFailures: 10, windowSeconds: 900, lockSeconds: 1800 }, { store: memoryLockoutStore(), log })
 */
export function lockout(config: LockoutConfig, options: LockoutOptions): LockoutPolicy {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const windowMs = config.windowSeconds * 1000;
  const lockMs = config.lockSeconds * 1000;
  const keysOf = (context: RequestContext): string[] => {
    const principal = options.claimedPrincipal?.(context);
    const ip = `ip:${context.clientAddress}`;
    return principal === undefined ? [ip] : [ip, `principal:${principal}`];
  };
  const countFailure = async (key: string, at: number): Promise<void> => {
    const failures = await store.recordFailure(key, windowMs, at);
    if (failures < config.maxFailures) return;
    await store.lock(key, at + lockMs);
    if (failures === config.maxFailures) {
      log.warn({ key, failures, lockSeconds: config.lockSeconds }, "locked out after failed authentications");
    }
  };
  return {
    name: "lockout",
    evaluate: function notLockedOut(context) {
      const at = now();
      const untils = keysOf(context).map((key) => store.lockedUntil(key, at));
      return untils.some((until) => until instanceof Promise)
        ? Promise.all(untils).then((settled) => lockedOut(settled, at))
        : lockedOut(untils as Array<number | undefined>, at);
    },
    async recordFailure(context) {
      const at = now();
      try {
        await Promise.all(keysOf(context).map((key) => countFailure(key, at)));
      } catch (error) {
        log.error({ err: (error as Error).message }, "cannot count a failed authentication");
      }
    },
  };
}

function lockedOut(untils: ReadonlyArray<number | undefined>, now: number): PolicyOutcome {
  let until = now;
  for (const candidate of untils) if (candidate !== undefined && candidate > until) until = candidate;
  if (until === now) return undefined;
  const retryAfter = String(Math.ceil((until - now) / 1000));
  return new AuthLockedError(`too many failed authentications; try again in ${retryAfter} seconds`, {
    headers: { "retry-after": retryAfter },
  });
}
