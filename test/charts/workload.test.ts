/**
 * The webhook Deployment, its Service and PodDisruptionBudget, as rendered objects: a restricted
 * security context, the probes and arguments the webhook expects, and selectors that find its pods.
 */
import type { V1Container, V1Deployment, V1PodSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseWebhookOptions } from "../../cli/webhook.ts";
import { HELM_MAJORS, type KubeObject, only, RELEASE, render, valuesCases } from "./helm.ts";

function podOf(objects: KubeObject[]): {
  spec: V1PodSpec;
  labels: Record<string, string>;
  container: V1Container;
} {
  const deployment = only(objects, "Deployment") as unknown as V1Deployment;
  const template = deployment.spec?.template;
  const container = template?.spec?.containers[0];
  if (template?.spec === undefined || container === undefined)
    throw new Error("the Deployment has no pod spec");
  return { spec: template.spec, labels: template.metadata?.labels ?? {}, container };
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

const BASE_ARGS = [
  "webhook",
  "--tls-cert",
  "/etc/podgate/tls/tls.crt",
  "--tls-key",
  "/etc/podgate/tls/tls.key",
  "--port",
  "8443",
  "--settings",
  "/etc/podgate/settings/settings.yaml",
];

describe.each(HELM_MAJORS)("helm %s", (major) => {
  describe.each(valuesCases())("$name", ({ file }) => {
    it("runs non-root with a read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp", async () => {
      const { spec, container } = podOf(await render(major, { valuesFile: file }));
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(spec.hostNetwork ?? false).toBe(false);
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container.securityContext?.capabilities?.add).toBeUndefined();
      expect(container.securityContext?.runAsUser).toBeGreaterThan(0);
    });

    it("has at least two replicas, resources, probes on /healthz and /readyz over HTTPS", async () => {
      const objects = await render(major, { valuesFile: file });
      const deployment = only(objects, "Deployment") as unknown as V1Deployment;
      const { container } = podOf(objects);
      expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(2);
      expect(container.resources?.requests).toHaveProperty("memory");
      expect(container.resources?.limits).toHaveProperty("memory");
      expect(container.livenessProbe?.httpGet).toMatchObject({
        path: "/healthz",
        port: "https",
        scheme: "HTTPS",
      });
      expect(container.readinessProbe?.httpGet).toMatchObject({
        path: "/readyz",
        port: "https",
        scheme: "HTTPS",
      });
      expect(container.ports).toEqual([{ name: "https", containerPort: 8443, protocol: "TCP" }]);
    });

    it("the Service and the PodDisruptionBudget select the webhook's pods", async () => {
      const objects = await render(major, { valuesFile: file });
      const { labels } = podOf(objects);
      const service = only(objects, "Service") as {
        spec?: { selector?: Record<string, string>; ports?: unknown[] };
      };
      expect(matches(service.spec?.selector, labels)).toBe(true);
      expect(service.spec?.ports).toEqual([
        { name: "https", port: 443, targetPort: "https", protocol: "TCP" },
      ]);
      const pdb = only(objects, "PodDisruptionBudget") as {
        spec?: { selector?: { matchLabels?: Record<string, string> } };
      };
      expect(matches(pdb.spec?.selector?.matchLabels, labels)).toBe(true);
    });

    it("mounts the settings and the certificate where its arguments say", async () => {
      const { spec, container } = podOf(await render(major, { valuesFile: file }));
      expect(container.args?.slice(0, BASE_ARGS.length)).toEqual(BASE_ARGS);
      const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
      expect(mounts).toMatchObject({
        "/etc/podgate/settings": "settings",
        "/etc/podgate/tls": "tls",
        "/tmp": "tmp",
      });
      const settings = spec.volumes?.find((v) => v.name === "settings");
      expect(settings?.configMap?.name).toBe("podgate-settings");
    });
  });

  it("self-managed TLS: passes the Secret, both webhook configurations, the Service and the namespace, on a writable in-memory volume", async () => {
    const objects = await render(major);
    const { spec, container } = podOf(objects);
    expect(container.args).toEqual([
      ...BASE_ARGS,
      "--manage-certificates",
      "--certificate-secret",
      "podgate-tls",
      "--mutating-webhook",
      only(objects, "MutatingWebhookConfiguration").metadata.name,
      "--validating-webhook",
      only(objects, "ValidatingWebhookConfiguration").metadata.name,
      "--service",
      only(objects, "Service").metadata.name,
      "--namespace",
      RELEASE.namespace,
    ]);
    expect(parseWebhookOptions(container.args?.slice(1) ?? []).certificates).toEqual({
      secretName: "podgate-tls",
      mutatingWebhook: "podgate",
      validatingWebhook: "podgate",
      service: "podgate",
      namespace: RELEASE.namespace,
    });
    expect(spec.volumes?.find((v) => v.name === "tls")?.emptyDir).toEqual({
      medium: "Memory",
      sizeLimit: "1Mi",
    });
    expect(container.volumeMounts?.find((m) => m.name === "tls")?.readOnly).toBe(false);
  });

  it("cert-manager TLS: mounts the Certificate's Secret read-only and passes only the serving flags", async () => {
    const objects = await render(major, { set: ["certManager.enabled=true"] });
    const { spec, container } = podOf(objects);
    expect(container.args).toEqual(BASE_ARGS);
    expect(parseWebhookOptions(container.args?.slice(1) ?? [])).toEqual({
      certFile: "/etc/podgate/tls/tls.crt",
      keyFile: "/etc/podgate/tls/tls.key",
      port: 8443,
      settings: "/etc/podgate/settings/settings.yaml",
    });
    const secretName = spec.volumes?.find((v) => v.name === "tls")?.secret?.secretName;
    expect(secretName).toBe(
      (only(objects, "Certificate", "podgate-tls").spec as { secretName: string }).secretName,
    );
    expect(container.volumeMounts?.find((m) => m.name === "tls")?.readOnly).toBe(true);
  });

  it("spreads replicas over nodes and zones and sets no PriorityClass by default", async () => {
    const { spec, labels } = podOf(await render(major));
    expect(spec.priorityClassName).toBeUndefined();
    const spread = spec.topologySpreadConstraints ?? [];
    expect(spread.map((c) => c.topologyKey)).toEqual([
      "kubernetes.io/hostname",
      "topology.kubernetes.io/zone",
    ]);
    for (const constraint of spread)
      expect(matches(constraint.labelSelector?.matchLabels, labels)).toBe(true);
  });

  it("the HA example: three replicas, a PriorityClass, hard spread and a PDB keeping two", async () => {
    const file = valuesCases().find((c) => c.name === "examples/self-managed-ha.yaml")?.file;
    const objects = await render(major, { valuesFile: file });
    const { spec } = podOf(objects);
    expect((only(objects, "Deployment") as unknown as V1Deployment).spec?.replicas).toBe(3);
    expect(spec.priorityClassName).toBe("system-cluster-critical");
    expect(spec.topologySpreadConstraints?.map((c) => c.whenUnsatisfiable)).toEqual([
      "DoNotSchedule",
      "DoNotSchedule",
    ]);
    expect((only(objects, "PodDisruptionBudget").spec as { minAvailable: number }).minAvailable).toBe(2);
  });

  it("changing the settings changes the pod template, so the webhook restarts and reads them", async () => {
    const checksum = async (set: string[]) =>
      (only(await render(major, { set }), "Deployment") as unknown as V1Deployment).spec?.template.metadata
        ?.annotations?.["checksum/settings"];
    const before = await checksum([]);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(await checksum(["settings.allowIptables=true"])).not.toBe(before);
  });
});
