/**
 * Traffic capture: which port the gateway fronts and how traffic reaches it. Real manifests rarely
 * name their ports and Services often use a numeric targetPort, so there are three modes:
 * port-env (move the app through its port variable), named-port (take over the port's name) and
 * iptables (redirect inbound TCP in an init container, as Istio and Linkerd do).
 */
import type { V1Container, V1ContainerPort } from "@kubernetes/client-node";
import type { ParsedAnnotations } from "./annotation-values.ts";
import { APP_PORT_ENV, CAPTURE } from "./annotations.ts";
import type { ReasonCode } from "./reasons.ts";
import type { ClusterSettings } from "./settings.ts";

/** The serving port: the container that declares it (or will listen on it) and the port entry. */
export interface ServingPort {
  containerIndex: number;
  /** Index in that container's `ports`, or undefined when the port is not declared. */
  portIndex: number | undefined;
  number: number;
  name: string | undefined;
}

/** How the gateway gets traffic for the serving port. */
export interface CapturePlan {
  mode: "port-env" | "named-port" | "iptables";
  serving: ServingPort;
  /** port-env: the variable the app reads its port from. */
  envName: string;
}

/** Why capture is impossible, as a skip reason and sentence. */
export interface CaptureProblem {
  reason: ReasonCode;
  message: string;
}

function declaredPorts(containers: V1Container[]): ServingPort[] {
  return containers.flatMap((container, containerIndex) =>
    (container.ports ?? []).map((port: V1ContainerPort, portIndex) => ({
      containerIndex,
      portIndex,
      number: port.containerPort,
      name: port.name,
    })),
  );
}

/**
 * Finds the serving port: `podgate.io/port` (a name or number), else the only declared port, else
 * the port named `http`.
 */
export function findServingPort(
  containers: V1Container[],
  wanted: number | string | undefined,
): ServingPort | CaptureProblem {
  const ports = declaredPorts(containers);
  if (typeof wanted === "string") {
    const named = ports.find((port) => port.name === wanted);
    return (
      named ?? {
        reason: "no_serving_port",
        message: `podgate.io/port names port ${wanted}, which no container declares`,
      }
    );
  }
  if (typeof wanted === "number") {
    const found = ports.find((port) => port.number === wanted);
    if (found) return found;
    if (containers.length === 1) {
      return { containerIndex: 0, portIndex: undefined, number: wanted, name: undefined };
    }
    return {
      reason: "no_serving_port",
      message: `podgate.io/port is ${wanted}, which no container declares`,
    };
  }
  const only = ports.length === 1 ? ports[0] : undefined;
  const found = only ?? ports.find((port) => port.name === "http");
  if (found) return found;
  const message =
    ports.length === 0
      ? "no container declares a port; set podgate.io/port"
      : `the pod declares ${ports.length} ports and none is named http; set podgate.io/port`;
  return { reason: "no_serving_port", message };
}

/**
 * Whether the serving port speaks gRPC or h2c, which the sidecar cannot proxy until it speaks HTTP/2:
 * its name says so (`grpc`, `grpc-api`, `h2c`, the convention Istio also reads) or a grpc probe checks it.
 * Container ports have no appProtocol field (only Service ports do), so the name is what the pod can say.
 */
export function http2Problem(serving: ServingPort, containers: V1Container[]): CaptureProblem | undefined {
  const speaks = /^(grpc|h2c)(-|$)/.exec(serving.name ?? "")?.[1];
  const grpcProbe = containers.some((container) =>
    [container.livenessProbe, container.readinessProbe, container.startupProbe].some(
      (probe) => probe?.grpc?.port === serving.number,
    ),
  );
  if (speaks === undefined && !grpcProbe) return undefined;
  const what = speaks === "h2c" ? "h2c" : "gRPC";
  return { reason: "grpc_port", message: `port ${serving.number} speaks ${what}` };
}

function setsPortVariable(container: V1Container | undefined, envName: string, port: number): boolean {
  return (container?.env ?? []).some((env) => env.name === envName && env.value === String(port));
}

/** Chooses the capture mode from `podgate.io/capture` (default auto), the pod and the cluster settings. */
export function planCapture(options: {
  containers: V1Container[];
  serving: ServingPort;
  annotations: ParsedAnnotations;
  settings: ClusterSettings;
}): CapturePlan | CaptureProblem {
  const { containers, serving, annotations, settings } = options;
  const envName = annotations.get(APP_PORT_ENV) ?? "PORT";
  const wanted = annotations.get(CAPTURE) ?? "auto";
  const plan = (mode: CapturePlan["mode"]): CapturePlan => ({ mode, serving, envName });
  const iptablesOff = "iptables capture is not allowed by the cluster settings";
  if (wanted === "port-env") return plan("port-env");
  if (wanted === "named-port") {
    if (serving.name !== undefined) return plan("named-port");
    return {
      reason: "capture_unavailable",
      message: `podgate.io/capture is named-port but port ${serving.number} has no name`,
    };
  }
  if (wanted === "iptables") {
    return settings.allowIptables
      ? plan("iptables")
      : { reason: "capture_unavailable", message: iptablesOff };
  }
  if (setsPortVariable(containers[serving.containerIndex], envName, serving.number)) return plan("port-env");
  if (serving.name !== undefined) return plan("named-port");
  if (settings.allowIptables) return plan("iptables");
  return {
    reason: "capture_unavailable",
    message: `port ${serving.number} has no name, the container does not set ${envName}=${serving.number}, and ${iptablesOff}; name the port, set ${envName}, or set podgate.io/capture`,
  };
}

/** The port the sidecar listens on: the original port in port-env capture, its data port otherwise. */
export function listenerPort(plan: CapturePlan, settings: ClusterSettings): number {
  return plan.mode === "port-env" ? plan.serving.number : settings.sidecar.dataPort;
}

/** The port the app serves on after injection. */
export function appPort(plan: CapturePlan, settings: ClusterSettings): number {
  return plan.mode === "port-env" ? settings.sidecar.appPort : plan.serving.number;
}

/**
 * The iptables init container's script: redirect inbound TCP for the app's port to the sidecar.
 * Only PREROUTING is touched, so the sidecar's own connection to 127.0.0.1:<app port> (which goes
 * through OUTPUT) reaches the app instead of looping. Idempotent: it may run again on a restart.
 */
export function iptablesScript(appPortNumber: number, sidecarPort: number): string {
  const rules = (tool: string) =>
    [
      `${tool} -t nat -N PODGATE_INBOUND 2>/dev/null || ${tool} -t nat -F PODGATE_INBOUND`,
      `${tool} -t nat -A PODGATE_INBOUND -p tcp --dport ${appPortNumber} -j REDIRECT --to-ports ${sidecarPort}`,
      `${tool} -t nat -C PREROUTING -p tcp -j PODGATE_INBOUND 2>/dev/null || ${tool} -t nat -A PREROUTING -p tcp -j PODGATE_INBOUND`,
    ].join("\n");
  return [
    "set -eu",
    rules("iptables"),
    "if command -v ip6tables >/dev/null 2>&1 && ip6tables -t nat -S >/dev/null 2>&1; then",
    rules("ip6tables"),
    "fi",
    "",
  ].join("\n");
}
