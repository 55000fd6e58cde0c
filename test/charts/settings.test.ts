/**
 * The settings ConfigMap is a settings document the webhook accepts (injector/settings.ts, read as
 * `--settings FILE` reads it), and the zone NetworkPolicy admits injected pods' traffic only on the
 * sidecar's data port.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../cli/settings-file.ts";
import { DEFAULT_SETTINGS } from "../../injector/settings.ts";
import { HELM_MAJORS, type KubeObject, only, RELEASE, render, valuesCases } from "./helm.ts";

const folder = mkdtempSync(join(tmpdir(), "podgate-chart-settings-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Writes the ConfigMap's settings.yaml to a file and loads it as `podgate webhook --settings` does. */
function loadRendered(objects: KubeObject[]) {
  const configMap = only(objects, "ConfigMap", "podgate-settings") as KubeObject & {
    data: Record<string, string>;
  };
  expect(Object.keys(configMap.data)).toEqual(["settings.yaml"]);
  const file = join(folder, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, configMap.data["settings.yaml"] ?? "");
  return loadSettings(file);
}

const example = (name: string) => valuesCases().find((c) => c.name === `examples/${name}`)?.file;

describe.each(HELM_MAJORS)("helm %s", (major) => {
  it.each(valuesCases())("$name: the webhook accepts the settings ConfigMap", async ({ file }) => {
    const settings = loadRendered(await render(major, { valuesFile: file }));
    expect(settings.webhookNamespace).toBe(RELEASE.namespace);
    expect(Object.keys(settings.zones)).toEqual(expect.arrayContaining(["pci", "hipaa"]));
  });

  it("the default values give the injector's defaults, with the chart's sidecar image", async () => {
    const settings = loadRendered(await render(major));
    const { webhookNamespace: _ns, ...rendered } = settings;
    const { webhookNamespace: _default, ...defaults } = DEFAULT_SETTINGS;
    expect(rendered).toEqual(defaults);
  });

  it("strict-zones: a tighter pci floor and a new zone reach the webhook, the built-in hipaa stays", async () => {
    const settings = loadRendered(await render(major, { valuesFile: example("strict-zones.yaml") }));
    expect(settings.zones.pci?.config).toMatchObject({
      limits: { maxBodyBytes: 524_288 },
      policies: { lockout: { maxFailures: 5 } },
    });
    expect(settings.zones.internal).toMatchObject({ tls: "tls", authentication: "optional" });
    expect(settings.zones.hipaa).toEqual(DEFAULT_SETTINGS.zones.hipaa);
    expect(settings.sidecar.image).toBe("registry.example.com/podgate/podgate:0.1.0");
    expect(settings.captureImage).toBe("registry.example.com/podgate/podgate-capture:0.1.0");
    expect(settings.nativeSidecars).toBe("always");
  });

  it("the release namespace and the sidecar's ports follow the values", async () => {
    const objects = await render(major, {
      namespace: "edge",
      set: ["settings.sidecar.dataPort=16080", "settings.captureImage=example.com/iptables:1"],
    });
    const settings = loadRendered(objects);
    expect(settings.webhookNamespace).toBe("edge");
    expect(settings.sidecar.dataPort).toBe(16_080);
    expect(settings.captureImage).toBe("example.com/iptables:1");
  });

  it("makes no NetworkPolicy unless enabled", async () => {
    expect((await render(major)).filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
  });

  it("strict-zones: one NetworkPolicy per zone namespace, ingress to injected pods on the data port only", async () => {
    const objects = await render(major, { valuesFile: example("strict-zones.yaml") });
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    expect(policies.map((p) => p.metadata.namespace)).toEqual(["payments", "patient-records"]);
    for (const policy of policies) {
      expect(policy.spec).toEqual({
        podSelector: { matchLabels: { "podgate.io/injected": "true" } },
        policyTypes: ["Ingress"],
        ingress: [
          {
            ports: [{ protocol: "TCP", port: DEFAULT_SETTINGS.sidecar.dataPort }],
            from: [
              { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
            ],
          },
        ],
      });
    }
  });

  it("the NetworkPolicy follows a changed data port and adds extra ports", async () => {
    const objects = await render(major, {
      set: [
        "networkPolicy.enabled=true",
        "networkPolicy.namespaces={payments}",
        "networkPolicy.extraPorts={8080}",
        "settings.sidecar.dataPort=16080",
      ],
    });
    const policy = only(objects, "NetworkPolicy") as KubeObject & { spec: { ingress: unknown[] } };
    expect(policy.spec.ingress).toEqual([
      {
        ports: [
          { protocol: "TCP", port: 16_080 },
          { protocol: "TCP", port: 8080 },
        ],
      },
    ]);
  });
});
