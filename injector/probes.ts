/**
 * HTTP probe rewriting. Kubelet probes that reached the app's port must still reach the app
 * directly after injection (they check the app, not the gateway). exec, tcpSocket and grpc probes
 * are left as they are. https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
 */
import type { V1Container, V1Probe } from "@kubernetes/client-node";
import type { CapturePlan } from "./capture.ts";

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

function targetsServingPort(probe: V1Probe, plan: CapturePlan): boolean {
  const port = probe.httpGet?.port;
  return (
    port !== undefined &&
    (port === plan.serving.number || (plan.serving.name !== undefined && port === plan.serving.name))
  );
}

/**
 * Returns the container with its HTTP probes on the serving port pointed at the app's port number:
 * port-env moves the app to `appPort`; named-port gives the port's name to the sidecar, so a probe by
 * name must switch to the number. iptables leaves them (the port still reaches the app's number,
 * through the gateway).
 */
export function rewriteProbes(container: V1Container, plan: CapturePlan, appPort: number): V1Container {
  if (plan.mode === "iptables") return container;
  const next: V1Container = { ...container };
  for (const key of PROBES) {
    const probe = container[key];
    if (probe?.httpGet === undefined || !targetsServingPort(probe, plan)) continue;
    next[key] = { ...probe, httpGet: { ...probe.httpGet, port: appPort } };
  }
  return next;
}

/** Paths of HTTP probes that will pass through the gateway (iptables capture), for route warnings. */
export function probePathsThroughGateway(container: V1Container, plan: CapturePlan): string[] {
  if (plan.mode !== "iptables") return [];
  return PROBES.flatMap((key) => {
    const probe = container[key];
    return probe?.httpGet !== undefined && targetsServingPort(probe, plan) ? [probe.httpGet.path ?? "/"] : [];
  });
}
