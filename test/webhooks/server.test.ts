/** The webhook handlers through fastify.inject(): mutate, validate, malformed reviews, health, logging. */
import type { V1Pod } from "@kubernetes/client-node";
import fastJsonPatch from "fast-json-patch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../injector/settings.ts";
import { staticNamespaceLookup } from "../../webhooks/namespaces.ts";
import { createWebhookServer, type WebhookServer } from "../../webhooks/server.ts";
import {
  admissionReview,
  capturingLogger,
  createTestPki,
  decodePatch,
  type ReviewBody,
  type TestPki,
  webPod,
} from "./fixtures.ts";

const NAMESPACES = {
  shop: { "podgate.io/inject": "enabled" },
  payments: { "podgate.io/inject": "enabled", "podgate.io/zone": "pci" },
  plain: {},
};

let pki: TestPki;
let server: WebhookServer;
let lines: Record<string, unknown>[];

beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

function start(): WebhookServer {
  const captured = capturingLogger();
  lines = captured.lines;
  server = createWebhookServer({
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    settings: parseSettings({}),
    nativeSidecars: true,
    injectorVersion: "0.1.0-test",
    namespaces: staticNamespaceLookup(NAMESPACES),
    logger: captured.logger,
  });
  return server;
}

afterEach(async () => {
  await server.close();
});

async function post(path: string, body: unknown) {
  const response = await start().app.inject({ method: "POST", url: path, payload: body as object });
  return { status: response.statusCode, body: response.json() as ReviewBody };
}

function apply(pod: object, response: ReviewBody["response"]): V1Pod {
  const patch = decodePatch(response) as fastJsonPatch.Operation[];
  return fastJsonPatch.applyPatch(structuredClone(pod), patch).newDocument as V1Pod;
}

