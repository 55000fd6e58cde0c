/**
 * `podgate check` against a fake API server: a local HTTP server that answers like the Kubernetes
 * API server for the lists and reads the checks make, with a kubeconfig file pointing at it. Each
 * test starts from a healthy installation and breaks one thing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../cli/check.ts";
import { VERSION } from "../../cli/version.ts";
import { injectPod } from "../../injector/index.ts";
import { parseSettings } from "../../injector/settings.ts";
import { type CertificateMaterial, renewMaterial, secretData } from "../../webhooks/certificate-secret.ts";
import { serviceDnsNames } from "../../webhooks/pki.ts";
import { type FakeKubeApi, startFakeKubeApi } from "../helpers/fake-kube-api.ts";
import { memoryIo } from "./io.ts";

const SYSTEM = "podgate-system";
const ADMISSION = "/apis/admissionregistration.k8s.io/v1";
const DAY_MS = 86_400_000;

let api: FakeKubeApi;
let dir: string;
let savedKubeconfig: string | undefined;

function webhookConfiguration(kind: "mutate" | "validate", caBundle: string) {
  const entry = (name: string, key: string) => ({
    name,
    failurePolicy: key === "podgate.io/zone" ? "Fail" : "Ignore",
    namespaceSelector: { matchExpressions: [{ key, operator: "Exists" }] },
    clientConfig: { service: { namespace: SYSTEM, name: "podgate-webhook", path: `/${kind}` }, caBundle },
  });
  return {
    metadata: { name: "podgate" },
    webhooks: [
      entry(`${kind}.podgate.io`, "podgate.io/inject"),
      entry(`${kind}-zone.podgate.io`, "podgate.io/zone"),
    ],
  };
}

function webPod(
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Pod {
  return {
    metadata: { name, labels: { app: "web", ...extra.labels }, annotations: { ...extra.annotations } },
    spec: {
      containers: [{ name: "app", image: "example/web:1", ports: [{ name: "http", containerPort: 8080 }] }],
    },
    status: { phase: "Running" },
  };
}

function injected(pod: V1Pod, namespace: string, version = VERSION): V1Pod {
  const context = {
    settings: parseSettings({}),
    namespace: { name: namespace, labels: { "podgate.io/inject": "enabled" } },
  };
  return injectPod(pod, { ...context, nativeSidecars: true, injectorVersion: version }).pod;
}

function seedWebhook(material: CertificateMaterial): void {
  const bundle = Buffer.from(material.ca.cert).toString("base64");
  api.seed(`${ADMISSION}/mutatingwebhookconfigurations`, webhookConfiguration("mutate", bundle));
  api.seed(`${ADMISSION}/validatingwebhookconfigurations`, webhookConfiguration("validate", bundle));
  api.seed(`/api/v1/namespaces/${SYSTEM}/services`, {
    metadata: { name: "podgate-webhook" },
    spec: { ports: [{ port: 443 }] },
  });
  const endpoint = {
    addresses: ["10.0.0.1"],
    conditions: { ready: true },
    targetRef: { kind: "Pod", name: "podgate-webhook-0" },
  };
  api.seed(`/apis/discovery.k8s.io/v1/namespaces/${SYSTEM}/endpointslices`, {
    metadata: { name: "podgate-webhook-x1", labels: { "kubernetes.io/service-name": "podgate-webhook" } },
    addressType: "IPv4",
    endpoints: [endpoint],
  });
  const args = [
    "webhook",
    "--tls-cert",
    "/etc/podgate/tls/tls.crt",
    "--manage-certificates",
    "--certificate-secret",
    "podgate-tls",
  ];
  api.seed(`/api/v1/namespaces/${SYSTEM}/pods`, {
    metadata: { name: "podgate-webhook-0" },
    spec: { containers: [{ name: "webhook", image: "podgate", args }] },
  });
  api.seed(`/api/v1/namespaces/${SYSTEM}/secrets`, {
    metadata: { name: "podgate-tls" },
    data: secretData(material),
  });
}

async function healthyCluster(now = new Date()): Promise<CertificateMaterial> {
  const material = await renewMaterial("create", undefined, {
    dnsNames: serviceDnsNames("podgate-webhook", SYSTEM),
    now,
  });
  seedWebhook(material);
  api.seed("/api/v1/namespaces", { metadata: { name: "shop", labels: { "podgate.io/inject": "enabled" } } });
  api.seed("/api/v1/namespaces/shop/pods", injected(webPod("web-1"), "shop"));
  api.seed(
    "/api/v1/namespaces/shop/pods",
    webPod("batch-1", { annotations: { "podgate.io/inject": "false" } }),
  );
  api.seed("/api/v1/namespaces/shop/services", {
    metadata: { name: "web" },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
  });
  return material;
}

async function check(argv: string[] = []): Promise<{ code: number; lines: string[] }> {
  const io = memoryIo();
  const code = await main(argv, io);
  return { code, lines: io.out.trimEnd().split("\n").slice(1) };
}

beforeEach(async () => {
  api = await startFakeKubeApi();
  dir = mkdtempSync(join(tmpdir(), "podgate-check-"));
  api.writeKubeconfig(join(dir, "kubeconfig"));
  savedKubeconfig = process.env.KUBECONFIG;
  process.env.KUBECONFIG = join(dir, "kubeconfig");
});
afterEach(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("podgate check against a fake API server", () => {
  it("passes a healthy installation with exit code 0", async () => {
    await healthyCluster();
    const { code, lines } = await check();
    expect(lines).toEqual([
      "PASS mutating webhook configuration: podgate: 2 webhooks, failurePolicy Ignore/Fail",
      "PASS validating webhook configuration: podgate: 2 webhooks, failurePolicy Ignore/Fail",
      `PASS webhook Service ${SYSTEM}/podgate-webhook: 1 ready endpoints`,
      expect.stringMatching(
        /^PASS caBundle of mutating podgate: verifies the serving certificate for podgate-webhook\.podgate-system\.svc; the chain expires on \d{4}-\d\d-\d\d$/,
      ),
      expect.stringMatching(/^PASS caBundle of validating podgate: verifies/),
      "PASS labelled namespaces: shop",
      `PASS pods in shop: 1 of 2 run podgate ${VERSION}, 1 not injected by design (opt-out, hostNetwork)`,
      "PASS services in shop: 1 reach the gateway or select no injected pod",
      "summary: 8 pass, 0 warn, 0 fail",
    ]);
    expect(code).toBe(0);
  });

  it("fails when the validating webhook configuration is missing", async () => {
    await healthyCluster();
    const { code, lines } = await check(["--validating-webhook", "podgate-validate"]);
    expect(lines).toContain(
      "FAIL validating webhook configuration: not found (podgate-validate); is the chart installed?",
    );
    expect(code).toBe(1);
  });

  it("fails when the webhook Service has no ready endpoints", async () => {
    await healthyCluster();
    api.seed(`/apis/discovery.k8s.io/v1/namespaces/${SYSTEM}/endpointslices`, {
      metadata: { name: "podgate-webhook-x1", labels: { "kubernetes.io/service-name": "podgate-webhook" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: false } }],
    });
    const { code, lines } = await check();
    expect(lines).toContainEqual(
      expect.stringMatching(/^FAIL webhook Service podgate-system\/podgate-webhook: no ready endpoints/),
    );
    expect(code).toBe(1);
  });

  it("fails when the caBundle does not verify the serving certificate in the Secret", async () => {
    await healthyCluster();
    const other = await renewMaterial("create", undefined, {
      dnsNames: serviceDnsNames("podgate-webhook", SYSTEM),
      now: new Date(),
    });
    api.seed(`/api/v1/namespaces/${SYSTEM}/secrets`, {
      metadata: { name: "podgate-tls" },
      data: secretData(other),
    });
    const { code, lines } = await check();
    expect(lines).toContain(
      "FAIL caBundle of mutating podgate: entry mutate.podgate.io does not trust the serving certificate",
    );
    expect(code).toBe(1);
  });

  it("warns when the serving certificate expires within 30 days", async () => {
    await healthyCluster(new Date(Date.now() - 70 * DAY_MS));
    const { code, lines } = await check();
    expect(lines).toContainEqual(
      expect.stringMatching(/^WARN caBundle of mutating podgate: .*, within 30 days$/),
    );
    expect(code).toBe(0);
  });

  it("warns about a pod without the sidecar in a plain namespace", async () => {
    await healthyCluster();
    api.seed("/api/v1/namespaces/shop/pods", webPod("web-early"));
    const { code, lines } = await check();
    expect(lines).toContain(
      "WARN pods in shop: 1 of 3 without the sidecar: web-early; restart their workloads: kubectl rollout restart deployment -n shop",
    );
    expect(code).toBe(0);
  });

  it("fails for a pod without the sidecar in a zone namespace", async () => {
    await healthyCluster();
    api.seed("/api/v1/namespaces", {
      metadata: { name: "pay", labels: { "podgate.io/inject": "enabled", "podgate.io/zone": "pci" } },
    });
    api.seed("/api/v1/namespaces/pay/pods", webPod("card-1"));
    const { code, lines } = await check();
    expect(lines).toContain("PASS labelled namespaces: shop, pay (zone pci)");
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^FAIL pods in pay: 1 of 1 without the sidecar: card-1; zone pci requires the gateway;/,
      ),
    );
    expect(code).toBe(1);
  });

  it("warns about a pod running an older sidecar version", async () => {
    await healthyCluster();
    api.seed("/api/v1/namespaces/shop/pods", injected(webPod("web-old"), "shop", "0.0.9"));
    const { code, lines } = await check();
    expect(lines).toContainEqual(
      `WARN pods in shop: 1 run an older sidecar than this CLI (${VERSION}): web-old (0.0.9); restart their workloads: kubectl rollout restart deployment -n shop`,
    );
    expect(code).toBe(0);
  });

  it("fails for a Service whose numeric targetPort bypasses the gateway", async () => {
    await healthyCluster();
    api.seed("/api/v1/namespaces/shop/services", {
      metadata: { name: "web-direct" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const { code, lines } = await check();
    expect(lines).toContain(
      "FAIL services in shop: the gateway's policies do not apply to web-direct port 80 has numeric targetPort 8080, which reaches container app directly; use targetPort http",
    );
    expect(code).toBe(1);
  });

  it("reports an unreachable API server as failed checks", async () => {
    await api.close();
    const { code, lines } = await check();
    expect(lines[0]).toMatch(/^FAIL mutating webhook configuration: /);
    expect(lines.at(-1)).toMatch(/^summary: 0 pass, 0 warn, [1-9]\d* fail$/);
    expect(code).toBe(1);
    api = await startFakeKubeApi();
  });

  it("fails when the kubeconfig cannot be read", async () => {
    process.env.KUBECONFIG = join(dir, "missing-kubeconfig");
    const io = memoryIo();
    expect(await main([], io)).toBe(1);
    expect(io.out).toMatch(/^FAIL kubeconfig: ENOENT/);
  });

  it("refuses unknown options with exit code 2", async () => {
    const io = memoryIo();
    expect(await main(["--bogus"], io)).toBe(2);
    expect(io.err).toMatch(/^podgate check: Unknown option '--bogus'/);
  });
});
