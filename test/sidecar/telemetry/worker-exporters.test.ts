import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { workerExporters } from "../../../sidecar/telemetry/worker-exporters.ts";
import { startTestAdminPlane, type TestAdminPlane } from "../../helpers/admin-plane.ts";
import { startOtlpReceiver } from "../../helpers/otlp-receiver.ts";
import { rawRequest } from "../../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

/** Finished spans made by a real tracer, to hand to an exporter. */
function someSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  provider.getTracer("test").startSpan("GET /orders").end();
  return memory.getFinishedSpans();
}

const exported = (exporter: { export(spans: ReadableSpan[], done: (r: ExportResult) => void): void }) =>
  new Promise<ExportResult>((resolve) => exporter.export(someSpans(), resolve));

describe("OTLP exporters in the admin worker", () => {
  let sidecar: TestSidecar | undefined;
  let upstream: EchoUpstream | undefined;
  let admin: TestAdminPlane | undefined;
  afterEach(async () => {
    await sidecar?.close();
    await admin?.plane.close();
    sidecar = admin = undefined;
    await upstream?.close();
  });

  it("send traces and metrics from another thread: the thread serving requests opens no HTTP client request", async () => {
    const clientRequests: string[] = [];
    const onRequest = (message: unknown) => {
      const { request } = message as { request: http.ClientRequest };
      clientRequests.push(`${request.method} ${request.host}${request.path}`);
    };
    subscribe("http.client.request.start", onRequest);
    upstream = await startEchoUpstream();
    const receiver = await startOtlpReceiver();
    try {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: "always_on" };
      sidecar = await startTestSidecar(upstream.url, {}, { telemetry: { env } });
      const response = await rawRequest(
        sidecar.port,
        "GET /orders HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      );
      expect(response.status).toBe(200);
      await sidecar.close();
      sidecar = undefined;
    } finally {
      unsubscribe("http.client.request.start", onRequest);
      await receiver.close();
    }
    const paths = receiver.received.map((r) => r.url);
    expect(paths).toContain("/v1/traces");
    expect(paths).toContain("/v1/metrics");
    expect(receiver.received.find((r) => r.url === "/v1/traces")?.body).toContain("/orders");
    expect(clientRequests).toEqual([]);
  });

  it("fail the exports the admin worker held when it stops, and send again once it is back", async () => {
    // A receiver that answers only the second request: the first export hangs until the worker stops.
    let requests = 0;
    const receiver = http.createServer((req, res) => {
      req.resume();
      if (++requests > 1) req.on("end", () => res.writeHead(200).end("{}"));
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
    admin = await startTestAdminPlane();
    const exporters = workerExporters({ traces: url }, process.env, admin.plane.openExportPort);
    try {
      const spanExporter = exporters.spanExporter;
      if (spanExporter === undefined) throw new Error("no span exporter for a traces URL");
      const hanging = exported(spanExporter);
      await expect.poll(() => requests).toBe(1);
      await admin.plane.worker?.terminate();
      const failed = await hanging;
      expect(failed.code).toBe(ExportResultCode.FAILED);
      expect(failed.error?.message).toMatch(/export channel closed/);
      // Until the admin plane has started its worker again, an export fails at once.
      const meanwhile = await exported(spanExporter);
      expect(meanwhile.error?.message).toMatch(/admin worker is restarting/);
      await expect
        .poll(async () => (await exported(spanExporter)).code, { timeout: 10_000 })
        .toBe(ExportResultCode.SUCCESS);
      expect(requests).toBe(2);
    } finally {
      await exporters.close();
      receiver.closeAllConnections();
      receiver.close();
    }
  });

  it("have no exporter for a signal without a URL", async () => {
    const noThread = () => {
      throw new Error("not called: no export was made");
    };
    const exporters = workerExporters({ metrics: "http://127.0.0.1:1/v1/metrics" }, process.env, noThread);
    expect(exporters.spanExporter).toBeUndefined();
    expect(exporters.metricExporter).toBeDefined();
    await exporters.close();
  });
});