describe("POST /mutate", () => {
  it("injects a pod in an enabled namespace and answers with the same uid and a base64 JSONPatch", async () => {
    const pod = webPod("shop");
    const { status, body } = await post("/mutate", admissionReview(pod, { uid: "uid-1" }));
    expect(status).toBe(200);
    expect(body).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    expect(body.response).toMatchObject({ uid: "uid-1", allowed: true, patchType: "JSONPatch" });
    const injected = apply(pod, body.response);
    expect(injected.spec?.initContainers?.map((c) => c.name)).toEqual(["podgate"]);
    expect(injected.metadata?.labels?.["podgate.io/injected"]).toBe("true");
    expect(body.response.warnings).toEqual([
      expect.stringContaining("podgate: port 8080 is captured by its name http"),
    ]);
  });

  it("returns a skip in an opted-in namespace as allowed with a warning kubectl prints", async () => {
    const pod = webPod("shop");
    (pod as V1Pod).spec?.containers[0]?.ports?.splice(0, 1, { name: "grpc", containerPort: 9000 });
    const { body } = await post("/mutate", admissionReview(pod));
    expect(body.response).toEqual({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: true,
      warnings: ["podgate: not injected: port 9000 speaks gRPC"],
    });
  });

  it("skips quietly outside opted-in namespaces", async () => {
    const { body } = await post("/mutate", admissionReview(webPod("plain")));
    expect(body.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  it("denies invalid annotations with every problem listed", async () => {
    const pod = webPod("shop", { "podgate.io/max-body-size": "lots", "podgate.io/routes": "api" });
    const { body } = await post("/mutate", admissionReview(pod));
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.code).toBe(403);
    expect(body.response.status?.message).toContain('podgate.io/max-body-size: "lots" is not a size');
    expect(body.response.status?.message).toContain('podgate.io/routes: "api" is not a route list');
  });

  it("allows kinds other than Pod unchanged", async () => {
    const configMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "shop" },
      data: {},
    };
    const { body } = await post("/mutate", admissionReview(configMap));
    expect(body.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  it("honours dryRun: the same answer, and the log line says it was a dry run", async () => {
    const { body } = await post("/mutate", admissionReview(webPod("shop"), { dryRun: true }));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe("JSONPatch");
    expect(lines.filter((line) => line.webhook === "mutate")).toEqual([
      expect.objectContaining({
        decision: "injected",
        reason: "injected",
        dryRun: true,
        namespace: "shop",
        name: "web-7d9c8-*",
      }),
    ]);
  });

  it("on re-invocation after another mutator added a container, still yields one sidecar", async () => {
    const pod = webPod("shop");
    const first = await post("/mutate", admissionReview(pod));
    await server.close();
    const injected = apply(pod, first.body.response);
    injected.spec?.containers.push({
      name: "istio-like",
      image: "example/other:1",
      ports: [{ containerPort: 15090 }],
    });
    const second = await post("/mutate", admissionReview(injected as Record<string, unknown>));
    expect(second.body.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  it("accepts AdmissionReviews of several MiB", async () => {
    const pod = webPod("shop");
    const app = (pod as V1Pod).spec?.containers[0];
    if (app !== undefined) app.env = [{ name: "BIG", value: "x".repeat(6 * 1024 * 1024) }];
    const { status, body } = await post("/mutate", admissionReview(pod));
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(true);
  });
});

describe("malformed reviews", () => {
  it.each([
    ["a body that is not JSON", "{not json"],
    [
      "a review of the wrong apiVersion",
      { ...admissionReview(webPod("shop")), apiVersion: "admission.k8s.io/v1beta1" },
    ],
    [
      "a review without request.uid",
      {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: { kind: {}, operation: "CREATE" },
      },
    ],
    ["an array", []],
  ])("answers 400 to %s", async (_name, payload) => {
    const response = await start().app.inject({
      method: "POST",
      url: "/mutate",
      headers: { "content-type": "application/json" },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });
    expect(response.statusCode).toBe(400);
  });
});

describe("POST /validate", () => {
  const deployment = (namespace: string, annotations: Record<string, string>) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace },
    spec: {
      selector: { matchLabels: { app: "api" } },
      template: { metadata: { labels: { app: "api" }, annotations }, spec: webPod(namespace).spec },
    },
  });

  it("rejects a Deployment whose template has invalid annotations, listing every problem", async () => {
    const { body } = await post(
      "/validate",
      admissionReview(
        deployment("shop", { "podgate.io/max-body-size": "ten", "podgate.io/capture": "magic" }),
      ),
    );
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toBe(
      'podgate: Deployment shop/api: podgate.io/max-body-size: "ten" is not a size; expected <bytes>[Ki|Mi|Gi|k|M|G], e.g. "1Mi"; podgate.io/capture: "magic" is not a capture mode; expected auto, port-env, named-port, iptables, e.g. "named-port"',
    );
  });

  it("rejects a pod template that loosens its zone floor, naming the floor", async () => {
    const { body } = await post(
      "/validate",
      admissionReview(
        deployment("payments", { "podgate.io/routes": "/api/** GET", "podgate.io/max-body-size": "5Mi" }),
      ),
    );
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toContain(
      `podgate.io/max-body-size: "5Mi" loosens zone pci's floor (limits.maxBodyBytes at most "1Mi")`,
    );
  });

  it("rejects opting out in a zone namespace", async () => {
    const { body } = await post(
      "/validate",
      admissionReview(webPod("payments", { "podgate.io/inject": "false" })),
    );
    expect(body.response.status?.message).toContain(`podgate.io/inject: "false" is not allowed in zone pci`);
  });

  it.each([
    ["StatefulSet", "apps/v1", { template: { metadata: { annotations: { "podgate.io/routes": "nope" } } } }],
    ["DaemonSet", "apps/v1", { template: { metadata: { annotations: { "podgate.io/routes": "nope" } } } }],
    ["ReplicaSet", "apps/v1", { template: { metadata: { annotations: { "podgate.io/routes": "nope" } } } }],
    ["Job", "batch/v1", { template: { metadata: { annotations: { "podgate.io/routes": "nope" } } } }],
    [
      "CronJob",
      "batch/v1",
      { jobTemplate: { spec: { template: { metadata: { annotations: { "podgate.io/routes": "nope" } } } } } },
    ],
  ])("checks the pod template of a %s", async (kind, apiVersion, spec) => {
    const object = { apiVersion, kind, metadata: { name: "w", namespace: "shop" }, spec };
    const { body } = await post("/validate", admissionReview(object, { operation: "UPDATE" }));
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toContain('podgate.io/routes: "nope" is not a route list');
  });

  it("allows a valid pod and logs one line for the decision", async () => {
    const { body } = await post(
      "/validate",
      admissionReview(webPod("shop", { "podgate.io/max-body-size": "1Mi" })),
    );
    expect(body.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
    expect(lines.filter((line) => line.webhook === "validate")).toEqual([
      expect.objectContaining({ decision: "allowed", kind: "Pod", operation: "CREATE" }),
    ]);
  });
});

describe("health", () => {
  it("answers /healthz always and /readyz 503 until listening", async () => {
    const app = start().app;
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(503);
  });
});
