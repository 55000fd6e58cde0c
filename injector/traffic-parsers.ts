/**
 * Parsers for the traffic annotations: rate limits, quotas, lockout and concurrency. Each returns
 * the config the sidecar's `policies` section takes, or an Invalid result with a detail.
 */
import type { SidecarConfig } from "../sidecar/config.ts";
import {
  counterKey,
  entryProblem,
  entryWords,
  formatSeconds,
  formatSelector,
  keyName,
  positiveCount,
  selector,
  splitEntries,
  uniqueName,
  wholeSeconds,
} from "./option-syntax.ts";
import {
  formatDuration,
  type Invalid,
  invalid,
  isInvalid,
  type ParseResult,
  parseDuration,
} from "./parsers.ts";

type Policies = SidecarConfig["policies"];
/** One rate limit of `policies.rateLimits`. */
export type RateLimitConfig = NonNullable<Policies["rateLimits"]>[number];
/** One rate of a rate limit. */
export type RateConfig = RateLimitConfig["limits"][number];
/** One quota of `policies.quotas`. */
export type QuotaConfig = NonNullable<Policies["quotas"]>[number];
/** `policies.lockout`. */
export type LockoutConfig = NonNullable<Policies["lockout"]>;
/** `policies.concurrency` as an annotation sets it: the fields it names. */
export type ConcurrencyDraft = Partial<NonNullable<Policies["concurrency"]>>;

/** Rate units and the periods they stand for. */
export const RATE_UNITS = { s: "second", m: "minute", h: "hour", d: "day" } as const;
/** Each rate period in seconds, to compare rates written with different units. */
export const PERIOD_SECONDS: Record<string, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
};

interface RateEntry {
  key: string;
  select: { routes?: string[]; methods?: string[] };
  rate: RateConfig;
}

function parseRateEntry(entry: string, count: number, index: number): RateEntry | Invalid {
  const words = entryWords(entry, { options: ["burst", "by", "routes", "methods"] });
  const fail = (problem: string) => invalid(entryProblem(count, index, problem));
  if (typeof words === "string") return fail(words);
  const match = /^([1-9][0-9]{0,9})\/([smhd])$/.exec(words.head);
  if (match === null) return count > 1 ? fail(`${JSON.stringify(words.head)} is not a rate`) : invalid();
  const rate: RateConfig = {
    requests: Number(match[1]),
    per: RATE_UNITS[(match[2] ?? "s") as keyof typeof RATE_UNITS],
  };
  const burst = words.options.get("burst");
  if (burst !== undefined) {
    const parsed = positiveCount(burst, "burst");
    if (typeof parsed === "string") return fail(parsed);
    rate.burst = parsed;
  }
  const key = counterKey(words.options.get("by") ?? "ip");
  if (key === undefined)
    return fail(`by=${words.options.get("by")} is not ip, identity, global or header:<name>`);
  const select = selector(words.options);
  return typeof select === "string" ? fail(select) : { key, select, rate };
}

/**
 * Rate limits: entries `<count>/<s|m|h|d> [burst=<n>] [by=<key>] [routes=<p>,…] [methods=<M>,…]`
 * separated by `;` (or `,` before the next count). Entries with the same key and selector share one
 * limit, named after its key (`ip`, `identity`, `global`, `header-<name>`; `-2` on repeats).
 * @example parseRateLimits("10/s burst=20, 1000/h") // [{ name: "ip", key: "ip", limits: [{ requests: 10, per: "second", burst: 20 }, { requests: 1000, per: "hour" }] }]
 */
export function parseRateLimits(raw: string): ParseResult<RateLimitConfig[]> {
  const entries = splitEntries(raw);
  if (entries.length === 0) return invalid("it lists no limits");
  const groups = new Map<string, RateLimitConfig>();
  const names = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const parsed = parseRateEntry(entry, entries.length, index);
    if (isInvalid(parsed)) return parsed;
    const id = JSON.stringify([parsed.key, parsed.select]);
    const group = groups.get(id);
    if (group !== undefined) group.limits.push(parsed.rate);
    else {
      const name = uniqueName(keyName(parsed.key), names);
      groups.set(id, { name, key: parsed.key, limits: [parsed.rate], ...parsed.select });
    }
  }
  return [...groups.values()];
}

const UNIT_OF: Record<string, string> = { second: "s", minute: "m", hour: "h", day: "d" };

/** Writes one rate as the annotation does: `100/s burst=200`. */
export function formatRate(rate: RateConfig): string {
  const burst = rate.burst === undefined ? "" : ` burst=${rate.burst}`;
  return `${rate.requests}/${UNIT_OF[rate.per] ?? rate.per}${burst}`;
}

/** Writes rate limits back in annotation syntax. */
export function formatRateLimits(limits: readonly RateLimitConfig[]): string {
  return limits
    .flatMap((limit) =>
      limit.limits.map((rate) => `${formatRate(rate)} by=${limit.key}${formatSelector(limit)}`),
    )
    .join("; ");
}

const QUOTA_PERIODS = ["minute", "hour", "day", "month"] as const;

function parseQuotaEntry(entry: string, count: number, index: number): Omit<QuotaConfig, "name"> | Invalid {
  const words = entryWords(entry, { options: ["by", "routes", "methods"] });
  const fail = (problem: string) => invalid(entryProblem(count, index, problem));
  if (typeof words === "string") return fail(words);
  const match = /^([1-9][0-9]{0,11})\/([a-z]+)$/.exec(words.head);
  const period = QUOTA_PERIODS.find((candidate) => candidate === match?.[2]);
  if (match === null || period === undefined) {
    return count > 1 ? fail(`${JSON.stringify(words.head)} is not <count>/<period>`) : invalid();
  }
  const key = counterKey(words.options.get("by") ?? "identity");
  if (key === undefined)
    return fail(`by=${words.options.get("by")} is not ip, identity, global or header:<name>`);
  const select = selector(words.options);
  if (typeof select === "string") return fail(select);
  return { key, requests: Number(match[1]), period, ...select };
}

