import type { Policy, PolicyOutcome, RequestContext } from "../chain.ts";
import { RateLimitedError } from "../errors.ts";
import type { RateLimitConfig } from "../policy-config.ts";
import type { CounterStore, GcraLimit, GcraResult } from "../store/counter-store.ts";
import {
  appendField,
  ceilSeconds,
  counterKey,
  RATELIMIT,
  RATELIMIT_POLICY,
  requestSelector,
} from "./traffic-common.ts";

/**
 * Rate limit: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp per limit),
 * with several rates checked at once against one counter key, all or nothing. Every response to a
 * selected request carries the fields of draft-ietf-httpapi-ratelimit-headers-11 (§3, §4):
 *
 * - `RateLimit-Policy`, fixed per limit: `"api-second";q=10;w=1;podgate-burst=20`, the rate as `q`
 *   requests per `w` seconds, and the burst, when it differs from `q`, as a vendor parameter (§3.1).
 * - `RateLimit`, per request: `"api-second";r=19;t=1`. `r` is what may be spent now, `t` the seconds
 *   until the next unit comes back: exactly the draft's "time within which the client can use no
 *   more than the available quota" (§4.1.2). On a 429 the exhausted limit's `t` equals `Retry-After`,
 *   as §6 asks.
 *
 * A denied request charges no limit. Policy names are `<name>` for one rate, `<name>-<per>` for several.
 */

/** Options of the rate-limit policy. */
export interface RateLimitOptions {
  /** Where the counters live (one atomic operation per request). */
  store: CounterStore;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
}

const PERIOD_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** A rate-limit entry compiled from config. */
interface CompiledRateLimit {
  readonly limits: readonly GcraLimit[];
  /** Per limit, the start of its `RateLimit` item: `"api-second";r=`. */
  readonly itemPrefixes: readonly string[];
  /** The whole `RateLimit-Policy` value of this entry. */
  readonly policyField: string;
}

/**
 * Compiles one `policies.rateLimits` entry into a policy named `rate-limit:<name>`.
 * @example
 * rateLimit(
 *   { name: "api", key: "ip", limits: [{ requests: 10, per: "second", burst: 20 }, { requests: 1000, per: "hour" }], routes: ["/api/**"] },
 *   { store: new MemoryCounterStore() },
 * ) // RateLimit-Policy: "api-second";q=10;w=1;podgate-burst=20, "api-hour";q=1000;w=3600
 */
export function rateLimit(config: RateLimitConfig, options: RateLimitOptions): Policy {
  const { store } = options;
  const now = options.now ?? Date.now;
  const compiled = compileRateLimit(config);
  const selected = requestSelector(config.routes, config.methods);
  const keyOf = counterKey(config.key, `rate:${config.name}:`);
  const decide = function decideRate(context: RequestContext, result: GcraResult): PolicyOutcome {
    return rateDecision(context, result, compiled, config.name);
  };
  return {
    name: `rate-limit:${config.name}`,
    evaluate: function rateLimited(context) {
      if (selected !== undefined && !selected(context)) return undefined;
      const result = store.gcra(keyOf(context), compiled.limits, now(), 1);
      if (result instanceof Promise) return result.then((settled) => decide(context, settled));
      return decide(context, result);
    },
  };
}

function rateDecision(
  context: RequestContext,
  result: GcraResult,
  compiled: CompiledRateLimit,
  name: string,
): PolicyOutcome {
  const { limits, itemPrefixes } = compiled;
  let field = "";
  for (let i = 0; i < limits.length; i++) {
    const interval = (limits[i] as GcraLimit).emissionIntervalMs;
    const t = ceilSeconds(untilNextUnit(result.resetMs[i] as number, interval));
    field += `${i === 0 ? "" : ", "}${itemPrefixes[i]}${result.remaining[i]};t=${t}`;
  }
  appendField(context, RATELIMIT_POLICY, compiled.policyField);
  appendField(context, RATELIMIT, field);
  if (result.allowed) return undefined;
  const seconds = Math.max(1, ceilSeconds(result.retryAfterMs));
  return new RateLimitedError(`rate limit ${name} exceeded; retry after ${seconds} s`, {
    headers: { "retry-after": String(seconds) },
  });
}

/**
 * Ms until the next unit comes back, given how far the schedule runs ahead of now. Units come back
 * every T; with nothing spent (a full bucket) the next one would come back T after a spend.
 */
function untilNextUnit(aheadMs: number, intervalMs: number): number {
  const next = aheadMs % intervalMs;
  return next <= 1e-6 ? intervalMs : next;
}

function compileRateLimit(config: RateLimitConfig): CompiledRateLimit {
  const ids = limitIds(config);
  const limits = config.limits.map((spec) => {
    const interval = PERIOD_MS[spec.per] / spec.requests;
    return { emissionIntervalMs: interval, burstToleranceMs: ((spec.burst ?? spec.requests) - 1) * interval };
  });
  const policyField = config.limits
    .map((spec, i) => {
      const burst =
        spec.burst === undefined || spec.burst === spec.requests ? "" : `;podgate-burst=${spec.burst}`;
      return `"${ids[i]}";q=${spec.requests};w=${PERIOD_MS[spec.per] / 1000}${burst}`;
    })
    .join(", ");
  return { limits, itemPrefixes: ids.map((id) => `"${id}";r=`), policyField };
}

/** `<name>` for one rate; `<name>-<per>` for several, or `<name>-<index>` when a period repeats. */
function limitIds(config: RateLimitConfig): string[] {
  if (config.limits.length === 1) return [config.name];
  const pers = config.limits.map((spec) => spec.per);
  return pers.map((per, i) =>
    pers.indexOf(per) === pers.lastIndexOf(per) ? `${config.name}-${per}` : `${config.name}-${i}`,
  );
}
