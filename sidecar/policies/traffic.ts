import type { Policy } from "../chain.ts";
import type { SidecarConfig } from "../config.ts";
import type { CounterStore } from "../store/counter-store.ts";
import { MemoryCounterStore } from "../store/memory-store.ts";
import { concurrencyLimit } from "./concurrency.ts";
import { quota } from "./quota.ts";
import { rateLimit } from "./rate-limit.ts";

/** What the traffic policies are built with. */
export interface TrafficDependencies {
  /** The counter store; default a MemoryCounterStore, created only when a rate limit or quota is configured. */
  store?: CounterStore;
  /** The wall clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Compiles the traffic policies of `config.policies`, in their fixed order: every rate limit (in
 * config order, one policy each, `rate-limit:<name>`), every quota (`quota:<name>`), then the
 * concurrency limit (`concurrency`) last, so that a slot is only taken by a request that will be
 * forwarded. Empty when none is configured. The rate limits and quotas share one counter store.
 * @example
 * trafficPolicies(parseConfig({ policies: { rateLimits: [{ name: "api", key: "ip", limits: [{ requests: 10, per: "second" }] }], concurrency: {} } }), {})
 * // [rate-limit:api, concurrency]
 */
export function trafficPolicies(config: SidecarConfig, deps: TrafficDependencies = {}): Policy[] {
  const { rateLimits = [], quotas = [], concurrency } = config.policies;
  const now = deps.now ?? Date.now;
  const policies: Policy[] = [];
  if (rateLimits.length > 0 || quotas.length > 0) {
    const store = deps.store ?? new MemoryCounterStore({ now });
    for (const entry of rateLimits) policies.push(rateLimit(entry, { store, now }));
    for (const entry of quotas) policies.push(quota(entry, { store, now }));
  }
  if (concurrency !== undefined) policies.push(concurrencyLimit(concurrency, { now }));
  return policies;
}
