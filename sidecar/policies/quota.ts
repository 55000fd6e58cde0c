import type { Policy, PolicyOutcome, RequestContext } from "../chain.ts";
import { QuotaExceededError } from "../errors.ts";
import type { QuotaConfig } from "../policy-config.ts";
import type { CounterStore } from "../store/counter-store.ts";
import {
  appendField,
  ceilSeconds,
  counterKey,
  RATELIMIT,
  RATELIMIT_POLICY,
  requestSelector,
} from "./traffic-common.ts";

/**
 * Quota: at most `requests` per key per calendar period (minute, hour, day or month), with UTC
 * boundaries, counted in a fixed window that ends with the period. Past it: 429 with the
 * `quota-exceeded` problem type and `Retry-After` until the period ends. Every selected response
 * carries the same fields as the rate limits (draft-ietf-httpapi-ratelimit-headers-11 §3, §4):
 * `RateLimit-Policy: "monthly";q=10000;w=2678400` (`w` is the current period's length, so a
 * month's varies) and `RateLimit: "monthly";r=9876;t=1234567` (`t` runs to the end of the period).
 */

/** Options of the quota policy. */
export interface QuotaOptions {
  /** Where the counters live (one atomic increment per request). */
  store: CounterStore;
  /** The wall clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** A UTC calendar period's bounds, in ms since the epoch: [start, end). */
export interface CalendarPeriod {
  readonly startMs: number;
  readonly endMs: number;
}

const FIXED_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/**
 * The UTC calendar period that contains `nowMs`. Minutes, hours and days have fixed lengths in
 * epoch time (which has no leap seconds); months are cut at the first of the month, 00:00 UTC.
 * @example calendarPeriod("month", Date.UTC(2024, 1, 29, 23, 59)) // { startMs: Date.UTC(2024, 1, 1), endMs: Date.UTC(2024, 2, 1) }
 */
export function calendarPeriod(period: QuotaConfig["period"], nowMs: number): CalendarPeriod {
  if (period !== "month") {
    const length = FIXED_MS[period];
    const startMs = nowMs - (((nowMs % length) + length) % length);
    return { startMs, endMs: startMs + length };
  }
  const date = new Date(nowMs);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return { startMs: Date.UTC(year, month, 1), endMs: Date.UTC(year, month + 1, 1) };
}

/**
 * Compiles one `policies.quotas` entry into a policy named `quota:<name>`.
 * @example
 * quota({ name: "monthly", key: "identity", requests: 10_000, period: "month" }, { store: new MemoryCounterStore() })
 * // RateLimit-Policy: "monthly";q=10000;w=2592000 (in a 30-day month)
 */
export function quota(config: QuotaConfig, options: QuotaOptions): Policy {
  const { store } = options;
  const now = options.now ?? Date.now;
  const selected = requestSelector(config.routes, config.methods);
  const keyOf = counterKey(config.key, `quota:${config.name}:`);
  const itemPrefix = `"${config.name}";r=`;
  // The period only changes at its end: recompute its bounds and the policy field then, not per request.
  let current = calendarPeriod(config.period, now());
  let policyField = quotaPolicyField(config, current);
  const decide = function decideQuota(
    context: RequestContext,
    count: number,
    nowMs: number,
    endMs: number,
  ): PolicyOutcome {
    const t = ceilSeconds(endMs - nowMs);
    appendField(context, RATELIMIT_POLICY, policyField);
    appendField(context, RATELIMIT, `${itemPrefix}${Math.max(0, config.requests - count)};t=${t}`);
    if (count <= config.requests) return undefined;
    return new QuotaExceededError(
      `quota ${config.name} of ${config.requests} requests per ${config.period} is used up; it renews in ${t} s`,
      { headers: { "retry-after": String(Math.max(1, t)) } },
    );
  };
  return {
    name: `quota:${config.name}`,
    evaluate: function withinQuota(context) {
      if (selected !== undefined && !selected(context)) return undefined;
      const nowMs = now();
      if (nowMs >= current.endMs || nowMs < current.startMs) {
        current = calendarPeriod(config.period, nowMs);
        policyField = quotaPolicyField(config, current);
      }
      const { endMs } = current;
      const count = store.incrementWindow(keyOf(context), endMs, 1);
      if (count instanceof Promise) return count.then((settled) => decide(context, settled, nowMs, endMs));
      return decide(context, count, nowMs, endMs);
    },
  };
}

function quotaPolicyField(config: QuotaConfig, period: CalendarPeriod): string {
  return `"${config.name}";q=${config.requests};w=${(period.endMs - period.startMs) / 1000}`;
}
