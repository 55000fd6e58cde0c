import type http from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { within } from "../helpers/child-process.ts";
import {
  connectOutcome,
  fetchOnce,
  type IdleConnection,
  openIdleConnection,
  untilRefused,
} from "../helpers/connections.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { type SidecarProcess, startSidecarProcess } from "../helpers/sidecar-process.ts";
import { type EchoUpstream, reflect, startEchoUpstream } from "../helpers/upstream.ts";

// Graceful shutdown of the `podgate sidecar` process (cli/sidecar.ts + drain() in sidecar/main.ts):
// SIGTERM makes /readyz fail, keeps serving drain.delayMs, closes the listener, finishes what is in
// flight within drain.timeoutMs and exits 0; a second signal exits at once with 1.

/** A hang guard for awaited events: far beyond how long any of them takes; never a speed check. */
const HANG_MS = 15_000;

/** The body the held upstream request finally answers with: large enough to span many writes. */
const SLOW_BODY = Buffer.alloc(256 * 1024, "podgate-drain-");

let upstream: EchoUpstream | undefined;
let sidecar: SidecarProcess | undefined;
let inProcess: TestSidecar | undefined;
const idle: IdleConnection[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const connection of idle.splice(0)) connection.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
  await sidecar?.stop();
  // The close-after-drain test reports a rejecting close() itself; cleanup must not fail a second time.
  await inProcess?.close().catch(() => undefined);
  await upstream?.close();
  sidecar = undefined;
  inProcess = undefined;
  upstream = undefined;
});

