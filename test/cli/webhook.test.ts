/**
 * `podgate webhook` as a process: reads its settings, asks a local HTTP server that answers like the
 * API server for /version (nativeSidecars: auto) and for Namespaces, serves HTTPS, and exits 0 on SIGTERM.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWebhookOptions } from "../../cli/webhook.ts";
import { startFakeKubeApi } from "../helpers/fake-kube-api.ts";
import {
  admissionReview,
  createTestPki,
  decodePatch,
  type ReviewBody,
  type TestPki,
  webPod,
} from "../webhooks/fixtures.ts";
import { startWebhookProcess } from "../webhooks/webhook-process.ts";

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

describe("podgate webhook", () => {
  it("serves reviews over HTTPS using a fake API server for /version and namespaces, and stops on SIGTERM", async () => {
    const settings = join(pki.dir, "settings.json");
    writeFileSync(settings, JSON.stringify({ nativeSidecars: "auto" }));
    const webhook = await startWebhookProcess(pki, { shop: { "podgate.io/inject": "enabled" } }, [
      "--settings",
      settings,
    ]);
    const agent = new Agent({ connect: { ca: pki.ca, servername: "localhost" } });
    try {
      const response = await request(`https://127.0.0.1:${webhook.port}/mutate`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(admissionReview(webPod("shop"), { uid: "process-1" })),
      });
      const body = (await response.body.json()) as ReviewBody;
      expect(body.response).toMatchObject({ uid: "process-1", allowed: true });
      // The fake API server says 1.31, so auto chose native sidecars: an init container.
      expect(decodePatch(body.response)).toContainEqual(
        expect.objectContaining({ op: "add", path: "/spec/initContainers" }),
      );
      expect(webhook.api.requests).toEqual(["GET /version", "GET /api/v1/namespaces/shop"]);
    } finally {
      await agent.close();
      expect(await webhook.stop()).toBe(0);
    }
    expect(webhook.logs.filter((line) => line.webhook === "mutate")).toEqual([
      expect.objectContaining({ decision: "injected", uid: "process-1" }),
    ]);
  });

  it("exports its admission metrics over OTLP/HTTP to a real receiver when OTEL_EXPORTER_OTLP_ENDPOINT is set", async () => {
    const exports: { path: string; type: string; body: Buffer }[] = [];
    const arrived = Promise.withResolvers<void>();
    const receiver = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      exports.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body });
      if (body.includes("podgate.admission.reviews")) arrived.resolve();
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/json" }).end();
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const { port } = receiver.address() as AddressInfo;
    const webhook = await startWebhookProcess(pki, { shop: { "podgate.io/inject": "enabled" } }, [], {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_METRIC_EXPORT_INTERVAL: "200",
    });
    const agent = new Agent({ connect: { ca: pki.ca, servername: "localhost" } });
    try {
      const response = await request(`https://127.0.0.1:${webhook.port}/mutate`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(admissionReview(webPod("shop"), { uid: "otlp-1" })),
      });
      await response.body.dump();
      // Bounded, so a missing export fails here and the finally block still stops the process.
      const timeout = setTimeout(() => arrived.reject(new Error("no metrics export within 10 s")), 10_000);
      await arrived.promise.finally(() => clearTimeout(timeout));
      const metricExport = exports.find((entry) => entry.body.includes("podgate.admission.reviews"));
      expect(metricExport?.path).toBe("/v1/metrics");
      expect(metricExport?.body.includes("podgate.admission.duration")).toBe(true);
      expect(metricExport?.body.includes("podgate-webhook")).toBe(true);
    } finally {
      await agent.close();
      expect(await webhook.stop()).toBe(0);
      receiver.close();
    }
  });

  it.each([
    [[], "--tls-cert and --tls-key are required"],
    [["--tls-cert", "c", "--tls-key", "k", "--port", "http"], "--port: expected a port number, got http"],
    [
      ["--tls-cert", "c", "--tls-key", "k", "--manage-certificates", "--service", "s"],
      "--manage-certificates needs --certificate-secret, --mutating-webhook, --validating-webhook, --namespace",
    ],
  ])("rejects options %j", (argv, message) => {
    expect(() => parseWebhookOptions(argv)).toThrow(message);
  });

  it("reads the self-managed certificate flags the chart passes", () => {
    expect(parseWebhookOptions([...MANAGED_ARGS, "--tls-cert", "/c", "--tls-key", "/k"])).toEqual({
      certFile: "/c",
      keyFile: "/k",
      port: 8443,
      certificates: {
        secretName: "podgate-tls",
        mutatingWebhook: "podgate",
        validatingWebhook: "podgate",
        service: "podgate-webhook",
        namespace: "podgate-system",
      },
    });
  });

  it("manages its own certificate with a fake API server: Secret, caBundles, then HTTPS with it", async () => {
    const api = await startFakeKubeApi();
    const dir = mkdtempSync(join(tmpdir(), "podgate-webhook-"));
    const admission = "/apis/admissionregistration.k8s.io/v1";
    for (const kind of ["mutating", "validating"]) {
      const webhooks = [
        {
          name: `${kind}.podgate.io`,
          clientConfig: { service: { namespace: "podgate-system", name: "podgate-webhook" } },
        },
      ];
      api.seed(`${admission}/${kind}webhookconfigurations`, { metadata: { name: "podgate" }, webhooks });
    }
    api.writeKubeconfig(join(dir, "kubeconfig"));
    writeFileSync(join(dir, "settings.json"), JSON.stringify({ nativeSidecars: "always" }));
    const args = ["--tls-cert", join(dir, "tls", "tls.crt"), "--tls-key", join(dir, "tls", "tls.key")];
    const child = spawn(
      process.execPath,
      [CLI, "webhook", ...args, "--port", "0", "--settings", join(dir, "settings.json"), ...MANAGED_ARGS],
      {
        env: { ...process.env, KUBECONFIG: join(dir, "kubeconfig") },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const port = await listeningPort(child.stdout);
      const secret = api.get("/api/v1/namespaces/podgate-system/secrets/podgate-tls") as {
        data: Record<string, string>;
      };
      const ca = Buffer.from(secret.data["ca.crt"] ?? "", "base64").toString("utf8");
      const mutating = api.get(`${admission}/mutatingwebhookconfigurations/podgate`) ?? {};
      const [entry] = mutating.webhooks as Array<{ clientConfig: { caBundle?: string } }>;
      const bundle = entry?.clientConfig.caBundle;
      expect(Buffer.from(bundle ?? "", "base64").toString("utf8")).toBe(ca);
      expect(readFileSync(join(dir, "tls", "tls.crt"), "utf8")).toBe(
        Buffer.from(secret.data["tls.crt"] ?? "", "base64").toString("utf8"),
      );
      const agent = new Agent({ connect: { ca, servername: "podgate-webhook.podgate-system.svc" } });
      const response = await request(`https://127.0.0.1:${port}/readyz`, { dispatcher: agent });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
      await agent.close();
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const CLI = join(import.meta.dirname, "..", "..", "cli", "podgate.ts");
const MANAGED_ARGS = [
  "--manage-certificates",
  "--certificate-secret",
  "podgate-tls",
  "--mutating-webhook",
  "podgate",
  "--validating-webhook",
  "podgate",
  "--service",
  "podgate-webhook",
  "--namespace",
  "podgate-system",
];

function listeningPort(stdout: NodeJS.ReadableStream | null): Promise<number> {
  return new Promise((resolve, reject) => {
    if (stdout === null) return reject(new Error("no stdout"));
    const lines = createInterface({ input: stdout });
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === "podgate webhook listening") resolve(Number(entry.port));
    });
    lines.on("close", () => reject(new Error("podgate webhook exited before listening")));
  });
}
