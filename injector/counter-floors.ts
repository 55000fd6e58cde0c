/**
 * Zone floors for rate limits and quotas. A floor's limit always applies: a pod's limits add to
 * it, and a pod limit on the same key (covering the same requests) with the same period must be at
 * least as strict. A floor limit that the pod's own limits already meet is left out as redundant.
 */
import { uniqueName } from "./option-syntax.ts";
import {
  formatQuotas,
  formatRateLimits,
  PERIOD_SECONDS,
  type QuotaConfig,
  type RateConfig,
  type RateLimitConfig,
} from "./traffic-parsers.ts";

/** A merged list and the floor entries the pod loosens, written in annotation syntax. */
export interface CounterMerge<T> {
  value: T[];
  loosened: string[];
}

interface Selected {
  key: string;
  routes?: string[] | undefined;
  methods?: string[] | undefined;
}

/** Whether a pod entry counts at least the requests a floor entry counts (same key, wider or equal selector). */
function covers(pod: Selected, floor: Selected): boolean {
  const within = (podList: string[] | undefined, floorList: string[] | undefined) =>
    podList === undefined || (floorList?.every((item) => podList.includes(item)) ?? false);
  return pod.key === floor.key && within(pod.routes, floor.routes) && within(pod.methods, floor.methods);
}

const perSecond = (rate: RateConfig) => rate.requests / (PERIOD_SECONDS[rate.per] ?? 1);
const burstOf = (rate: RateConfig) => rate.burst ?? rate.requests;

function atMost(pod: RateConfig, floor: RateConfig): boolean {
  return perSecond(pod) <= perSecond(floor) && burstOf(pod) <= burstOf(floor);
}

/**
 * Merges a floor's rate limits under a pod's. Rates are compared per second, bursts as counts (the
 * burst defaults to the count).
 */
export function mergeRateLimits(
  pod: RateLimitConfig[],
  floor: RateLimitConfig[],
): CounterMerge<RateLimitConfig> {
  const value = [...pod];
  const names = new Set(pod.map((limit) => limit.name));
  const loosened: string[] = [];
  for (const limit of floor) {
    const rates = pod
      .filter((candidate) => covers(candidate, limit))
      .flatMap((candidate) => candidate.limits);
    const looser = limit.limits.filter((f) => rates.some((p) => p.per === f.per && !atMost(p, f)));
    if (looser.length > 0) loosened.push(formatRateLimits([{ ...limit, limits: looser }]));
    const met = limit.limits.every((f) => rates.some((p) => atMost(p, f)));
    if (!met) value.push({ ...structuredClone(limit), name: uniqueName(limit.name, names) });
  }
  return { value, loosened };
}

/** Merges a floor's quotas under a pod's: a pod quota on the same key and period may only be lower. */
export function mergeQuotas(pod: QuotaConfig[], floor: QuotaConfig[]): CounterMerge<QuotaConfig> {
  const value = [...pod];
  const names = new Set(pod.map((quota) => quota.name));
  const loosened: string[] = [];
  for (const quota of floor) {
    const same = pod.filter((candidate) => candidate.period === quota.period && covers(candidate, quota));
    if (same.some((candidate) => candidate.requests > quota.requests)) loosened.push(formatQuotas([quota]));
    if (!same.some((candidate) => candidate.requests <= quota.requests)) {
      value.push({ ...structuredClone(quota), name: uniqueName(quota.name, names) });
    }
  }
  return { value, loosened };
}
