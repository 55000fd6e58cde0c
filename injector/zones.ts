/**
 * Zone floors. A namespace labelled `podgate.io/zone=<name>` gets that zone's floor: a partial
 * sidecar config plus rules saying which direction of each field is tighter, and the transport and
 * authentication the zone requires. A pod's annotations may tighten a floor (a lower limit, fewer
 * routes, more rate limits) but never loosen it; fields the pod leaves unset take the floor's value.
 */
import type { RouteConfig } from "../sidecar/config.ts";
import { annotationForConfigPath } from "./annotations.ts";
import { type ConfigDraft, getPath, leafPaths, setPath } from "./config-path.ts";
import { mergeQuotas, mergeRateLimits } from "./counter-floors.ts";
import { formatSeconds } from "./option-syntax.ts";
import { formatDuration, formatSize } from "./parsers.ts";
import type { QuotaConfig, RateLimitConfig } from "./traffic-parsers.ts";
import { requirementProblems, type ZoneRequirements } from "./zone-requirements.ts";

/** A zone's floor. */
export interface ZoneFloor extends ZoneRequirements {
  /** Whether pods may opt out with podgate.io/inject: "false". */
  allowOptOut: boolean;
  /** Default-deny routes: the pod must declare a route allowlist (or the floor supplies one). */
  requireRoutes: boolean;
  /** The floor's config values, in sidecar config shape. */
  config: ConfigDraft;
}

/**
 * How a field's tighter direction is judged: a number no higher or no lower, true stays true, a
 * list within the floor's, a list added to the floor's, or rate limits and quotas (counter-floors.ts).
 */
export const TIGHTER = ["lower", "higher", "true", "subset", "union", "rates", "quotas"] as const;
type Rule = (typeof TIGHTER)[number];

/** The fields a floor may set, each with its tighter direction. */
export const FLOOR_RULES: Readonly<Record<string, Rule>> = {
  "limits.maxBodyBytes": "lower",
  "limits.maxHeaderBytes": "lower",
  "limits.maxHeaderCount": "lower",
  "limits.headerReadTimeoutMs": "lower",
  "limits.requestTimeoutMs": "lower",
  "upstream.responseTimeoutMs": "lower",
  "upstream.connectTimeoutMs": "lower",
  "log.accessLog": "true",
  "audit.enabled": "true",
  "redact.patterns": "union",
  "forwarding.trustedProxies": "subset",
  routes: "subset",
  "policies.ipRules.allow": "subset",
  "policies.ipRules.deny": "union",
  "policies.lockout.maxFailures": "lower",
  "policies.lockout.windowSeconds": "higher",
  "policies.lockout.lockSeconds": "higher",
  "policies.rateLimits": "rates",
  "policies.quotas": "quotas",
  "policies.concurrency.maxInFlight": "lower",
  "policies.concurrency.queueSize": "lower",
  "policies.concurrency.queueTimeoutMs": "lower",
};

/** Problems with a floor's config: fields that have no tighter direction cannot be floors. */
export function checkFloorFields(config: ConfigDraft): string[] {
  return leafPaths(config)
    .filter((path) => FLOOR_RULES[path] === undefined)
    .map(
      (path) =>
        `${path}: a floor cannot set this field; floors may set ${Object.keys(FLOOR_RULES).join(", ")}`,
    );
}

/** The result of applying a floor: the merged draft and every way the pod loosens the floor. */
export interface FloorResult {
  config: ConfigDraft;
  problems: string[];
}

interface FloorContext {
  zone: string;
  /** The raw annotation text by name, to quote the pod's own words. */
  raw: ReadonlyMap<string, string>;
}

/** One way a pod loosens a floor: what the pod said (annotation and value) and the bound it breaks. */
interface Loosening {
  said: string;
  bound: string;
}

/** Merges one floor field into the config; returns how the pod loosens it, if it does. */
function mergeField(
  context: FloorContext,
  config: ConfigDraft,
  path: string,
  floorValue: unknown,
): Loosening[] {
  const podValue = getPath(config, path);
  const rule = FLOOR_RULES[path];
  if (podValue === undefined) {
    setPath(config, path, structuredClone(floorValue));
    return [];
  }
  if (rule === "union") {
    setPath(config, path, unionOf(floorValue as unknown[], podValue as unknown[]));
    return [];
  }
  if (rule === "rates" || rule === "quotas") {
    const merged =
      rule === "rates"
        ? mergeRateLimits(podValue as RateLimitConfig[], floorValue as RateLimitConfig[])
        : mergeQuotas(podValue as QuotaConfig[], floorValue as QuotaConfig[]);
    setPath(config, path, merged.value);
    return merged.loosened.map((floorText) => looserProblem(context, path, podValue, floorText));
  }
  return isTighterOrEqual(rule, podValue, floorValue)
    ? []
    : [looserProblem(context, path, podValue, floorValue)];
}

