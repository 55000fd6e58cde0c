/**
 * The rendered MutatingWebhookConfiguration and ValidatingWebhookConfiguration, read as objects: which
 * namespaces each entry selects (evaluated like the API server evaluates a label selector), the
 * failure policies, timeouts, rules and TLS wiring.
 */
import { describe, expect, it } from "vitest";
import { HELM_MAJORS, type KubeObject, only, RELEASE, render, valuesCases } from "./helm.ts";

interface Requirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

interface Webhook {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  timeoutSeconds: number;
  matchPolicy: string;
  reinvocationPolicy?: string;
  namespaceSelector: { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] };
  clientConfig: {
    caBundle?: string;
    service: { name: string; namespace: string; path: string; port: number };
  };
  rules: {
    apiGroups: string[];
    apiVersions: string[];
    operations: string[];
    resources: string[];
    scope: string;
  }[];
}

const KINDS = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] as const;

function webhooks(objects: KubeObject[], kind: string): Webhook[] {
  return only(objects, kind).webhooks as Webhook[];
}

/** Whether a namespace with these labels matches a selector (labels.Selector semantics). */
function selects(selector: Webhook["namespaceSelector"], labels: Record<string, string>): boolean {
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const expressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const value = labels[key];
    if (operator === "Exists") return value !== undefined;
    if (operator === "DoesNotExist") return value === undefined;
    if (operator === "In") return value !== undefined && values.includes(value);
    return value === undefined || !values.includes(value);
  });
  return pairs && expressions;
}

/** A namespace as the API server labels it: kubernetes.io/metadata.name is always its name. */
const namespace = (name: string, labels: Record<string, string> = {}) => ({
  "kubernetes.io/metadata.name": name,
  ...labels,
});

const ENABLED = { "podgate.io/inject": "enabled" };
const PCI = { ...ENABLED, "podgate.io/zone": "pci" };

/** Namespace → the entries (general, zone) that must select it, with the default values. */
const SELECTION: [string, Record<string, string>, string[]][] = [
  ["shop", namespace("shop", ENABLED), ["general"]],
  ["payments", namespace("payments", PCI), ["zone"]],
  ["unlabelled", namespace("unlabelled"), []],
  ["disabled", namespace("disabled", { "podgate.io/inject": "disabled" }), []],
  ["kube-system", namespace("kube-system", PCI), []],
  ["kube-public", namespace("kube-public", ENABLED), []],
  ["kube-node-lease", namespace("kube-node-lease", ENABLED), []],
  ["the release namespace", namespace(RELEASE.namespace, PCI), []],
];

const entryKind = (webhook: Webhook) => (webhook.name.includes("-zones.") ? "zone" : "general");

