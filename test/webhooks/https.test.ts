/**
 * Both webhooks over real HTTPS with an openssl-generated CA, reviews shaped like the API server's;
 * certificate reload; graceful shutdown with a review in flight.
 */
import { connect } from "node:tls";
import { Agent, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../../injector/settings.ts";
import { type NamespaceLookup, staticNamespaceLookup } from "../../webhooks/namespaces.ts";
import { createWebhookServer, type WebhookServer } from "../../webhooks/server.ts";
import {
  admissionReview,
  createTestPki,
  decodePatch,
  type ReviewBody,
  type TestPki,
  webPod,
} from "./fixtures.ts";

let pki: TestPki;
let server: WebhookServer | undefined;
let agent: Agent;

beforeAll(() => {
  pki = createTestPki();
  agent = new Agent({ connect: { ca: pki.ca, servername: "localhost" } });
});
afterAll(async () => {
  await agent.close();
  pki.remove();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function listen(namespaces: NamespaceLookup): Promise<number> {
  server = createWebhookServer({
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    port: 0,
    host: "127.0.0.1",
    settings: parseSettings({}),
    nativeSidecars: false,
    injectorVersion: "0.1.0-test",
    namespaces,
    certPollMs: 50,
  });
  return server.listen();
}

async function postReview(port: number, path: string, body: unknown) {
  const response = await request(`https://127.0.0.1:${port}${path}`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, body: (await response.body.json()) as ReviewBody };
}

function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca: pki.ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("webhooks over real HTTPS", () => {
  const namespaces = staticNamespaceLookup({ shop: { "podgate.io/inject": "enabled" } });

  it("mutates a Pod CREATE review with the certificate chain verified against the test CA", async () => {
    const port = await listen(namespaces);
    const { status, body } = await postReview(
      port,
      "/mutate",
      admissionReview(webPod("shop"), { uid: "https-1" }),
    );
    expect(status).toBe(200);
    expect(body.response).toMatchObject({ uid: "https-1", allowed: true, patchType: "JSONPatch" });
    const patch = decodePatch(body.response);
    expect(patch).toContainEqual(expect.objectContaining({ op: "add", path: "/spec/containers/0" }));
  });

  it("validates a Deployment review and rejects its invalid template", async () => {
    const port = await listen(namespaces);
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "shop" },
      spec: {
        template: {
          metadata: { annotations: { "podgate.io/request-timeout": "soon" } },
          spec: webPod("shop").spec,
        },
      },
    };
    const { body } = await postReview(port, "/validate", admissionReview(deployment, { uid: "https-2" }));
    expect(body.response.uid).toBe("https-2");
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toContain('podgate.io/request-timeout: "soon" is not a duration');
  });

  it("reports ready once listening", async () => {
    const port = await listen(namespaces);
    const response = await request(`https://127.0.0.1:${port}/readyz`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
  });

  it("serves a renewed certificate to new connections after the files change", async () => {
    const port = await listen(namespaces);
    const before = await servedSerial(port);
    const reloaded = new Promise<void>((resolve) => {
      if (server === undefined) return;
      server.onCertificateReload = (error) => {
        if (error === undefined) resolve();
      };
    });
    pki.reissue();
    await reloaded;
    const after = await servedSerial(port);
    expect(after).not.toBe(before);
  });

  it("finishes a review in flight when shutting down", async () => {
    const entered = Promise.withResolvers<void>();
    const released = Promise.withResolvers<void>();
    const slow: NamespaceLookup = async () => {
      entered.resolve();
      await released.promise;
      return { "podgate.io/inject": "enabled" };
    };
    const port = await listen(slow);
    const pending = postReview(port, "/mutate", admissionReview(webPod("shop"), { uid: "in-flight" }));
    await entered.promise;
    const closing = server?.close();
    server = undefined;
    released.resolve();
    const { status, body } = await pending;
    await closing;
    expect(status).toBe(200);
    expect(body.response.uid).toBe("in-flight");
  });
});