/** An upstream that holds every request under /hold until the test answers it, and reflects the rest. */
async function startHoldingUpstream() {
  const started = await startEchoUpstream();
  const waiting: Array<(res: http.ServerResponse) => void> = [];
  const held: http.ServerResponse[] = [];
  started.handler = (req, res, body) => {
    if (!req.url?.startsWith("/hold")) return reflect(req, res, body);
    const wake = waiting.shift();
    if (wake) wake(res);
    else held.push(res);
  };
  upstream = started;
  return {
    upstream: started,
    /** Resolves with the upstream's response object once the next held request has arrived. */
    nextHeld(): Promise<http.ServerResponse> {
      const ready = held.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

async function startDrainingSidecar(upstreamUrl: string, drain: { delayMs: number; timeoutMs: number }) {
  sidecar = await startSidecarProcess({ upstream: { url: upstreamUrl }, drain });
  return sidecar;
}

/** Opens a raw client connection to the gateway, destroyed in afterEach. */
function connect(port: number): net.Socket {
  const socket = net.connect(port, "127.0.0.1");
  sockets.push(socket);
  return socket;
}

/** Resolves when the server ends a connection we keep open (FIN, close or reset). */
function serverClosed(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once("end", () => resolve("end"));
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    socket.once("close", () => resolve("close"));
  });
}

/** Resolves once the bytes received so far contain `text`. */
async function untilReceived(received: Buffer[], text: string): Promise<void> {
  while (!Buffer.concat(received).toString("latin1").includes(text)) await sleep(10);
}

describe("podgate sidecar: graceful drain on SIGTERM", () => {
  it("fails readiness, keeps serving with Connection: close, closes the listener, then finishes in-flight work and exits 0", async () => {
    const { upstream: app, nextHeld } = await startHoldingUpstream();
    // Long enough that the checks made "during the delay" cannot outlast it on a loaded machine.
    const gateway = await startDrainingSidecar(app.url, { delayMs: 800, timeoutMs: 3000 });

    const keptAlive = await openIdleConnection(gateway.port, "/before-signal");
    idle.push(keptAlive);
    expect(keptAlive.response.status).toBe(200);
    expect(keptAlive.response.headers.connection).not.toBe("close");

    const inFlight = fetchOnce(`${gateway.url}/hold/slow`);
    // Awaited below; this only keeps an early failure from also surfacing as an unhandled rejection.
    inFlight.catch(() => undefined);
    const heldResponse = await within(nextHeld(), HANG_MS, "the slow request never reached the upstream");

    gateway.proc.signal("SIGTERM");
    await gateway.waitForLog("draining: readiness is false");

    const ready = await fetchOnce(`${gateway.adminUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body.toString())).toEqual({ status: "draining" });
    const healthy = await fetchOnce(`${gateway.adminUrl}/healthz`);
    expect(healthy.status).toBe(200);

    const during = await rawRequest(gateway.port, "GET /during-delay HTTP/1.1\r\nHost: podgate.test\r\n\r\n");
    expect(during.status).toBe(200);
    expect(during.headers.connection).toBe("close");
    expect(JSON.parse(during.body).url).toBe("/during-delay");
    expect(during.closed).toBe(true);
    // Everything above happened inside the delay: the listener was still open.
    expect(gateway.logged("draining: listener closed, finishing in-flight requests")).toBe(false);

    await gateway.waitForLog("draining: listener closed, finishing in-flight requests");
    // The line is written just before server.close() runs, so a connect may still slip in: poll.
    await within(untilRefused(gateway.port), HANG_MS, "new connections were still accepted after the delay");
    expect(await connectOutcome(gateway.port)).toBe("refused");
    // Closing the listener closes idle keep-alive connections, while the slow request is still held.
    await within(keptAlive.closed, HANG_MS, "the idle keep-alive connection was never closed by the sidecar");

    heldResponse.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": SLOW_BODY.length,
    });
    heldResponse.end(SLOW_BODY);
    const slow = await within(inFlight, HANG_MS, "the in-flight request never completed");
    expect(slow.status).toBe(200);
    expect(slow.headers.connection).toBe("close");
    expect(slow.body.equals(SLOW_BODY)).toBe(true);

    expect(await within(gateway.proc.exited, HANG_MS, "the sidecar did not exit after draining")).toEqual({
      code: 0,
      signal: null,
    });
    expect(gateway.logged("drained")).toBe(true);
    expect(gateway.proc.stderr()).toBe("");
  });

  it("closes a keep-alive connection whose response began before the signal once that response ends, without waiting for drain.timeoutMs", async () => {
    const { upstream: app, nextHeld } = await startHoldingUpstream();
    const gateway = await startDrainingSidecar(app.url, { delayMs: 100, timeoutMs: 5000 });

    const client = connect(gateway.port);
    const received: Buffer[] = [];
    client.on("data", (chunk: Buffer) => received.push(chunk));
    const clientClosed = serverClosed(client);
    client.write("GET /hold/stream HTTP/1.1\r\nHost: podgate.test\r\n\r\n");
    const held = await within(nextHeld(), HANG_MS, "the streaming request never reached the upstream");
    // The response starts before the signal: its head goes out keep-alive, without Connection: close.
    held.writeHead(200, { "content-type": "text/plain", "content-length": 10 });
    held.write("first");
    await within(untilReceived(received, "first"), HANG_MS, "the start of the response never arrived");
    expect(Buffer.concat(received).toString("latin1")).not.toMatch(/\r\nconnection: close\r\n/i);

    gateway.proc.signal("SIGTERM");
    await gateway.waitForLog("draining: listener closed, finishing in-flight requests");
    held.end("-last");
    await within(clientClosed, HANG_MS, "the connection stayed open after its response ended");
    expect(Buffer.concat(received).toString("latin1")).toMatch(/\r\n\r\nfirst-last$/);
    expect(await within(gateway.proc.exited, HANG_MS, "the sidecar did not exit")).toEqual({
      code: 0,
      signal: null,
    });
    // Nothing was left when the response ended, so the drain finished rather than timing out.
    expect(gateway.logged("draining: timeout reached, closing what is left")).toBe(false);
  });

  it("exits at once with code 1 on a second SIGTERM during the delay", async () => {
    const { upstream: app } = await startHoldingUpstream();
    const gateway = await startDrainingSidecar(app.url, { delayMs: 10_000, timeoutMs: 3000 });

    gateway.proc.signal("SIGTERM");
    await gateway.waitForLog("draining: readiness is false");
    gateway.proc.signal("SIGTERM");

    const status = await within(gateway.proc.exited, HANG_MS, "the second SIGTERM did not end the process");
    expect(status).toEqual({ code: 1, signal: null });
    expect(gateway.logged("second signal: exiting at once")).toBe(true);
    // It did not sit out the 10 s delay: the listener was never closed by a drain.
    expect(gateway.logged("draining: listener closed, finishing in-flight requests")).toBe(false);
  });

  it("exits 0 when the final OTLP export fails (no collector listens), and logs that its data is lost", async () => {
    upstream = await startEchoUpstream();
    const gone = await startEchoUpstream();
    await gone.close();
    sidecar = await startSidecarProcess(
      { upstream: { url: upstream.url }, drain: { delayMs: 0, timeoutMs: 1000 } },
      {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: gone.url,
          OTEL_EXPORTER_OTLP_TIMEOUT: "500",
          OTEL_TRACES_SAMPLER: "always_on",
        },
      },
    );
    // A sampled request leaves a span for the final export.
    expect((await fetchOnce(`${sidecar.url}/orders`)).status).toBe(200);
    sidecar.proc.signal("SIGTERM");
    const status = await within(sidecar.proc.exited, HANG_MS, "the sidecar did not exit");
    expect(status).toEqual({ code: 0, signal: null });
    expect(sidecar.logged("telemetry: the final export failed at shutdown; its data is lost")).toBe(true);
    expect(sidecar.logged("drained")).toBe(true);
  });

  it("exits 0 and closes the stuck client connection when drain.timeoutMs is reached", async () => {
    const { upstream: app, nextHeld } = await startHoldingUpstream();
    const gateway = await startDrainingSidecar(app.url, { delayMs: 100, timeoutMs: 1000 });

    const client = connect(gateway.port);
    const received: Buffer[] = [];
    client.on("data", (chunk: Buffer) => received.push(chunk));
    const clientClosed = serverClosed(client);
    client.write("GET /hold/never HTTP/1.1\r\nHost: podgate.test\r\n\r\n");
    await within(nextHeld(), HANG_MS, "the stuck request never reached the upstream");

    gateway.proc.signal("SIGTERM");
    expect(
      await within(gateway.proc.exited, HANG_MS, "the sidecar did not exit after its drain timeout"),
    ).toEqual({
      code: 0,
      signal: null,
    });
    expect(gateway.logged("draining: timeout reached, closing what is left")).toBe(true);
    await within(clientClosed, HANG_MS, "the stuck client connection was left open");
    // Whatever the gateway may write before closing, it must not pass for a successful answer.
    expect(Buffer.concat(received).toString("latin1")).not.toMatch(/^HTTP\/1\.1 2/);
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "exits as soon as nothing is in flight after %s, without waiting out drain.timeoutMs",
    async (signal) => {
      const { upstream: app } = await startHoldingUpstream();
      // A drain timeout far longer than this test may run: the process must not wait for it.
      const gateway = await startDrainingSidecar(app.url, { delayMs: 100, timeoutMs: 600_000 });
      const served = await fetchOnce(`${gateway.url}/before`);
      expect(served.status).toBe(200);

      gateway.proc.signal(signal);
      await gateway.waitForLog("drained");
      const status = await within(
        gateway.proc.exited,
        HANG_MS,
        `the sidecar logged "drained" but was still running ${HANG_MS} ms later (drain.timeoutMs is 600000)`,
      );
      expect(status).toEqual({ code: 0, signal: null });
    },
  );
});

describe("RunningSidecar (in-process): drain() then close()", () => {
  it("resolves close() called after a completed drain() instead of rejecting", async () => {
    const app = await startEchoUpstream();
    upstream = app;
    const gateway = await startTestSidecar(app.url, { drain: { delayMs: 0, timeoutMs: 1000 } });
    inProcess = gateway;
    expect((await fetchOnce(`${gateway.url}/warm`)).status).toBe(200);
    await gateway.drain();
    expect(await connectOutcome(gateway.port)).toBe("refused");
    await expect(gateway.close()).resolves.toBeUndefined();
  });
});
