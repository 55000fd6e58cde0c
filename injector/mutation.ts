/** Builds the injected pod and its RFC 6902 patch from a capture plan and a compiled config. */
import type { V1Container, V1ContainerPort, V1EnvVar, V1Pod, V1Volume } from "@kubernetes/client-node";
import { INJECTED_LABEL, STATUS_ANNOTATION } from "./annotations.ts";
import type { CaptureProblem } from "./capture.ts";
import { type CapturePlan, iptablesScript } from "./capture.ts";
import type { SidecarOptions } from "./container.ts";
import { ADMIN_PORT_NAME, captureContainer, sidecarContainer } from "./container.ts";
import { allContainers } from "./gate.ts";
import { PatchBuilder } from "./patch.ts";
import { rewriteProbes } from "./probes.ts";
import type { ClusterSettings } from "./settings.ts";

const DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container";
/** The conventional Prometheus scrape annotations (kubernetes-pods job in the Prometheus examples). */
const SCRAPE = "prometheus.io/scrape";
const SCRAPE_PORT = "prometheus.io/port";
const SCRAPE_PATH = "prometheus.io/path";

/** The ports the sidecar will own, checked against every other container's ports and names. */
export function portConflict(
  pod: V1Pod,
  plan: CapturePlan,
  settings: ClusterSettings,
): CaptureProblem | undefined {
  const { dataPort, adminPort, appPort } = settings.sidecar;
  const numbers =
    plan.mode === "port-env" ? [plan.serving.number, adminPort, appPort] : [dataPort, adminPort];
  const containers = pod.spec?.containers ?? [];
  const serving = containers[plan.serving.containerIndex]?.ports?.[plan.serving.portIndex ?? -1];
  for (const container of allContainers(pod)) {
    for (const port of container.ports ?? []) {
      if (port === serving) continue;
      if (numbers.includes(port.containerPort) || port.name === ADMIN_PORT_NAME) {
        return {
          reason: "port_conflict",
          message: `container ${container.name} declares port ${port.name ?? port.containerPort}, which podgate's sidecar needs`,
        };
      }
    }
  }
  return undefined;
}

/** The sidecar's data port entry: the original port (port-env) or the data port, named like the app's port where that routes traffic. */
export function sidecarDataPort(plan: CapturePlan, settings: ClusterSettings): V1ContainerPort {
  const port: V1ContainerPort = {
    containerPort: plan.mode === "port-env" ? plan.serving.number : settings.sidecar.dataPort,
  };
  if (plan.mode !== "iptables" && plan.serving.name !== undefined)
    return { name: plan.serving.name, ...port };
  return port;
}

function withPortVariable(env: V1EnvVar[] | undefined, name: string, port: number): V1EnvVar[] {
  const value: V1EnvVar = { name, value: String(port) };
  const list = env ?? [];
  return list.some((entry) => entry.name === name)
    ? list.map((entry) => (entry.name === name ? value : entry))
    : [...list, value];
}

/** The app container after capture: moved to the internal port (port-env) or without its port's name (named-port). */
export function appContainerAfter(container: V1Container, plan: CapturePlan, appPort: number): V1Container {
  const next: V1Container = { ...container };
  const index = plan.serving.portIndex;
  if (plan.mode === "port-env") next.env = withPortVariable(container.env, plan.envName, appPort);
  if (plan.mode !== "iptables" && index !== undefined && container.ports !== undefined) {
    next.ports = container.ports.map((port, i) => {
      if (i !== index) return port;
      const { name: _name, ...rest } = port;
      return plan.mode === "port-env" ? { ...rest, containerPort: appPort } : rest;
    });
  }
  return rewriteProbes(next, plan, appPort);
}

/** Everything the mutation needs. */
export interface MutationOptions {
  pod: V1Pod;
  plan: CapturePlan;
  appPort: number;
  sidecar: SidecarOptions;
  /** Secret volumes the sidecar mounts, appended to the pod's volumes. */
  volumes: V1Volume[];
  status: string;
  /** The admin port that serves GET /metrics, or undefined when the sidecar's metrics are off. */
  metricsPort: number | undefined;
}

/**
 * Points Prometheus at the sidecar's GET /metrics, unless the pod already has its own scrape config
 * (an app's prometheus.io/scrape wins; we add nothing rather than half-override it). The keys contain
 * `/`, which the patch escapes as `~1` (RFC 6901).
 */
function addScrapeAnnotations(builder: PatchBuilder<V1Pod>, port: number | undefined): void {
  if (port === undefined || builder.document.metadata?.annotations?.[SCRAPE] !== undefined) return;
  builder.setEntry(["metadata", "annotations"], SCRAPE, "true");
  builder.setEntry(["metadata", "annotations"], SCRAPE_PORT, String(port));
  builder.setEntry(["metadata", "annotations"], SCRAPE_PATH, "/metrics");
}

/** Applies the injection to a copy of the pod, recording the RFC 6902 patch as it goes. */
export function mutatePod(options: MutationOptions): {
  pod: V1Pod;
  patch: PatchBuilder<V1Pod>["operations"];
  sidecar: V1Container;
} {
  const { pod, plan, appPort } = options;
  const settings = options.sidecar.settings;
  const builder = new PatchBuilder(pod);
  const index = plan.serving.containerIndex;
  const app = pod.spec?.containers[index];
  if (app === undefined) throw new Error(`no container at index ${index}`);
  const after = appContainerAfter(app, plan, appPort);
  builder.diff(["spec", "containers", String(index)], { ...app }, { ...after });
  const sidecar = sidecarContainer(options.sidecar);
  const native = options.sidecar.native;
  builder.insert(["spec", native ? "initContainers" : "containers"], 0, sidecar);
  for (const volume of options.volumes) builder.append(["spec", "volumes"], volume);
  if (plan.mode === "iptables") {
    const script = iptablesScript(plan.serving.number, settings.sidecar.dataPort);
    builder.insert(["spec", "initContainers"], 0, captureContainer(settings, script));
  }
  if (pod.metadata === undefined) builder.set(["metadata"], {});
  builder.setEntry(["metadata", "labels"], INJECTED_LABEL, "true");
  builder.setEntry(["metadata", "annotations"], STATUS_ANNOTATION, options.status);
  if (!native && pod.metadata?.annotations?.[DEFAULT_CONTAINER] === undefined) {
    builder.setEntry(["metadata", "annotations"], DEFAULT_CONTAINER, app.name);
  }
  addScrapeAnnotations(builder, options.metricsPort);
  return { pod: builder.document, patch: builder.operations, sidecar };
}
