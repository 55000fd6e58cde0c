/**
 * With helm 3 and helm 4: `helm lint --strict` passes and `helm template` renders objects that are
 * valid Kubernetes objects, for the default values and every example values file.
 */
import { describe, expect, it } from "vitest";
import { CHART_DIR, HELM_MAJORS, type KubeObject, render, runHelm, valuesCases } from "./helm.ts";
import { objectName, objectProblems } from "./kube-objects.ts";
import { unknownFields } from "./unknown-fields.ts";

const CLUSTER_SCOPED = new Set([
  "ClusterRole",
  "ClusterRoleBinding",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
]);

describe.each(HELM_MAJORS)("helm %s", (major) => {
  describe.each(valuesCases())("$name", ({ file }) => {
    const values = file === undefined ? [] : ["--values", file];

    it("passes helm lint --strict", async () => {
      const result = await runHelm(major, ["lint", "--strict", CHART_DIR, ...values]);
      expect(result.stderr + result.stdout).toContain("0 chart(s) failed");
      expect(result.code).toBe(0);
    });

    it("renders only objects that validate against the Kubernetes schemas, without unknown fields", async () => {
      const objects = await render(major, { valuesFile: file });
      expect(objects.length).toBeGreaterThan(5);
      const problems = Object.fromEntries(objects.map((o) => [objectName(o), objectProblems(o)]));
      expect(Object.values(problems).flat(), JSON.stringify(problems, null, 2)).toEqual([]);
    });

    it("renders each object once, namespaced objects with a namespace and the release labels", async () => {
      const objects = await render(major, { valuesFile: file });
      const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const object of objects) {
        expect(object.metadata.namespace === undefined, objectName(object)).toBe(
          CLUSTER_SCOPED.has(object.kind),
        );
        expect(object.metadata.labels?.["app.kubernetes.io/instance"]).toBe("podgate");
        expect(object.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
      }
    });
  });
});

describe("the object checks themselves", () => {
  const deployment = (securityContext: Record<string, unknown>): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x", namespace: "y" },
    spec: {
      selector: { matchLabels: { a: "b" } },
      template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", securityContext }] } },
    },
  });

  it("accepts a valid object", () => {
    expect(objectProblems(deployment({ readOnlyRootFilesystem: true }))).toEqual([]);
  });

  it("reports a misspelt field that the OpenAPI schema alone lets through", () => {
    expect(objectProblems(deployment({ readOnlyRootFileSystem: true }))).toEqual([
      "unknown field .spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem",
    ]);
  });

  it("reports a wrong type", () => {
    expect(objectProblems(deployment({ runAsUser: "65532" })).join("\n")).toMatch(
      /runAsUser must be integer/,
    );
  });

  it("walks maps and arrays of typed values", () => {
    const value = { data: { a: "1" }, metadata: { labels: { x: "y" }, ownerReferences: [{ nope: 1 }] } };
    expect(unknownFields(value, "V1ConfigMap")).toEqual([".metadata.ownerReferences[0].nope"]);
  });

  it("refuses a kind it has no schema for", () => {
    const object = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } } as KubeObject;
    expect(objectProblems(object)).toEqual(["v1 Pod: no schema to check it against"]);
  });

  it("checks cert-manager objects against their subset schema", () => {
    const certificate: KubeObject = {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: "c", namespace: "n" },
      spec: { secretName: "s", issuerRef: { name: "i" }, dnsName: ["x"] },
    };
    expect(objectProblems(certificate).join("\n")).toMatch(/must NOT have additional properties.*dnsName/);
  });
});