describe.each(HELM_MAJORS)("helm %s", (major) => {
  describe.each(valuesCases())("$name", ({ file }) => {
    it.each(KINDS)(
      "%s: every entry has sideEffects None, admission v1, Equivalent and a timeout of 3 s or less",
      async (kind) => {
        const entries = webhooks(await render(major, { valuesFile: file }), kind);
        expect(entries.map(entryKind)).toEqual(["general", "zone"]);
        for (const webhook of entries) {
          expect(webhook.sideEffects).toBe("None");
          expect(webhook.admissionReviewVersions).toEqual(["v1"]);
          expect(webhook.matchPolicy).toBe("Equivalent");
          expect(webhook.timeoutSeconds).toBeGreaterThanOrEqual(1);
          expect(webhook.timeoutSeconds).toBeLessThanOrEqual(3);
          expect(webhook.reinvocationPolicy).toBe(
            kind === "MutatingWebhookConfiguration" ? "IfNeeded" : undefined,
          );
        }
      },
    );

    it.each(KINDS)(
      "%s: the zone entry fails closed and no namespace is sent to both entries",
      async (kind) => {
        const entries = webhooks(await render(major, { valuesFile: file }), kind);
        const zone = entries.find((w) => entryKind(w) === "zone");
        expect(zone?.failurePolicy).toBe("Fail");
        for (const [, labels] of SELECTION) {
          expect(entries.filter((w) => selects(w.namespaceSelector, labels)).length).toBeLessThanOrEqual(1);
        }
      },
    );

    it.each(KINDS)(
      "%s: never selects kube-system, kube-public, kube-node-lease or the release namespace",
      async (kind) => {
        for (const webhook of webhooks(await render(major, { valuesFile: file }), kind)) {
          const names = webhook.namespaceSelector.matchExpressions?.find(
            (r) => r.key === "kubernetes.io/metadata.name" && r.operator === "NotIn",
          );
          expect(names?.values).toEqual(
            expect.arrayContaining(["kube-system", "kube-public", "kube-node-lease", RELEASE.namespace]),
          );
        }
      },
    );
  });

  it.each(KINDS)("%s selects the namespaces it should with the default values", async (kind) => {
    const entries = webhooks(await render(major), kind);
    for (const [name, labels, expected] of SELECTION) {
      const selected = entries.filter((w) => selects(w.namespaceSelector, labels)).map(entryKind);
      expect(selected, name).toEqual(expected);
    }
  });

  it.each(["Ignore", "Fail"])(
    "failurePolicy: %s applies to the general entries only; zone entries stay Fail",
    async (policy) => {
      const objects = await render(major, { set: [`webhook.failurePolicy=${policy}`] });
      for (const kind of KINDS) {
        const policies = webhooks(objects, kind).map((w) => [entryKind(w), w.failurePolicy]);
        expect(policies).toEqual([
          ["general", policy],
          ["zone", "Fail"],
        ]);
      }
    },
  );

  it("timeoutSeconds comes from the values", async () => {
    const objects = await render(major, { set: ["webhook.timeoutSeconds=1"] });
    for (const kind of KINDS) expect(webhooks(objects, kind).map((w) => w.timeoutSeconds)).toEqual([1, 1]);
  });

  it("allowPodOptIn sends every namespace but the excluded ones, still split by zone", async () => {
    const objects = await render(major, { set: ["settings.allowPodOptIn=true"] });
    const entries = webhooks(objects, "MutatingWebhookConfiguration");
    const pick = (labels: Record<string, string>) =>
      entries.filter((w) => selects(w.namespaceSelector, labels)).map(entryKind);
    expect(pick(namespace("plain"))).toEqual(["general"]);
    expect(pick(namespace("payments", { "podgate.io/zone": "pci" }))).toEqual(["zone"]);
    expect(pick(namespace("kube-system"))).toEqual([]);
  });

  it("the mutating webhook takes pod CREATE; the validating one pods and their controllers on CREATE and UPDATE", async () => {
    const objects = await render(major);
    const rules = (kind: string) =>
      webhooks(objects, kind).map((w) =>
        w.rules.flatMap((r) =>
          r.resources.map(
            (res) =>
              `${r.apiGroups.join()}/${r.apiVersions.join()}/${res}:${r.operations.join("+")}:${r.scope}`,
          ),
        ),
      );
    const pods = "/v1/pods:CREATE:Namespaced";
    expect(rules("MutatingWebhookConfiguration")).toEqual([[pods], [pods]]);
    const validated = [
      "/v1/pods",
      ...["deployments", "statefulsets", "daemonsets", "replicasets"].map((r) => `apps/v1/${r}`),
      ...["jobs", "cronjobs"].map((r) => `batch/v1/${r}`),
    ].map((r) => `${r}:CREATE+UPDATE:Namespaced`);
    expect(rules("ValidatingWebhookConfiguration")).toEqual([validated, validated]);
  });

  it.each([
    ["self-managed", [], undefined],
    ["cert-manager", ["certManager.enabled=true"], `${RELEASE.namespace}/podgate-tls`],
  ])(
    "%s TLS: calls the Service over /mutate and /validate, leaves the caBundle out of the manifest",
    async (_mode, set, injectFrom) => {
      const objects = await render(major, { set });
      const service = only(objects, "Service");
      for (const kind of KINDS) {
        const configuration = only(objects, kind);
        expect(configuration.metadata.annotations?.["cert-manager.io/inject-ca-from"]).toBe(injectFrom);
        for (const webhook of webhooks(objects, kind)) {
          expect(webhook.clientConfig.caBundle).toBeUndefined();
          expect(webhook.clientConfig.service).toEqual({
            name: service.metadata.name,
            namespace: RELEASE.namespace,
            path: kind.startsWith("Mutating") ? "/mutate" : "/validate",
            port: 443,
          });
        }
      }
      if (injectFrom !== undefined) {
        const certificate = only(objects, "Certificate", "podgate-tls");
        expect(`${certificate.metadata.namespace}/${certificate.metadata.name}`).toBe(injectFrom);
      }
    },
  );
});
