/**
 * Compiles the sidecar's config: annotations, then the zone floor under them, then what the
 * injection itself decides (ports, upstream, drain). The result is checked with the sidecar's own
 * `parseConfig`, so the webhook never renders a config the sidecar would refuse at startup.
 */
import { parseConfig, type SidecarConfig } from "../sidecar/config.ts";
import type { ParsedAnnotations } from "./annotation-values.ts";
import { ANNOTATIONS, annotationForConfigPath } from "./annotations.ts";
import { type ConfigDraft, getPath, mergePath, setPath } from "./config-path.ts";
import { formatDuration } from "./parsers.ts";
import { configHasCredential } from "./zone-requirements.ts";
import { applyFloor, type ZoneFloor } from "./zones.ts";

/** The zone whose floor applies, if any. */
export interface ZoneRef {
  name: string;
  floor: ZoneFloor;
}

/** The config the annotations ask for, merged over the zone floor; `problems` lists every loosening. */
export function policyDraft(
  annotations: ParsedAnnotations,
  zone: ZoneRef | undefined,
): { draft: ConfigDraft; problems: string[] } {
  const draft: ConfigDraft = {};
  for (const row of ANNOTATIONS) {
    const value = annotations.get(row);
    if (row.configPath !== undefined && value !== undefined) {
      mergePath(draft, row.configPath, row.configValue === undefined ? value : row.configValue(value));
    }
  }
  // A credential means "require it" unless podgate.io/auth-required says "false": a pod that sets
  // API keys and forgets auth-required must not silently let anonymous requests through.
  if (configHasCredential(draft) && getPath(draft, "policies.authentication") === undefined) {
    setPath(draft, "policies.authentication.required", true);
  }
  if (zone === undefined) return { draft, problems: [] };
  const { config, problems } = applyFloor(zone.name, zone.floor, draft, annotations.raw);
  return { draft: config, problems };
}

/** Where the sidecar listens and forwards, decided by capture. */
export interface WiringOptions {
  listenerPort: number;
  adminPort: number;
  appPort: number;
  /** The pod's terminationGracePeriodSeconds (default 30). */
  graceSeconds: number;
  /** podgate.io/drain-delay in milliseconds, if set. */
  drainDelayMs: number | undefined;
}

/** A compiled config: the JSON for PODGATE_CONFIG, the defaulted config, and what went wrong. */
export interface CompiledConfig {
  /** The partial config rendered into PODGATE_CONFIG; the sidecar fills in defaults. */
  draft: ConfigDraft;
  /** The effective config, as the sidecar will see it. */
  config: SidecarConfig | undefined;
  problems: string[];
  warnings: string[];
}

/**
 * The drain phase must fit the pod's grace period: the kubelet kills the sidecar after
 * terminationGracePeriodSeconds, so delay + timeout stay a second under it.
 * https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination
 */
export function drainFor(
  graceSeconds: number,
  requestedDelayMs: number | undefined,
): { delayMs: number; timeoutMs: number; warning?: string } {
  const budget = Math.max(0, graceSeconds * 1000 - 1000);
  const fallback = Math.min(5000, Math.floor(budget / 5));
  if (requestedDelayMs !== undefined && requestedDelayMs > budget) {
    return {
      delayMs: fallback,
      timeoutMs: Math.max(1, budget - fallback),
      warning: `podgate.io/drain-delay ${formatDuration(requestedDelayMs)} does not fit terminationGracePeriodSeconds ${graceSeconds}; using ${formatDuration(fallback)}`,
    };
  }
  const delayMs = requestedDelayMs ?? fallback;
  return { delayMs, timeoutMs: Math.max(1, budget - delayMs) };
}

/** Adds the wiring to a policy draft and validates the whole config with the sidecar's schema. */
export function compileConfig(policy: ConfigDraft, wiring: WiringOptions): CompiledConfig {
  const draft = structuredClone(policy);
  const drain = drainFor(wiring.graceSeconds, wiring.drainDelayMs);
  setPath(draft, "listener.port", wiring.listenerPort);
  setPath(draft, "admin.port", wiring.adminPort);
  setPath(draft, "upstream.url", `http://127.0.0.1:${wiring.appPort}`);
  setPath(draft, "drain.delayMs", drain.delayMs);
  setPath(draft, "drain.timeoutMs", drain.timeoutMs);
  const warnings = drain.warning === undefined ? [] : [drain.warning];
  try {
    return { draft, config: parseConfig(draft), problems: [], warnings };
  } catch (error) {
    const problems = (error as { problems?: string[] }).problems ?? [(error as Error).message];
    return { draft, config: undefined, problems: problems.map(attributeProblem), warnings };
  }
}

/** Names the annotation behind a config problem: `forwarding.trustedProxies[0]: …` comes from podgate.io/trusted-proxies. */
function attributeProblem(problem: string): string {
  const path = problem.slice(0, problem.indexOf(":")).replace(/\[\d+\].*$/, "");
  const row = annotationForConfigPath(path);
  return row === undefined ? problem : `${row.name}: ${problem}`;
}
