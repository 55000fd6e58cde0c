/**
 * What the k3s end-to-end test needs around the cluster: build the three images, load them into k3s
 * (no registry), install the chart with the helm that scripts/extract-helm.ts unpacks, and poll the
 * API server until a pod is ready.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { StartedK3sContainer } from "@testcontainers/k3s";
import { GenericContainer, getContainerRuntimeClient } from "testcontainers";
import { extractOne } from "../../scripts/extract-helm.ts";

/** The repository root: the build context of every image. */
export const ROOT = join(import.meta.dirname, "..", "..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** The images, tagged as the chart and the default cluster settings name them. */
export const IMAGES = {
  sidecar: { tag: `ghcr.io/podgate/podgate:${VERSION}`, dockerfile: "images/sidecar.Dockerfile" },
  webhook: { tag: `ghcr.io/podgate/podgate-webhook:${VERSION}`, dockerfile: "images/webhook.Dockerfile" },
  capture: { tag: `ghcr.io/podgate/podgate-capture:${VERSION}`, dockerfile: "images/capture.Dockerfile" },
} as const;

/** Why the test cannot run here, or undefined when a Docker engine answers. */
export async function dockerUnavailable(): Promise<string | undefined> {
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    return `no Docker engine is reachable (${(error as Error).message})`;
  }
}

/** Builds every image with the engine testcontainers found, keeping them after the run. */
export async function buildImages(): Promise<void> {
  for (const { tag, dockerfile } of Object.values(IMAGES)) {
    await GenericContainer.fromDockerfile(ROOT, dockerfile).build(tag, { deleteOnExit: false });
  }
}

/** Saves each image from the engine and imports it into k3s's containerd, so pods never pull. */
export async function loadImages(k3s: StartedK3sContainer, dir: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  for (const [name, { tag }] of Object.entries(IMAGES)) {
    const file = join(dir, `${name}.tar`);
    await pipeline(await client.container.dockerode.getImage(tag).get(), createWriteStream(file));
    await k3s.copyFilesToContainer([{ source: file, target: `/tmp/${name}.tar` }]);
    const result = await k3s.exec(["ctr", "-n", "k8s.io", "images", "import", `/tmp/${name}.tar`]);
    if (result.exitCode !== 0) throw new Error(`cannot import ${tag} into k3s: ${result.output}`);
  }
}

/** `helm install` of charts/podgate into podgate-system, with the images that were loaded (pullPolicy Never). */
export function installChart(kubeconfigFile: string): void {
  const helm = extractOne("v3");
  execFileSync(
    helm,
    [
      "install",
      "podgate",
      join(ROOT, "charts/podgate"),
      "--namespace",
      "podgate-system",
      "--create-namespace",
    ].concat([
      "--kubeconfig",
      kubeconfigFile,
      "--set",
      "image.pullPolicy=Never",
      "--set",
      "settings.sidecar.imagePullPolicy=Never",
      "--wait",
      "--timeout",
      "5m",
    ]),
    { stdio: "inherit" },
  );
}

/** Polls until a pod with these labels is Ready; returns it. */
export async function waitForReadyPod(
  kubeConfig: KubeConfig,
  namespace: string,
  labelSelector: string,
): Promise<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const pods = await core.listNamespacedPod({ namespace, labelSelector });
    const ready = pods.items.find((pod) =>
      pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True"),
    );
    if (ready) return ready;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(`no ready pod ${labelSelector} in ${namespace} within 3 minutes`);
}

/** GET through the API server's Service proxy (the request reaches the Service's targetPort); the status code. */
export async function getThroughService(kubeConfig: KubeConfig, path: string): Promise<number> {
  const server = new URL(kubeConfig.getCurrentCluster()?.server ?? "");
  const options: https.RequestOptions = {
    method: "GET",
    hostname: server.hostname,
    port: server.port,
    path,
  };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    https
      .request(options, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on("error", reject)
      .end();
  });
}

/** The message of a refused create, from the API server's Status body. */
export function refusal(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const text = typeof body === "string" ? body : JSON.stringify(body ?? {});
  return `${(error as Error).message}\n${text}`;
}
