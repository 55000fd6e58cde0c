/**
 * podgate end to end on a real cluster (k3s in a container, @testcontainers/k3s): the three images
 * are built and loaded, the chart installed (self-managed certificates), a namespace labelled and a
 * Deployment with a rate limit created. The pod gets the sidecar, a request through its Service gets
 * 429 past the limit, a pod with a bad annotation is refused with the validating message, and a pod
 * without authentication in a pci namespace is refused. `npm run test:e2e`; not part of `npm test`.
 * Where no Docker engine is reachable, it skips and prints why.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig, type V1PodSpec } from "@kubernetes/client-node";
import { K3sContainer, type StartedK3sContainer } from "@testcontainers/k3s";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildImages,
  dockerUnavailable,
  getThroughService,
  IMAGES,
  installChart,
  loadImages,
  refusal,
  waitForReadyPod,
} from "./cluster.ts";

const K3S_IMAGE = "rancher/k3s:v1.31.2-k3s1";
const RATE_LIMIT = 3;

const skipReason = await dockerUnavailable();
if (skipReason !== undefined) console.log(`test/e2e/k3s.test.ts skipped: ${skipReason}`);

/** The app: a plain HTTP server on 8080, run from the sidecar image (already loaded, so nothing is pulled). */
function appSpec(): V1PodSpec {
  const server = 'require("node:http").createServer((q, s) => s.end("hello")).listen(8080)';
  return {
    containers: [
      {
        name: "app",
        image: IMAGES.sidecar.tag,
        imagePullPolicy: "Never",
        command: ["/nodejs/bin/node", "-e", server],
        ports: [{ name: "http", containerPort: 8080 }],
      },
    ],
  };
}

function podBody(name: string, annotations: Record<string, string>) {
  return { metadata: { name, labels: { app: name }, annotations }, spec: appSpec() };
}

describe.skipIf(skipReason !== undefined)("podgate on k3s", () => {
  let k3s: StartedK3sContainer;
  let kubeConfig: KubeConfig;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "podgate-e2e-"));
    await buildImages();
    k3s = await new K3sContainer(K3S_IMAGE).start();
    await loadImages(k3s, dir);
    writeFileSync(join(dir, "kubeconfig"), k3s.getKubeConfig());
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(k3s.getKubeConfig());
    installChart(join(dir, "kubeconfig"));
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const namespace = (name: string, labels: Record<string, string>) =>
      core.createNamespace({
        body: { metadata: { name, labels: { "podgate.io/inject": "enabled", ...labels } } },
      });
    await namespace("shop", {});
    await namespace("pay", { "podgate.io/zone": "pci" });
  });

  afterAll(async () => {
    await k3s?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("injects the sidecar into a Deployment's pod and rate-limits requests through its Service", async () => {
    const annotations = {
      "podgate.io/rate-limit": `${RATE_LIMIT}/m by=global`,
      "podgate.io/routes": "/** GET",
    };
    await kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: "shop",
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" }, annotations }, spec: appSpec() },
        },
      },
    });
    await kubeConfig.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: "shop",
      body: {
        metadata: { name: "web" },
        spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
      },
    });
    const pod = await waitForReadyPod(kubeConfig, "shop", "app=web");
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    expect(containers.map((container) => container.name)).toContain("podgate");
    expect(pod.metadata?.labels?.["podgate.io/injected"]).toBe("true");

    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 3; i++) {
      statuses.push(await getThroughService(kubeConfig, "/api/v1/namespaces/shop/services/web:80/proxy/"));
    }
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(429);
  });

  it("refuses a pod with a bad annotation with the validating message", async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const body = podBody("bad-annotation", { "podgate.io/rate-limit": "banana" });
    const error = await core.createNamespacedPod({ namespace: "shop", body }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeDefined();
    expect(refusal(error)).toMatch(/denied the request/);
    expect(refusal(error)).toMatch(/podgate\.io\/rate-limit/);
  });

  it("refuses a pod without authentication in a pci namespace", async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const body = podBody("no-auth", { "podgate.io/routes": "/** GET" });
    const error = await core.createNamespacedPod({ namespace: "pay", body }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeDefined();
    expect(refusal(error)).toMatch(/zone pci requires authentication/);
  });
});
