/**
 * The checks before any mutation: is this pod in scope, already injected, opted out, in a zone,
 * with valid annotations? Each "no" is a decision with its reason. Shared by mutate and validate.
 */
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { ParsedAnnotations } from "./annotation-values.ts";
import {
  INJECT,
  INJECTED_LABEL,
  NAMESPACE_INJECT_LABEL,
  STATUS_ANNOTATION,
  ZONE_LABEL,
} from "./annotations.ts";
import { CAPTURE_NAME, SIDECAR_NAME } from "./container.ts";
import type { ZoneRef } from "./policy.ts";
import { type Decision, decide } from "./reasons.ts";
import type { ClusterSettings } from "./settings.ts";

/** The namespace a pod is created in, with its labels (opt-in and zone). */
export interface NamespaceInfo {
  name: string;
  labels?: Record<string, string> | undefined;
}

/** What injectPod and validatePod need besides the pod. */
export interface InjectContext {
  settings: ClusterSettings;
  namespace: NamespaceInfo;
  /** Whether the cluster supports native sidecars (resolved from settings.nativeSidecars). */
  nativeSidecars: boolean;
  /** Written into podgate.io/status. */
  injectorVersion: string;
  /** The user asked for injection (`podgate inject`): inject unless the pod opts out. */
  explicit?: boolean;
}

const SYSTEM_NAMESPACES = ["kube-system", "kube-public"];

/** All containers of a pod: init containers and regular ones. */
export function allContainers(pod: V1Pod): V1Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/** Whether podgate injected this pod before (its label or status annotation). */
export function isInjected(pod: V1Pod): boolean {
  return (
    pod.metadata?.labels?.[INJECTED_LABEL] === "true" ||
    pod.metadata?.annotations?.[STATUS_ANNOTATION] !== undefined
  );
}

/** The zone named by the namespace's label: undefined when none, a decision when the zone is unknown. */
export function zoneOf(context: InjectContext): ZoneRef | Decision | undefined {
  const name = context.namespace.labels?.[ZONE_LABEL];
  if (name === undefined) return undefined;
  const floor = context.settings.zones[name];
  if (floor === undefined) {
    const known = Object.keys(context.settings.zones).join(", ");
    const message = `namespace ${context.namespace.name} is in zone ${name}, which the cluster settings do not define (zones: ${known})`;
    return decide("unknown_zone", message, [message]);
  }
  return { name, floor };
}

/** Whether injection applies here: the namespace opted in, the pod opted in where allowed, or the user asked. */
export function scopeDecision(context: InjectContext, annotations: ParsedAnnotations): Decision | undefined {
  const { namespace, settings } = context;
  if (SYSTEM_NAMESPACES.includes(namespace.name) || namespace.name === settings.webhookNamespace) {
    return decide("system_namespace", `namespace ${namespace.name} is never injected`);
  }
  const podFlag = annotations.get(INJECT);
  const enabled = namespace.labels?.[NAMESPACE_INJECT_LABEL] === "enabled";
  if (context.explicit === true || enabled || podFlag === false) return undefined;
  if (podFlag === true && settings.allowPodOptIn) return undefined;
  const message =
    podFlag === true
      ? 'the pod opts in with podgate.io/inject: "true", but the cluster settings do not allow pod opt-in'
      : `namespace ${namespace.name} is not labelled ${NAMESPACE_INJECT_LABEL}=enabled`;
  return decide("namespace_not_enabled", message);
}

/** A pod opting out: a skip, or a denial in a zone without opt-out. */
export function optOutDecision(
  annotations: ParsedAnnotations,
  zone: ZoneRef | undefined,
): Decision | undefined {
  if (annotations.get(INJECT) !== false) return undefined;
  if (zone !== undefined && !zone.floor.allowOptOut) {
    const message = `podgate.io/inject: "false" is not allowed in zone ${zone.name} (its floor forbids opt-out)`;
    return decide("zone_floor_violated", message, [message]);
  }
  return decide("pod_opted_out", 'the pod opts out with podgate.io/inject: "false"');
}

/**
 * A pod podgate injected before (re-invocation, or a pod re-submitted): nothing to do, unless a
 * container added since then declares one of the sidecar's ports or port names.
 */
export function alreadyInjectedDecision(pod: V1Pod): Decision {
  const containers = allContainers(pod);
  const sidecar = containers.find((container) => container.name === SIDECAR_NAME);
  const owned = new Set(
    (sidecar?.ports ?? []).flatMap((port) => [String(port.containerPort), port.name ?? ""]),
  );
  owned.delete("");
  for (const container of containers) {
    if (container.name === SIDECAR_NAME || container.name === CAPTURE_NAME) continue;
    const clash = (container.ports ?? []).find(
      (port) => owned.has(String(port.containerPort)) || owned.has(port.name ?? ""),
    );
    if (clash !== undefined) {
      const message = `container ${container.name} declares port ${clash.name ?? clash.containerPort}, which podgate's sidecar already uses`;
      return { action: "deny", reason: "port_conflict", message, problems: [message] };
    }
  }
  return decide("already_injected", "the pod already has podgate's sidecar");
}

/**
 * Pods podgate cannot serve even when asked: host network, a container already named like the
 * sidecar, or a volume already named like one it would add (Secrets, the audit log).
 */
export function podShapeDecision(pod: V1Pod, volumeNames: readonly string[] = []): Decision | undefined {
  if (pod.spec?.hostNetwork === true)
    return decide("host_network", "hostNetwork pods share the node's ports and are not injected");
  const taken = allContainers(pod).find(
    (container) => container.name === SIDECAR_NAME || container.name === CAPTURE_NAME,
  );
  if (taken !== undefined) {
    return decide(
      "sidecar_name_taken",
      `a container is already named ${taken.name}, the name podgate's sidecar uses`,
    );
  }
  const volume = (pod.spec?.volumes ?? []).find((candidate) => volumeNames.includes(candidate.name));
  if (volume !== undefined) {
    return decide(
      "volume_name_taken",
      `a volume is already named ${volume.name}, a name podgate gives a volume it mounts into the sidecar`,
    );
  }
  return undefined;
}
