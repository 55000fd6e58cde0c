/**
 * Self-managed webhook certificates. No API server runs here, so every test talks to a local HTTP
 * server that answers like one for the calls made: GET/POST/PUT of the Secret, GET/PATCH of the two
 * webhook configurations. The last tests serve the generated certificate over real HTTPS.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseSettings } from "../../injector/settings.ts";
import { renewMaterial, secretData } from "../../webhooks/certificate-secret.ts";
import {
  type CertificateOptions,
  caBundlePatch,
  ensureCertificates,
  scheduleCertificateChecks,
} from "../../webhooks/certificates.ts";
import { staticNamespaceLookup } from "../../webhooks/namespaces.ts";
import { serviceDnsNames, splitBundle } from "../../webhooks/pki.ts";
import { createWebhookServer, type WebhookServer } from "../../webhooks/server.ts";
import { type FakeKubeApi, startFakeKubeApi } from "../helpers/fake-kube-api.ts";

const NS = "podgate-system";
const SERVICE = "podgate-webhook";
const SECRET_PATH = `/api/v1/namespaces/${NS}/secrets/podgate-tls`;
const ADMISSION = "/apis/admissionregistration.k8s.io/v1";
const MUTATING = `${ADMISSION}/mutatingwebhookconfigurations/podgate`;
const VALIDATING = `${ADMISSION}/validatingwebhookconfigurations/podgate`;
const DAY_MS = 86_400_000;

let api: FakeKubeApi;
let dir: string;
let server: WebhookServer | undefined;

function webhookConfiguration(kind: string, names: string[]) {
  const webhooks = names.map((name) => ({
    name,
    clientConfig: { service: { namespace: NS, name: SERVICE, path: `/${kind}` } },
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
  }));
  return { apiVersion: "admissionregistration.k8s.io/v1", metadata: { name: "podgate" }, webhooks };
}

beforeEach(async () => {
  api = await startFakeKubeApi();
  dir = mkdtempSync(join(tmpdir(), "podgate-certs-"));
  api.seed(
    `${ADMISSION}/mutatingwebhookconfigurations`,
    webhookConfiguration("mutate", ["inject.podgate.io", "zone.podgate.io"]),
  );
  api.seed(
    `${ADMISSION}/validatingwebhookconfigurations`,
    webhookConfiguration("validate", ["validate.podgate.io", "zone-validate.podgate.io"]),
  );
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(replica = "a", now?: Date): CertificateOptions {
  return {
    kubeConfig: api.kubeConfig(),
    namespace: NS,
    secretName: "podgate-tls",
    service: SERVICE,
    mutatingWebhook: "podgate",
    validatingWebhook: "podgate",
    certFile: join(dir, replica, "tls.crt"),
    keyFile: join(dir, replica, "tls.key"),
    propagationDelayMs: 0,
    ...(now === undefined ? {} : { now: () => now }),
  };
}

function secretText(key: string): string {
  const data = (api.get(SECRET_PATH) as { data?: Record<string, string> } | undefined)?.data ?? {};
  return Buffer.from(data[key] ?? "", "base64").toString("utf8");
}

function caBundles(): string[] {
  return [MUTATING, VALIDATING].flatMap((path) =>
    ((api.get(path)?.webhooks ?? []) as Array<{ clientConfig: { caBundle?: string } }>).map((webhook) =>
      Buffer.from(webhook.clientConfig.caBundle ?? "", "base64").toString("utf8"),
    ),
  );
}

const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);
const serials = (pem: string) => splitBundle(pem).map((cert) => cert.serialNumber);

describe("webhook certificates against a fake API server", () => {
  it("creates the Secret, patches every caBundle of both configurations and writes the files on first start", async () => {
    const result = await ensureCertificates(options());
    expect(result).toMatchObject({ renewal: "create", patched: ["mutating/podgate", "validating/podgate"] });
    expect(api.requests).toEqual([
      `GET ${SECRET_PATH}`,
      `POST /api/v1/namespaces/${NS}/secrets`,
      `GET ${MUTATING}`,
      `PATCH ${MUTATING}`,
      `GET ${VALIDATING}`,
      `PATCH ${VALIDATING}`,
    ]);
    expect(api.get(SECRET_PATH)).toMatchObject({ type: "kubernetes.io/tls" });
    expect(caBundles()).toEqual(Array(4).fill(secretText("ca.crt")));
    expect(readFileSync(options().certFile, "utf8")).toBe(secretText("tls.crt"));
    expect(readFileSync(options().keyFile, "utf8")).toBe(secretText("tls.key"));
  });

  it("lets a second replica reuse the stored Secret without writing anything", async () => {
    await ensureCertificates(options("a"));
    api.requests.length = 0;
    const second = await ensureCertificates(options("b"));
    expect(second).toMatchObject({ renewal: "keep", patched: [], filesChanged: true });
    expect(api.requests).toEqual([`GET ${SECRET_PATH}`, `GET ${MUTATING}`, `GET ${VALIDATING}`]);
    expect(readFileSync(options("b").certFile, "utf8")).toBe(readFileSync(options("a").certFile, "utf8"));
  });

  it("renews a serving certificate that expires within 30 days under the same CA", async () => {
    await ensureCertificates(options("a", daysAgo(70)));
    const oldCa = secretText("ca.crt");
    const oldCert = secretText("tls.crt");
    const result = await ensureCertificates(options("a"));
    expect(result).toMatchObject({ renewal: "issue", patched: [] });
    expect(result.reason).toMatch(/^tls\.crt expires on /);
    expect(secretText("ca.crt")).toBe(oldCa);
    expect(secretText("tls.crt")).not.toBe(oldCert);
    expect(readFileSync(options().certFile, "utf8")).toBe(secretText("tls.crt"));
  });

  it("rotates a CA that expires within 60 days and keeps the old CA in every caBundle until it expires", async () => {
    await ensureCertificates(options("a", daysAgo(310)));
    const oldCa = secretText("ca.crt");
    const rotated = await ensureCertificates(options("a"));
    expect(rotated).toMatchObject({ renewal: "rotate", patched: ["mutating/podgate", "validating/podgate"] });
    const newCa = secretText("ca.crt");
    expect(newCa).not.toBe(oldCa);
    expect(secretText("previous-ca.crt")).toBe(oldCa);
    for (const bundle of caBundles()) expect(serials(bundle)).toEqual([...serials(newCa), ...serials(oldCa)]);
    const [served] = splitBundle(readFileSync(options().certFile, "utf8"));
    expect(served?.checkIssued(splitBundle(newCa)[0] ?? served)).toBe(true);

    const afterOldExpiry = new Date(Date.now() + 60 * DAY_MS);
    const later = await ensureCertificates(options("a", afterOldExpiry));
    expect(later.patched).toEqual(["mutating/podgate", "validating/podgate"]);
    for (const bundle of caBundles()) expect(serials(bundle)).toEqual(serials(newCa));
  });

  it("reads the Secret again after an update gets 409 Conflict and takes the other replica's certificate", async () => {
    await ensureCertificates(options("a", daysAgo(70)));
    const dnsNames = serviceDnsNames(SERVICE, NS);
    const winner = await renewMaterial("issue", undefined, { dnsNames, now: new Date() });
    let conflicts = 0;
    api.intercept = (request) => {
      if (request.method !== "PUT" || conflicts > 0) return undefined;
      conflicts++;
      // Another replica's update lands first; this replica's resourceVersion is now stale.
      api.seed(`/api/v1/namespaces/${NS}/secrets`, { ...api.get(SECRET_PATH), data: secretData(winner) });
      return { status: 409, body: { kind: "Status", reason: "Conflict", code: 409 } };
    };
    api.requests.length = 0;
    const result = await ensureCertificates(options("a"));
    expect(result.renewal).toBe("keep");
    expect(api.requests.filter((line) => line.includes("/secrets"))).toEqual([
      `GET ${SECRET_PATH}`,
      `PUT ${SECRET_PATH}`,
      `GET ${SECRET_PATH}`,
    ]);
    expect(readFileSync(options("a").certFile, "utf8")).toBe(winner.serving.cert);
    expect(conflicts).toBe(1);
  });

  it("reads the Secret again after a create gets 409 AlreadyExists and keeps the winner's certificate", async () => {
    const dnsNames = serviceDnsNames(SERVICE, NS);
    const winner = await renewMaterial("create", undefined, { dnsNames, now: new Date() });
    api.intercept = (request) => {
      if (request.method !== "POST") return undefined;
      api.intercept = undefined;
      api.seed(`/api/v1/namespaces/${NS}/secrets`, {
        metadata: { name: "podgate-tls" },
        data: secretData(winner),
      });
      return { status: 409, body: { kind: "Status", reason: "AlreadyExists", code: 409 } };
    };
    const result = await ensureCertificates(options("b"));
    expect(result.renewal).toBe("keep");
    expect(readFileSync(options("b").certFile, "utf8")).toBe(winner.serving.cert);
    expect(caBundles()).toEqual(Array(4).fill(`${winner.ca.cert.trim()}\n`));
  });

  it("lets two replicas starting at once agree on one Secret", async () => {
    await Promise.all([ensureCertificates(options("a")), ensureCertificates(options("b"))]);
    const stored = secretText("tls.crt");
    expect(readFileSync(options("a").certFile, "utf8")).toBe(stored);
    expect(readFileSync(options("b").certFile, "utf8")).toBe(stored);
    expect(caBundles()).toEqual(Array(4).fill(secretText("ca.crt")));
  });

  it("fails with PODGATE_WEBHOOK_CERTIFICATES_UNAVAILABLE when a webhook configuration is missing", async () => {
    const missing = { ...options(), validatingWebhook: "absent" };
    await expect(ensureCertificates(missing)).rejects.toMatchObject({
      code: "PODGATE_WEBHOOK_CERTIFICATES_UNAVAILABLE",
      message: expect.stringContaining("HTTP 404"),
    });
  });

  it("patches only the entries whose caBundle differs, each guarded by a test of its name", () => {
    const webhooks = [
      { name: "a.podgate.io", clientConfig: { caBundle: "QUJD" } },
      { name: "b.podgate.io", clientConfig: {} },
    ] as Parameters<typeof caBundlePatch>[0];
    expect(caBundlePatch(webhooks, "QUJD")).toEqual([
      { op: "test", path: "/webhooks/1/name", value: "b.podgate.io" },
      { op: "add", path: "/webhooks/1/clientConfig/caBundle", value: "QUJD" },
    ]);
  });

  it("checks again on an interval until stopped", async () => {
    await ensureCertificates(options());
    api.requests.length = 0;
    const stop = scheduleCertificateChecks({ ...options(), intervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop();
    const reads = api.requests.filter((line) => line === `GET ${SECRET_PATH}`).length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(api.requests.filter((line) => line === `GET ${SECRET_PATH}`).length).toBeLessThanOrEqual(
      reads + 1,
    );
  });
});

function servedSerial(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("generated webhook certificates over real HTTPS (fake API server for the Secret)", () => {
  async function serve(certFile: string, keyFile: string): Promise<number> {
    server = createWebhookServer({
      certFile,
      keyFile,
      port: 0,
      host: "127.0.0.1",
      settings: parseSettings({}),
      nativeSidecars: true,
      injectorVersion: "0.1.0-test",
      namespaces: staticNamespaceLookup({}),
      certPollMs: 25,
    });
    return server.listen();
  }

  it(`serves a certificate that verifies against the caBundle as ${SERVICE}.${NS}.svc`, async () => {
    const { caBundle, patched } = await ensureCertificates(options());
    expect(patched).toHaveLength(2);
    const port = await serve(options().certFile, options().keyFile);
    const agent = new Agent({ connect: { ca: caBundle, servername: `${SERVICE}.${NS}.svc` } });
    try {
      const response = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: agent });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    } finally {
      await agent.close();
    }
    await expect(servedSerial(port, caBundle, "other.podgate-system.svc")).rejects.toThrow(/altnames/i);
  });

  it("serves the rotated certificate after a CA rotation, trusted by the two-CA bundle", async () => {
    await ensureCertificates(options("a", daysAgo(310)));
    // A serving certificate that is still valid today, from the CA that is about to expire.
    await ensureCertificates(options("a", daysAgo(40)));
    const port = await serve(options().certFile, options().keyFile);
    const before = await servedSerial(port, secretText("ca.crt"), `${SERVICE}.${NS}.svc`);
    const reloaded = new Promise<void>((resolve) => {
      if (server) server.onCertificateReload = (error) => error === undefined && resolve();
    });
    const { caBundle } = await ensureCertificates(options("a"));
    await reloaded;
    const after = await servedSerial(port, caBundle, `${SERVICE}.${NS}.svc`);
    expect(after).not.toBe(before);
    expect(after).toBe(splitBundle(secretText("tls.crt"))[0]?.serialNumber);
  });
});
