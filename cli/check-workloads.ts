/**
 * `podgate check`, workload half: the labelled namespaces, their pods (with the sidecar, at this
 * CLI's version) and their Services (whose targetPort must reach the sidecar, not the app).
 *
 * A pod without the sidecar is run through the injector offline: when the injector skips it by
 * design (opt-out, hostNetwork) it is fine; when it cannot inject it (a gRPC port, a port conflict)
 * it is a WARN; when it would inject or deny it, the pod was created while the webhook was down or
 * before the namespace was labelled: a WARN, or a FAIL in a zone namespace, whose floor says no pod
 * runs without its gateway.
 */
import {
  CoreV1Api,
  type V1Container,
  type V1Namespace,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";
import {
  INJECTED_LABEL,
  NAMESPACE_INJECT_LABEL,
  STATUS_ANNOTATION,
  ZONE_LABEL,
} from "../injector/annotations.ts";
import { ADMIN_PORT_NAME, CAPTURE_NAME, SIDECAR_NAME } from "../injector/container.ts";
import { injectPod } from "../injector/index.ts";
import { isCannotReason } from "../injector/reasons.ts";
import { type CheckContext, type Finding, finding } from "./check-report.ts";

/** Where a pod stands with respect to the gateway. */
export type PodState =
  | { kind: "current" }
  | { kind: "old"; version: string }
  | { kind: "missing"; reason: string }
  | { kind: "cannot"; reason: string }
  | { kind: "skipped"; reason: string };

function containersOf(pod: V1Pod): V1Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

function statusVersion(pod: V1Pod): string {
  try {
    const status = JSON.parse(pod.metadata?.annotations?.[STATUS_ANNOTATION] ?? "{}") as {
      version?: unknown;
    };
    return typeof status.version === "string" ? status.version : "unknown";
  } catch {
    return "unknown";
  }
}

/** The pod as it was before any injection marks, so the injector decides afresh. */
function unmarked(pod: V1Pod): V1Pod {
  const labels = { ...pod.metadata?.labels };
  const annotations = { ...pod.metadata?.annotations };
  delete labels[INJECTED_LABEL];
  delete annotations[STATUS_ANNOTATION];
  return { ...pod, metadata: { ...pod.metadata, labels, annotations } };
}

/** Classifies one pod of a labelled namespace. */
export function podState(pod: V1Pod, namespace: V1Namespace, context: CheckContext): PodState {
  const hasSidecar = containersOf(pod).some((container) => container.name === SIDECAR_NAME);
  if (pod.metadata?.labels?.[INJECTED_LABEL] === "true" && hasSidecar) {
    const version = statusVersion(pod);
    return version === context.version ? { kind: "current" } : { kind: "old", version };
  }
  const { decision } = injectPod(unmarked(pod), {
    settings: context.settings,
    namespace: { name: namespace.metadata?.name ?? "", labels: namespace.metadata?.labels },
    nativeSidecars: true,
    injectorVersion: context.version,
  });
  if (decision.action === "skip") {
    return { kind: isCannotReason(decision.reason) ? "cannot" : "skipped", reason: decision.reason };
  }
  return { kind: "missing", reason: decision.reason };
}

function names(pods: Array<{ name: string; detail?: string }>): string {
  const shown = pods
    .slice(0, 5)
    .map((pod) => (pod.detail === undefined ? pod.name : `${pod.name} (${pod.detail})`));
  return pods.length > 5 ? `${shown.join(", ")} and ${pods.length - 5} more` : shown.join(", ");
}

/** Lists the labelled namespaces; a WARN when there are none. */
export async function labelledNamespaces(
  context: CheckContext,
): Promise<{ findings: Finding[]; namespaces: V1Namespace[] }> {
  const labelSelector = `${NAMESPACE_INJECT_LABEL}=enabled`;
  const list = await context.kubeConfig.makeApiClient(CoreV1Api).listNamespace({ labelSelector });
  const namespaces = list.items;
  if (namespaces.length === 0) {
    return {
      findings: [finding("WARN", "labelled namespaces", `none is labelled ${labelSelector}`)],
      namespaces,
    };
  }
  const described = namespaces.map((ns) => {
    const zone = ns.metadata?.labels?.[ZONE_LABEL];
    return zone === undefined ? (ns.metadata?.name ?? "") : `${ns.metadata?.name} (zone ${zone})`;
  });
  return { findings: [finding("PASS", "labelled namespaces", described.join(", "))], namespaces };
}

/** The pods of a labelled namespace: missing sidecars, sidecars the injector cannot add, old versions. */
export async function checkPods(
  context: CheckContext,
  namespace: V1Namespace,
): Promise<{ findings: Finding[]; pods: V1Pod[] }> {
  const name = namespace.metadata?.name ?? "";
  const zone = namespace.metadata?.labels?.[ZONE_LABEL];
  const list = await context.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: name });
  const pods = list.items.filter((pod) => !["Succeeded", "Failed"].includes(pod.status?.phase ?? ""));
  const states = pods.map((pod) => ({
    name: pod.metadata?.name ?? "",
    state: podState(pod, namespace, context),
  }));
  const of = (kind: PodState["kind"]) => states.filter((entry) => entry.state.kind === kind);
  const check = `pods in ${name}`;
  const restart = `restart their workloads: kubectl rollout restart deployment -n ${name}`;
  const findings: Finding[] = [];
  const missing = of("missing");
  if (missing.length > 0) {
    const why = zone === undefined ? "" : `; zone ${zone} requires the gateway`;
    const message = `${missing.length} of ${pods.length} without the sidecar: ${names(missing)}${why}; ${restart}`;
    findings.push(finding(zone === undefined ? "WARN" : "FAIL", check, message));
  }
  const cannot = of("cannot").map((e) => ({
    name: e.name,
    detail: "reason" in e.state ? e.state.reason : "",
  }));
  if (cannot.length > 0) {
    findings.push(
      finding(
        "WARN",
        check,
        `${cannot.length} run without the gateway, which the injector cannot add: ${names(cannot)}`,
      ),
    );
  }
  const old = of("old").map((e) => ({ name: e.name, detail: "version" in e.state ? e.state.version : "" }));
  if (old.length > 0) {
    findings.push(
      finding(
        "WARN",
        check,
        `${old.length} run an older sidecar than this CLI (${context.version}): ${names(old)}; ${restart}`,
      ),
    );
  }
  if (findings.length === 0) {
    const skipped = of("skipped").length;
    const extra = skipped === 0 ? "" : `, ${skipped} not injected by design (opt-out, hostNetwork)`;
    findings.push(
      finding(
        "PASS",
        check,
        `${of("current").length} of ${pods.length} run podgate ${context.version}${extra}`,
      ),
    );
  }
  return { findings, pods };
}

