import { readFileSync } from "node:fs";
import https from "node:https";
import type tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPki, type Pki } from "../helpers/pki.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

interface TlsResult {
  status: number;
  serial: string;
}

/** One HTTPS request to the sidecar; resolves with the status and the server certificate's serial. */
function httpsGet(port: number, options: https.RequestOptions): Promise<TlsResult> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/", agent: false, ...options }, (res) => {
      const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, serial }));
    });
    req.on("error", reject);
  });
}

describe("TLS and mTLS on the data plane", () => {
  let pki: Pki;
  let otherPki: Pki;
  let server: { certFile: string; keyFile: string };
  let client: { certFile: string; keyFile: string };
  let stranger: { certFile: string; keyFile: string };
  let upstream: EchoUpstream;
  let sidecar: TestSidecar | undefined;

  beforeAll(() => {
    pki = createPki();
    otherPki = createPki("another CA");
    server = pki.issue("server", "IP:127.0.0.1,DNS:localhost", 1);
    client = pki.issue("client", "URI:spiffe://cluster.local/ns/shop/sa/web", 2);
    stranger = otherPki.issue("stranger", "URI:spiffe://elsewhere/sa/x", 3);
  });
  afterAll(() => {
    pki.remove();
    otherPki.remove();
  });
  afterEach(async () => {
    await sidecar?.close();
    await upstream.close();
    sidecar = undefined;
  });

  const start = async (extra: Record<string, unknown> = {}) => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, {
      listener: {
        host: "127.0.0.1",
        port: 0,
        tls: { certFile: server.certFile, keyFile: server.keyFile, ...extra },
      },
    });
    return sidecar;
  };
  const read = (file: string) => readFileSync(file);

  it("serves HTTPS and tells the app the client used https", async () => {
    const { port } = await start();
    const result = await httpsGet(port, { ca: pki.ca });
    expect(result.status).toBe(200);
    expect(upstream.received[0]?.headers["x-forwarded-proto"]).toBe("https");
    expect(upstream.received[0]?.headers.forwarded).toMatch(/proto=https$/);
  });

  it("refuses a client below the configured minimum TLS version", async () => {
    const { port } = await start({ minVersion: "TLSv1.3" });
    await expect(httpsGet(port, { ca: pki.ca, maxVersion: "TLSv1.2" })).rejects.toThrow();
    await expect(httpsGet(port, { ca: pki.ca, minVersion: "TLSv1.3" })).resolves.toMatchObject({
      status: 200,
    });
  });

  it("with client certificates required, refuses a client without one or with one from another CA", async () => {
    const { port } = await start({ clientCaFile: pki.caFile, clientCertificates: "required" });
    await expect(httpsGet(port, { ca: pki.ca })).rejects.toThrow();
    await expect(
      httpsGet(port, { ca: pki.ca, cert: read(stranger.certFile), key: read(stranger.keyFile) }),
    ).rejects.toThrow();
    const ok = await httpsGet(port, { ca: pki.ca, cert: read(client.certFile), key: read(client.keyFile) });
    expect(ok.status).toBe(200);
  });

  it("reloads a rotated serving certificate without a restart", async () => {
    const { port } = await start();
    const before = await httpsGet(port, { ca: pki.ca });
    pki.issue("server", "IP:127.0.0.1,DNS:localhost", 99);
    let after = before;
    for (let i = 0; i < 100 && after.serial === before.serial; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await httpsGet(port, { ca: pki.ca });
    }
    expect(before.serial).toBe("01");
    expect(after.serial).toBe("63");
  });

  it("says which TLS file it cannot read", async () => {
    upstream = await startEchoUpstream();
    await expect(
      startTestSidecar(upstream.url, {
        listener: {
          host: "127.0.0.1",
          port: 0,
          tls: { certFile: "/nonexistent/tls.crt", keyFile: server.keyFile },
        },
      }),
    ).rejects.toThrow(/cannot read the TLS certificate at \/nonexistent\/tls\.crt/);
  });
});