/**
 * Quotas per calendar period (UTC): entries `<count>/<minute|hour|day|month> [by=<key>]
 * [routes=…] [methods=…]`, keyed by identity unless `by=` says otherwise; named `<key>-<period>`.
 * @example parseQuotas("10000/day") // [{ name: "identity-day", key: "identity", requests: 10000, period: "day" }]
 */
export function parseQuotas(raw: string): ParseResult<QuotaConfig[]> {
  const entries = splitEntries(raw);
  if (entries.length === 0) return invalid("it lists no quotas");
  const names = new Set<string>();
  const quotas: QuotaConfig[] = [];
  for (const [index, entry] of entries.entries()) {
    const parsed = parseQuotaEntry(entry, entries.length, index);
    if (isInvalid(parsed)) return parsed;
    quotas.push({ name: uniqueName(`${keyName(parsed.key)}-${parsed.period}`, names), ...parsed });
  }
  return quotas;
}

/** Writes quotas back in annotation syntax. */
export function formatQuotas(quotas: readonly QuotaConfig[]): string {
  return quotas
    .map((quota) => `${quota.requests}/${quota.period} by=${quota.key}${formatSelector(quota)}`)
    .join("; ");
}

/**
 * Failed-authentication lockout: `<failures> in <window> lock <duration>`, durations in whole seconds.
 * @example parseLockout("10 in 15m lock 30m") // { maxFailures: 10, windowSeconds: 900, lockSeconds: 1800 }
 */
export function parseLockout(raw: string): ParseResult<LockoutConfig> {
  const match = /^([0-9]+) in (\S+) lock (\S+)$/.exec(raw.trim());
  if (match === null) return invalid();
  const maxFailures = positiveCount(match[1] ?? "", "the failure count");
  const windowSeconds = wholeSeconds(match[2] ?? "");
  const lockSeconds = wholeSeconds(match[3] ?? "");
  if (typeof maxFailures === "string") return invalid(maxFailures);
  if (typeof windowSeconds === "string") return invalid(`the window ${windowSeconds}`);
  if (typeof lockSeconds === "string") return invalid(`the lock ${lockSeconds}`);
  return { maxFailures, windowSeconds, lockSeconds };
}

/** Writes a lockout back in annotation syntax. */
export function formatLockout(lockout: LockoutConfig): string {
  return `${lockout.maxFailures} in ${formatSeconds(lockout.windowSeconds)} lock ${formatSeconds(lockout.lockSeconds)}`;
}

function concurrencyOption(draft: ConcurrencyDraft, key: string, text: string): string | undefined {
  if (key === "queue") {
    if (!/^[0-9]{1,9}$/.test(text)) return "queue must be a whole number, 0 or more";
    draft.queueSize = Number(text);
    return undefined;
  }
  if (key === "min") {
    const min = positiveCount(text, "min");
    if (typeof min === "string") return min;
    draft.minInFlight = min;
    return undefined;
  }
  const ms = parseDuration(text);
  if (isInvalid(ms)) return `${key}=${text} is not a duration such as 500ms or 1s`;
  if (key === "timeout") draft.queueTimeoutMs = ms;
  else draft.targetLatencyMs = ms;
  return undefined;
}

/**
 * Concurrency limit: `<max in flight> [queue=<n>] [timeout=<duration>] [adaptive] [target=<duration>]
 * [min=<n>]`; target and min tune adaptive mode. Fields left out take the sidecar's defaults.
 * @example parseConcurrency("100 queue=50 timeout=1s adaptive") // { maxInFlight: 100, queueSize: 50, queueTimeoutMs: 1000, adaptive: true }
 */
export function parseConcurrency(raw: string): ParseResult<ConcurrencyDraft> {
  const words = entryWords(raw.trim(), {
    options: ["queue", "timeout", "target", "min"],
    flags: ["adaptive"],
  });
  if (typeof words === "string") return invalid(words);
  const max = positiveCount(words.head, "the limit");
  if (typeof max === "string") return invalid();
  const draft: ConcurrencyDraft = { maxInFlight: max };
  if (words.flags.includes("adaptive")) draft.adaptive = true;
  for (const [key, text] of words.options) {
    const problem = concurrencyOption(draft, key, text);
    if (problem !== undefined) return invalid(problem);
  }
  if (draft.adaptive !== true && (draft.targetLatencyMs !== undefined || draft.minInFlight !== undefined)) {
    return invalid("target= and min= tune adaptive mode; add adaptive");
  }
  if ((draft.minInFlight ?? 0) > max) return invalid("min= is above the limit");
  return draft;
}

/** Writes a concurrency limit back in annotation syntax. */
export function formatConcurrency(value: ConcurrencyDraft): string {
  const parts = [String(value.maxInFlight ?? "")];
  if (value.queueSize !== undefined) parts.push(`queue=${value.queueSize}`);
  if (value.queueTimeoutMs !== undefined) parts.push(`timeout=${formatDuration(value.queueTimeoutMs)}`);
  if (value.adaptive === true) parts.push("adaptive");
  if (value.targetLatencyMs !== undefined) parts.push(`target=${formatDuration(value.targetLatencyMs)}`);
  if (value.minInFlight !== undefined) parts.push(`min=${value.minInFlight}`);
  return parts.join(" ");
}
