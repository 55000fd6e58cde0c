import { afterEach, describe, expect, it } from "vitest";
import { fetchOnce } from "../../helpers/connections.ts";
import { startTestSidecar, type TestSidecar } from "../../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

// The admin plane (sidecar/admin/routes.ts, in its worker thread) on its own port: /healthz says the
// gateway is alive, /readyz says the app accepts connections and we are not draining, /config shows
// the effective config. plane.test.ts covers the thread itself.

let upstream: EchoUpstream | undefined;
let sidecar: TestSidecar | undefined;

afterEach(async () => {
  await sidecar?.close();
  await upstream?.close();
  sidecar = undefined;
  upstream = undefined;
});

async function getJson(url: string) {
  const response = await fetchOnce(url);
  expect(response.headers["content-type"]).toMatch(/^application\/json/);
  return { status: response.status, body: JSON.parse(response.body.toString()) as Record<string, unknown> };
}

/** A URL on 127.0.0.1 where nothing listens: an upstream that was started, then closed. */
async function closedUpstreamUrl(): Promise<string> {
  const gone = await startEchoUpstream();
  await gone.close();
  return gone.url;
}

describe("admin plane", () => {
  it("answers /healthz with 200 while the process runs", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url);
    expect(await getJson(`${sidecar.adminUrl}/healthz`)).toEqual({ status: 200, body: { status: "alive" } });
  });

  it("answers /readyz with 200 when the app accepts connections", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url);
    expect(await getJson(`${sidecar.adminUrl}/readyz`)).toEqual({ status: 200, body: { status: "ready" } });
    // The probe only opens a connection: it sends the app no request.
    expect(upstream.received).toEqual([]);
  });

  it("answers /readyz with 503 and a JSON status when nothing listens on the app's port, while /healthz stays 200", async () => {
    const url = await closedUpstreamUrl();
    sidecar = await startTestSidecar(url);
    expect(await getJson(`${sidecar.adminUrl}/readyz`)).toEqual({
      status: 503,
      body: { status: "app-unreachable", detail: `nothing accepts connections at ${url}` },
    });
    expect((await getJson(`${sidecar.adminUrl}/healthz`)).status).toBe(200);
  });

  it("answers /readyz with 503 draining once a drain starts, while /healthz stays 200", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, { drain: { delayMs: 300, timeoutMs: 1000 } });
    expect((await getJson(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
    const drained = sidecar.drain();
    expect(await getJson(`${sidecar.adminUrl}/readyz`)).toEqual({
      status: 503,
      body: { status: "draining" },
    });
    expect((await getJson(`${sidecar.adminUrl}/healthz`)).status).toBe(200);
    await drained;
    // A finished drain has closed everything; close() is not called again (see drain.test.ts).
    sidecar = undefined;
  });

  it("shows the effective config on /config, with every default filled in", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, {
      limits: { maxBodyBytes: 2048 },
      routes: [{ path: "/api/**" }],
    });
    const { status, body } = await getJson(`${sidecar.adminUrl}/config`);
    expect(status).toBe(200);
    // toMatchObject: every section and default below must be there; sections added later may be too.
    expect(body).toMatchObject({
      listener: { host: "127.0.0.1", port: 0 },
      admin: { host: "127.0.0.1", port: 0 },
      upstream: {
        url: upstream.url,
        connectTimeoutMs: 1000,
        responseTimeoutMs: 30_000,
        bodyIdleTimeoutMs: 300_000,
        idleTimeoutMs: 4000,
        maxConnections: 64,
      },
      limits: {
        maxHeaderBytes: 16_384,
        maxHeaderCount: 100,
        maxBodyBytes: 2048,
        headerReadTimeoutMs: 10_000,
        requestTimeoutMs: 300_000,
        keepAliveTimeoutMs: 65_000,
      },
      forwarding: { trustedProxies: [] },
      paths: { mergeSlashes: false },
      routes: [{ path: "/api/**", methods: ["*"] }],
      drain: { delayMs: 0, timeoutMs: 2000 },
      log: { level: "info", accessLog: true },
    });
  });
});
