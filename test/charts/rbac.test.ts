/**
 * Least privilege: every permission the chart grants, flattened to one line per
 * scope/apiGroup/resource/verb/name, equals an explicit allowlist of what the webhook calls.
 * Nothing for `podgate check` (pods, services, endpoints): that runs with the operator's kubeconfig.
 */
import type { V1PolicyRule, V1RoleBinding } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { HELM_MAJORS, type KubeObject, only, RELEASE, render, valuesCases } from "./helm.ts";

/** Always: the webhook reads the labels of each review's namespace (webhooks/namespaces.ts). */
const NAMESPACES = ["cluster /namespaces get *", "cluster /namespaces list *", "cluster /namespaces watch *"];

/** Self-managed TLS: its own Secret, and the caBundle of its own two webhook configurations. */
const SELF_MANAGED = [
  "cluster admissionregistration.k8s.io/mutatingwebhookconfigurations get podgate",
  "cluster admissionregistration.k8s.io/mutatingwebhookconfigurations patch podgate",
  "cluster admissionregistration.k8s.io/validatingwebhookconfigurations get podgate",
  "cluster admissionregistration.k8s.io/validatingwebhookconfigurations patch podgate",
  `${RELEASE.namespace} /secrets create *`,
  `${RELEASE.namespace} /secrets get podgate-tls`,
  `${RELEASE.namespace} /secrets update podgate-tls`,
];

/** One line per permission: scope apiGroup/resource verb resourceName (`*` when not limited by name). */
function grants(objects: KubeObject[]): string[] {
  const lines = objects
    .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
    .flatMap((role) => {
      const scope = role.kind === "Role" ? (role.metadata.namespace ?? "?") : "cluster";
      return ((role.rules ?? []) as V1PolicyRule[]).flatMap((rule) =>
        (rule.apiGroups ?? []).flatMap((group) =>
          (rule.resources ?? []).flatMap((resource) =>
            rule.verbs.flatMap((verb) =>
              (rule.resourceNames ?? ["*"]).map((name) => `${scope} ${group}/${resource} ${verb} ${name}`),
            ),
          ),
        ),
      );
    });
  return lines.sort();
}

describe.each(HELM_MAJORS)("helm %s", (major) => {
  describe.each(valuesCases())("$name", ({ file }) => {
    it("grants exactly the allowlist, with no wildcards and no non-resource URLs", async () => {
      const objects = await render(major, { valuesFile: file });
      const certManager = objects.some((o) => o.kind === "Certificate");
      const expected = certManager ? NAMESPACES : [...NAMESPACES, ...SELF_MANAGED];
      expect(grants(objects)).toEqual([...expected].sort());
      const rules = objects.flatMap((o) => (o.rules ?? []) as V1PolicyRule[]);
      for (const rule of rules) {
        expect(rule.nonResourceURLs).toBeUndefined();
        expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]).not.toContain("*");
      }
    });

    it("binds each role to the webhook's ServiceAccount only, and nothing else is bound", async () => {
      const objects = await render(major, { valuesFile: file });
      const serviceAccount = only(objects, "ServiceAccount");
      const deployment = only(objects, "Deployment") as {
        spec?: { template?: { spec?: { serviceAccountName?: string } } };
      };
      expect(deployment.spec?.template?.spec?.serviceAccountName).toBe(serviceAccount.metadata.name);
      const roles = objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");
      const bindings = objects.filter((o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding");
      expect(bindings.length).toBe(roles.length);
      for (const binding of bindings as unknown as (V1RoleBinding & KubeObject)[]) {
        expect(binding.subjects).toEqual([
          { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: RELEASE.namespace },
        ]);
        const kind = binding.kind === "RoleBinding" ? "Role" : "ClusterRole";
        expect(binding.roleRef).toEqual({
          apiGroup: "rbac.authorization.k8s.io",
          kind,
          name: binding.metadata.name,
        });
        expect(roles.some((r) => r.kind === kind && r.metadata.name === binding.roleRef.name)).toBe(true);
      }
    });
  });

  it("with cert-manager the webhook may not touch Secrets or webhook configurations", async () => {
    const objects = await render(major, { set: ["certManager.enabled=true"] });
    expect(grants(objects)).toEqual(NAMESPACES);
    expect(objects.filter((o) => o.kind === "Role" || o.kind === "RoleBinding")).toEqual([]);
  });

  it("resource names follow the release name", async () => {
    const objects = await render(major, { release: "edge" });
    expect(grants(objects)).toContain(`${RELEASE.namespace} /secrets get edge-podgate-tls`);
    expect(grants(objects)).toContain(
      "cluster admissionregistration.k8s.io/mutatingwebhookconfigurations patch edge-podgate",
    );
    expect(only(objects, "MutatingWebhookConfiguration").metadata.name).toBe("edge-podgate");
  });
});
