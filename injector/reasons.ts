/**
 * Why the injector did what it did: every decision carries one reason code (snake_case, stable) and
 * a sentence for people. A skip is data, not an error: the webhook returns it as a warning.
 */

/** What the injector decided for one pod. */
export const ACTIONS = ["inject", "skip", "deny"] as const;
/** One of ACTIONS. */
export type Action = (typeof ACTIONS)[number];

/**
 * Every reason code, with its action and a summary for the docs. `cannot` reasons are skips that a
 * zone without opt-out turns into denials, since the pod would otherwise run without its gateway.
 */
export const REASONS = {
  injected: { action: "inject", summary: "the sidecar was added" },
  already_injected: { action: "skip", summary: "the pod already has podgate's sidecar" },
  system_namespace: {
    action: "skip",
    summary: "kube-system, kube-public and the webhook's namespace are never injected",
  },
  namespace_not_enabled: {
    action: "skip",
    summary: "the namespace is not labelled podgate.io/inject=enabled",
  },
  pod_opted_out: { action: "skip", summary: 'the pod has podgate.io/inject: "false"' },
  host_network: { action: "skip", summary: "hostNetwork pods share the node's ports" },
  sidecar_name_taken: {
    action: "skip",
    cannot: true,
    summary: "another container already has the sidecar's name",
  },
  volume_name_taken: {
    action: "skip",
    cannot: true,
    summary: "a volume already has the name of a Secret volume the sidecar needs",
  },
  port_conflict: {
    action: "skip",
    cannot: true,
    summary: "a container already uses one of the sidecar's ports",
  },
  no_serving_port: { action: "skip", cannot: true, summary: "no serving port could be found" },
  grpc_port: {
    action: "skip",
    cannot: true,
    summary: "the serving port speaks gRPC or h2c, which the sidecar cannot proxy yet",
  },
  capture_unavailable: { action: "skip", cannot: true, summary: "no capture mode fits the pod" },
  invalid_annotations: { action: "deny", summary: "podgate annotations are invalid" },
  zone_floor_violated: {
    action: "deny",
    summary: "the pod loosens its zone's floor, or lacks the TLS or authentication the zone requires",
  },
  unknown_zone: { action: "deny", summary: "the namespace names a zone the cluster settings do not define" },
} as const satisfies Record<string, { action: Action; summary: string; cannot?: boolean }>;

/** One of the reason codes. */
export type ReasonCode = keyof typeof REASONS;

/** A decision: what happened, why (code) and a sentence saying so. */
export interface Decision {
  action: Action;
  reason: ReasonCode;
  message: string;
  /** For a denial, every problem found, one sentence each. */
  problems: string[];
}

/** Builds a decision whose action is the reason's own. */
export function decide(reason: ReasonCode, message: string, problems: string[] = []): Decision {
  return { action: REASONS[reason].action, reason, message, problems };
}

/** Whether this skip leaves a pod that asked for the gateway without one (zones forbid that). */
export function isCannotReason(reason: ReasonCode): boolean {
  const entry = REASONS[reason];
  return "cannot" in entry && entry.cannot;
}
