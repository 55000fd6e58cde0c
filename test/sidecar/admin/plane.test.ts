import diagnosticsChannel from "node:diagnostics_channel";
import net from "node:net";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminPlane } from "../../../sidecar/admin/plane.ts";
import { startTestAdminPlane } from "../../helpers/admin-plane.ts";
import { fetchOnce } from "../../helpers/connections.ts";
import { startTestSidecar, type TestSidecar } from "../../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

// The admin plane's thread (sidecar/admin/plane.ts): admin requests never reach the data plane's
// HTTP server code, probes still tell whether the data plane's thread is alive, and a worker that
// stops comes back.

let upstream: EchoUpstream | undefined;
let sidecar: TestSidecar | undefined;
let plane: AdminPlane | undefined;
let blocker: net.Server | undefined;

afterEach(async () => {
  await sidecar?.close();
  await plane?.close();
  await upstream?.close();
  blocker?.close();
  sidecar = plane = upstream = blocker = undefined;
});

/**
 * Fetches `urls` from a worker thread while this thread is blocked (Atomics.wait) until the worker
 * has every answer: the admin plane's questions to this thread stay unanswered the whole time.
 */
function fetchWhileThisThreadIsBlocked(urls: string[]): Promise<Array<[number, unknown]>> {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const fetcher = new Worker(
    `const { workerData } = require("node:worker_threads");
     Promise.all(workerData.urls.map(async (url) => {
       const response = await fetch(url);
       return [response.status, await response.json()];
     })).then((answers) => {
       require("node:worker_threads").parentPort.postMessage(answers);
       Atomics.store(workerData.done, 0, 1);
       Atomics.notify(workerData.done, 0);
     });`,
    { eval: true, workerData: { urls, done } },
  );
  const answers = new Promise<Array<[number, unknown]>>((resolve) => fetcher.once("message", resolve));
  Atomics.wait(done, 0, 0, 15_000);
  expect(Atomics.load(done, 0)).toBe(1);
  return answers.finally(() => fetcher.terminate());
}

describe("admin plane thread", () => {
  it("serves /healthz, /readyz, /config and /metrics without the data plane's HTTP server seeing them", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url);
    const seen: string[] = [];
    const onRequest = (message: unknown) => seen.push((message as { request: { url: string } }).request.url);
    diagnosticsChannel.subscribe("http.server.request.start", onRequest);
    try {
      for (const path of ["/healthz", "/readyz", "/config", "/metrics"]) {
        expect((await fetchOnce(`${sidecar.adminUrl}${path}`)).status).toBe(200);
      }
      expect((await fetchOnce(`${sidecar.url}/orders`)).status).toBe(200);
    } finally {
      diagnosticsChannel.unsubscribe("http.server.request.start", onRequest);
    }
    // The gateway and the echo upstream (both in this thread) saw /orders; nothing else came here.
    expect(seen).toEqual(["/orders", "/orders"]);
  });

  it("answers /healthz and /readyz with 503 unresponsive while the data plane's thread is blocked", async () => {
    const started = await startTestAdminPlane();
    plane = started.plane;
    const unresponsive = {
      status: "unresponsive",
      detail: "the gateway's request thread did not answer within 1000 ms",
    };
    expect(await fetchWhileThisThreadIsBlocked([`${started.url}/healthz`, `${started.url}/readyz`])).toEqual([
      [503, unresponsive],
      [503, unresponsive],
    ]);
    expect((await fetchOnce(`${started.url}/healthz`)).status).toBe(200);
  });

  it("starts its worker again on the same port when it stops, and logs an error", async () => {
    const started = await startTestAdminPlane();
    plane = started.plane;
    const first = plane.worker;
    if (first === undefined) throw new Error("the admin plane has no worker");
    await first.terminate();
    expect(started.lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: "admin plane: its worker stopped; starting it again" }),
    );
    const healthz = () =>
      fetchOnce(`${started.url}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
    await expect.poll(healthz, { timeout: 10_000 }).toBe(200);
    expect(plane.worker).not.toBe(first);
  });

  it("fails the sidecar's start with the admin port's listen error", async () => {
    upstream = await startEchoUpstream();
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker?.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    await expect(
      startTestSidecar(upstream.url, { admin: { host: "127.0.0.1", port } }),
    ).rejects.toMatchObject({
      code: "EADDRINUSE",
      message: expect.stringMatching(/^admin plane: listen EADDRINUSE/),
    });
  });
});
