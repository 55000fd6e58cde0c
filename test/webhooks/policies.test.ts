/**
 * Mutate and validate on policy annotations and zone floors, through fastify.inject(): Secret
 * mounts in the patch, the pci floor's mTLS, authentication and lockout, and parser messages.
 */
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
};
const MTLS = {
  "podgate.io/routes": "/pay POST",
  "podgate.io/tls-secret": "pay-tls",
  "podgate.io/client-ca-secret": "mesh-ca",
  "podgate.io/client-certificates": "required",
};
const MTLS_MESSAGE =
  'zone pci requires mTLS: set podgate.io/tls-secret, podgate.io/client-ca-secret and podgate.io/client-certificates: "required"';

let pki: TestPki;
let server: WebhookServer | undefined;

beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());
afterEach(async () => {
  await server?.close();
});

async function post(path: string, body: unknown): Promise<ReviewBody["response"]> {
  server = createWebhookServer({
    certFile: pki.certFile,
    keyFile: pki.keyFile,
    settings: parseSettings({}),
    nativeSidecars: true,
    injectorVersion: "0.1.0-test",
    namespaces: staticNamespaceLookup(NAMESPACES),
    logger: capturingLogger().logger,
  });
  const response = await server.app.inject({ method: "POST", url: path, payload: body as object });
  return (response.json() as ReviewBody).response;
}

describe("POST /mutate with policy annotations", () => {
  it("mounts the API keys Secret read-only into the sidecar and points the config at it", async () => {
    const pod = webPod("shop", { "podgate.io/api-keys": "web-keys", "podgate.io/rate-limit": "100/s" });
    const response = await post("/mutate", admissionReview(pod));
    const patch = decodePatch(response) as fastJsonPatch.Operation[];
    const injected = fastJsonPatch.applyPatch(structuredClone(pod), patch).newDocument as V1Pod;
    expect(injected.spec?.volumes).toEqual([
      { name: "podgate-api-keys", secret: { secretName: "web-keys", defaultMode: 0o444, optional: false } },
    ]);
    const sidecar = injected.spec?.initContainers?.[0];
    expect(sidecar?.volumeMounts).toEqual([
      { name: "podgate-api-keys", mountPath: "/var/run/podgate/secrets/api-keys", readOnly: true },
    ]);
    const config = JSON.parse(sidecar?.env?.find((env) => env.name === "PODGATE_CONFIG")?.value ?? "{}");
    expect(config.policies.apiKeys).toEqual({ directory: "/var/run/podgate/secrets/api-keys" });
    expect(config.policies.authentication).toEqual({ required: true });
  });

  it("denies a pci pod without mTLS or any credential, naming each floor it breaks", async () => {
    const response = await post(
      "/mutate",
      admissionReview(webPod("payments", { "podgate.io/routes": "/pay POST" })),
    );
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toBe(
      `podgate: ${MTLS_MESSAGE}; zone pci requires authentication: set podgate.io/api-keys, a JWT issuer (podgate.io/jwt-issuer) or client certificates (podgate.io/client-certificates)`,
    );
  });

  it("injects a pci pod with mTLS, which is also its credential", async () => {
    const response = await post("/mutate", admissionReview(webPod("payments", MTLS)));
    expect(response.allowed).toBe(true);
    expect(decodePatch(response).map((op) => op.path)).toContain("/spec/volumes");
  });

  it("denies a pci pod that loosens the floor's lockout, naming each bound", async () => {
    const pod = webPod("payments", { ...MTLS, "podgate.io/lockout": "10 in 15m lock 5m" });
    const response = await post("/mutate", admissionReview(pod));
    expect(response.status?.message).toBe(
      `podgate: podgate.io/lockout: "10 in 15m lock 5m" loosens zone pci's floor (policies.lockout.lockSeconds at least "30m")`,
    );
  });
});

describe("POST /validate with policy annotations", () => {
  it("rejects a bad rate with the parser's message", async () => {
    const response = await post(
      "/validate",
      admissionReview(webPod("shop", { "podgate.io/rate-limit": "ten/s" })),
    );
    expect(response.status?.message).toBe(
      'podgate: Pod shop/web-7d9c8-*: podgate.io/rate-limit: "ten/s" is not a rate; expected <count>/<s|m|h|d> [burst=<count>] [by=ip|identity|global|header:<name>], e.g. "100/s burst=200 by=ip"',
    );
  });

  it("rejects a pci pod template without mTLS, and allows one that tightens the floor", async () => {
    const loose = await post(
      "/validate",
      admissionReview(webPod("payments", { "podgate.io/routes": "/a GET" })),
    );
    expect(loose.status?.message).toContain(MTLS_MESSAGE);
    const tight = { ...MTLS, "podgate.io/lockout": "5 in 1h lock 1h", "podgate.io/rate-limit": "10/s" };
    expect((await post("/validate", admissionReview(webPod("payments", tight)))).allowed).toBe(true);
  });

  it("rejects settings that only mean something together, saying what they need", async () => {
    const response = await post(
      "/validate",
      admissionReview(
        webPod("shop", {
          "podgate.io/jwt-issuer": "https://auth.example/",
          "podgate.io/client-certificates": "required",
        }),
      ),
    );
    expect(response.status?.message).toBe(
      "podgate: Pod shop/web-7d9c8-*: podgate.io/client-certificates needs podgate.io/tls-secret (client certificates are asked for in the TLS handshake); podgate.io/client-certificates needs podgate.io/client-ca-secret (the CA that client certificates must chain to); podgate.io/jwt-issuer: JWT verification also needs podgate.io/jwt-audience and podgate.io/jwks-url or podgate.io/jwks-secret",
    );
  });
});