/** The floor's entries, then the pod's that are not already there (entries compare as JSON: CIDRs, redact patterns). */
function unionOf(floor: readonly unknown[], pod: readonly unknown[]): unknown[] {
  const seen = new Set(floor.map((item) => JSON.stringify(item)));
  return [...floor, ...pod.filter((item) => !seen.has(JSON.stringify(item)))];
}

/**
 * Merges a zone floor under a pod's config draft and checks the zone's transport and
 * authentication. Returns the merged draft and a problem for each field the pod sets looser than
 * the floor (naming the annotation and the floor it breaks) and each requirement it misses.
 */
export function applyFloor(
  zone: string,
  floor: ZoneFloor,
  draft: ConfigDraft,
  raw: ReadonlyMap<string, string> = new Map(),
): FloorResult {
  const config = structuredClone(draft);
  const context = { zone, raw };
  const loosenings = leafPaths(floor.config).flatMap((path) =>
    mergeField(context, config, path, getPath(floor.config, path)),
  );
  const bounds = Map.groupBy(loosenings, (loosening) => loosening.said);
  const problems = [...bounds].map(
    ([said, list]) => `${said} loosens zone ${zone}'s floor (${list.map((item) => item.bound).join("; ")})`,
  );
  if (floor.requireRoutes && getPath(config, "routes") === undefined) {
    problems.push(
      `podgate.io/routes: zone ${zone} requires a route allowlist (default-deny routes); set podgate.io/routes, e.g. "/api/** GET,POST"`,
    );
  }
  problems.push(...requirementProblems(zone, floor, config));
  return { config, problems };
}

function isTighterOrEqual(rule: Rule | undefined, pod: unknown, floor: unknown): boolean {
  switch (rule) {
    case "lower":
      return (pod as number) <= (floor as number);
    case "higher":
      return (pod as number) >= (floor as number);
    case "true":
      return floor !== true || pod === true;
    case "subset":
      return isSubset(pod, floor);
    default:
      return false;
  }
}

function isSubset(pod: unknown, floor: unknown): boolean {
  const podItems = pod as unknown[];
  const floorItems = floor as unknown[];
  if (typeof podItems[0] === "string" || typeof floorItems[0] === "string") {
    return podItems.every((item) => floorItems.includes(item));
  }
  return (podItems as RouteConfig[]).every((route) =>
    (floorItems as RouteConfig[]).some((allowed) => routeCovers(allowed, route)),
  );
}

/** Whether a floor route allows everything a pod route allows (same or wider path, same or more methods). */
export function routeCovers(floor: RouteConfig, pod: RouteConfig): boolean {
  if (!patternCovers(floor.path, pod.path)) return false;
  if (!(floor.scopes ?? []).every((scope) => pod.scopes?.includes(scope))) return false;
  if (
    floor.identities !== undefined &&
    !(pod.identities ?? ["*"]).every((id) => floor.identities?.includes(id))
  ) {
    return false;
  }
  if (floor.methods.includes("*")) return true;
  return pod.methods.every(
    (method) =>
      method !== "*" &&
      (floor.methods.includes(method) || (method === "HEAD" && floor.methods.includes("GET"))),
  );
}

function patternCovers(floor: string, pod: string): boolean {
  const f = floor.split("/").slice(1);
  const p = pod.split("/").slice(1);
  for (const [i, segment] of f.entries()) {
    if (segment === "**") return true;
    const podSegment = p[i];
    if (podSegment === undefined || podSegment === "**") return false;
    if (segment !== "*" && segment !== podSegment) return false;
  }
  return f.length === p.length;
}

const BOUNDS: Partial<Record<Rule, string>> = {
  lower: "at most",
  higher: "at least",
  true: "must be",
  rates: "at most",
  quotas: "at most",
};

/** Writes a config leaf the way annotations write it: durations, sizes, lists. */
function formatLeaf(path: string, value: unknown): string {
  if (typeof value === "number" && path.endsWith("Ms")) return formatDuration(value);
  if (typeof value === "number" && path.endsWith("Seconds")) return formatSeconds(value);
  if (typeof value === "number" && path.endsWith("Bytes")) return formatSize(value);
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(",");
  return typeof value === "string" ? value : JSON.stringify(value);
}

function looserProblem(context: FloorContext, path: string, pod: unknown, floor: unknown): Loosening {
  const row = annotationForConfigPath(path);
  const name = row?.name ?? path;
  const exact = row?.configPath === path && row.format !== undefined;
  const show = (value: unknown) =>
    typeof value === "string" ? value : exact ? (row.format?.(value) ?? "") : formatLeaf(path, value);
  const podText = (row === undefined ? undefined : context.raw.get(row.name)) ?? show(pod);
  const bound = BOUNDS[FLOOR_RULES[path] ?? "subset"] ?? "within";
  return {
    said: `${name}: ${JSON.stringify(podText)}`,
    bound: `${path} ${bound} ${JSON.stringify(show(floor))}`,
  };
}
