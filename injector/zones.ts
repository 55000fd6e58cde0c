/**
 * Zone floors. A namespace labelled `podgate.io/zone=<name>` gets that zone's floor: a partial
 * sidecar config plus rules saying which direction of each field is tighter. A pod's annotations may
 * tighten a floor (a lower limit, fewer routes) but never loosen it; fields the pod leaves unset take
 * the floor's value.
 */
import type { RouteConfig } from "../sidecar/config.ts";
import { annotationForConfigPath } from "./annotations.ts";
import { type ConfigDraft, getPath, leafPaths, setPath } from "./config-path.ts";

/** A zone's floor. `tls` and `authentication` are recorded for the policy schema to come. */
export interface ZoneFloor {
  /** Whether pods may opt out with podgate.io/inject: "false". */
  allowOptOut: boolean;
  /** Default-deny routes: the pod must declare a route allowlist (or the floor supplies one). */
  requireRoutes: boolean;
  /** Transport security the zone requires. Not enforceable until the sidecar has a TLS policy. */
  tls: "none" | "tls" | "mtls";
  /** Whether clients must authenticate. Not enforceable until the sidecar has auth policies. */
  authentication: "optional" | "required";
  /** The floor's config values, in sidecar config shape. */
  config: ConfigDraft;
}

/** How a field's tighter direction is judged. */
export const TIGHTER = ["lower", "true", "subset"] as const;

/** The fields a floor may set, each with its tighter direction. */
export const FLOOR_RULES: Readonly<Record<string, (typeof TIGHTER)[number]>> = {
  "limits.maxBodyBytes": "lower",
  "limits.maxHeaderBytes": "lower",
  "limits.maxHeaderCount": "lower",
  "limits.headerReadTimeoutMs": "lower",
  "limits.requestTimeoutMs": "lower",
  "upstream.responseTimeoutMs": "lower",
  "upstream.connectTimeoutMs": "lower",
  "log.accessLog": "true",
  "forwarding.trustedProxies": "subset",
  routes: "subset",
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

/**
 * Merges a zone floor under a pod's config draft. Returns the merged draft and a problem for each
 * field the pod sets looser than the floor, naming the annotation and the floor it breaks.
 */
export function applyFloor(zone: string, floor: ZoneFloor, draft: ConfigDraft): FloorResult {
  const config = structuredClone(draft);
  const problems: string[] = [];
  for (const path of leafPaths(floor.config)) {
    const floorValue = getPath(floor.config, path);
    const podValue = getPath(draft, path);
    if (podValue === undefined) setPath(config, path, structuredClone(floorValue));
    else if (!isTighterOrEqual(FLOOR_RULES[path], podValue, floorValue)) {
      problems.push(looserProblem(zone, path, podValue, floorValue));
    }
  }
  if (floor.requireRoutes && getPath(config, "routes") === undefined) {
    problems.push(
      `podgate.io/routes: zone ${zone} requires a route allowlist (default-deny routes); set podgate.io/routes, e.g. "/api/** GET,POST"`,
    );
  }
  return { config, problems };
}

function isTighterOrEqual(rule: (typeof TIGHTER)[number] | undefined, pod: unknown, floor: unknown): boolean {
  switch (rule) {
    case "lower":
      return (pod as number) <= (floor as number);
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

function looserProblem(zone: string, path: string, pod: unknown, floor: unknown): string {
  const row = annotationForConfigPath(path);
  const name = row?.name ?? path;
  const show = (value: unknown) => JSON.stringify(row?.format ? row.format(value) : value);
  const bound =
    FLOOR_RULES[path] === "lower" ? "at most" : FLOOR_RULES[path] === "true" ? "must be" : "within";
  return `${name}: ${show(pod)} loosens zone ${zone}'s floor (${path} ${bound} ${show(floor)})`;
}