function selects(service: V1Service, pod: V1Pod): boolean {
  const selector = service.spec?.selector ?? {};
  const labels = pod.metadata?.labels ?? {};
  return (
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  );
}

/** The container declaring a port, by number or by name. */
function declaringContainer(pod: V1Pod, target: number | string): V1Container | undefined {
  return containersOf(pod).find((container) =>
    (container.ports ?? []).some((port) =>
      typeof target === "number" ? port.containerPort === target : port.name === target,
    ),
  );
}

/** The sidecar's data port, by name where it has one (what a Service should target). */
function gatewayPort(pod: V1Pod): string | number | undefined {
  const sidecar = containersOf(pod).find((container) => container.name === SIDECAR_NAME);
  const port = sidecar?.ports?.find((candidate) => candidate.name !== ADMIN_PORT_NAME);
  return port === undefined ? undefined : (port.name ?? port.containerPort);
}

/**
 * The ports of a Service whose targetPort reaches another container of its injected pods than the
 * sidecar. iptables capture redirects the app's port itself, so those pods are never bypassed.
 */
export function serviceBypasses(service: V1Service, pods: V1Pod[]): string[] {
  const pod = pods.find(
    (candidate) => candidate.metadata?.labels?.[INJECTED_LABEL] === "true" && selects(service, candidate),
  );
  if (pod === undefined || containersOf(pod).some((container) => container.name === CAPTURE_NAME)) return [];
  return (service.spec?.ports ?? []).flatMap((port) => {
    const target = port.targetPort ?? port.port;
    const owner = declaringContainer(pod, target);
    if (owner === undefined || owner.name === SIDECAR_NAME) return [];
    const kind = typeof target === "number" ? "numeric" : "named";
    const fix = gatewayPort(pod);
    return [
      `${service.metadata?.name} port ${port.port} has ${kind} targetPort ${target}, which reaches container ${owner.name} directly${fix === undefined ? "" : `; use targetPort ${fix}`}`,
    ];
  });
}

/** The Services of a labelled namespace: a FAIL for every port that bypasses the gateway. */
export async function checkServices(
  context: CheckContext,
  namespace: string,
  pods: V1Pod[],
): Promise<Finding[]> {
  const list = await context.kubeConfig.makeApiClient(CoreV1Api).listNamespacedService({ namespace });
  const bypasses = list.items.flatMap((service) => serviceBypasses(service, pods));
  const check = `services in ${namespace}`;
  if (bypasses.length === 0)
    return [finding("PASS", check, `${list.items.length} reach the gateway or select no injected pod`)];
  return [finding("FAIL", check, `the gateway's policies do not apply to ${bypasses.join("; ")}`)];
}
