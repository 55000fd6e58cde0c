import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { parseTraceparent } from "../../../sidecar/telemetry/traceparent.ts";
import { samplingFromEnv } from "../../../sidecar/telemetry/tracing.ts";
import { startOtlpReceiver } from "../../helpers/otlp-receiver.ts";
import { rawRequest } from "../../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

describe("tracing", () => {
  let sidecar: TestSidecar | undefined;
  let upstream: EchoUpstream | undefined;
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await upstream?.close();
  });

  const get = (path: string, headers = "") =>
    rawRequest(
      (sidecar as TestSidecar).port,
      `GET ${path} HTTP/1.1\r\nHost: a\r\n${headers}Connection: close\r\n\r\n`,
    );

  /** Starts an echo upstream and a sidecar tracing into an in-memory exporter, with this sampling coin. */
  async function startTracing(random: () => number, config: object = {}): Promise<InMemorySpanExporter> {
    upstream = await startEchoUpstream();
    const exporter = new InMemorySpanExporter();
    sidecar = await startTestSidecar(
      upstream.url,
      { telemetry: { metrics: false }, ...config },
      { telemetry: { spanExporter: exporter, random } },
    );
    return exporter;
  }

  it("reads the sampler from OTEL_TRACES_SAMPLER, default parentbased_traceidratio at 1 %", () => {
    expect(samplingFromEnv({})).toEqual({ ratio: 0.01, parentBased: true });
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER_ARG: "0.5" })).toEqual({ ratio: 0.5, parentBased: true });
    expect(samplingFromEnv({ OTEL_TRACES_SAMPLER: "always_off" })).toEqual({ ratio: 0, parentBased: false });
    expect(parseTraceparent(PARENT)).toMatchObject({ traceFlags: 1, spanId: "b7ad6b7169203331" });
    expect(parseTraceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01")).toBeUndefined();
  });

  it("builds a server span under the caller's span, a client span for the app, and a decision event", async () => {
    const exporter = await startTracing(() => 1, { routes: [{ path: "/cards/*" }] });
    await get(
      "/cards/4111111111111111",
      `traceparent: ${PARENT}\r\ntracestate: vendor=x\r\nbaggage: k=v\r\n`,
    );
    await get("/nope", `traceparent: ${PARENT}\r\n`);
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(3);
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === "GET /cards/*");
    const client = spans.find((s) => s.kind === 2);
    expect(server?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(server?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(server?.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.response.status_code": 200,
      "http.route": "/cards/*",
      "url.path": "/cards/411111******1111",
      "url.scheme": "http",
    });
    expect(server?.events.map((e) => e.attributes)).toEqual([
      { "podgate.policy": "chain", "podgate.outcome": "allow" },
    ]);
    expect(client?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    const seen = upstream?.received[0]?.headers;
    expect(seen?.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${client?.spanContext().spanId}-01`);
    expect(seen?.tracestate).toBe("vendor=x");
    expect(seen?.baggage).toBe("k=v");
    const denied = spans.find((s) => s.name === "GET" && s.kind === 1);
    expect(denied?.events[0]?.attributes).toEqual({
      "podgate.policy": "route-allowlist",
      "podgate.outcome": "deny",
    });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain("4111111111111111");
  });

  it("makes no span for an unsampled request and passes traceparent, tracestate and baggage through", async () => {
    const exporter = await startTracing(() => 0);
    await get("/a", `traceparent: ${UNSAMPLED}\r\ntracestate: vendor=x\r\nbaggage: k=v\r\n`);
    await expect.poll(() => sidecar?.state.inFlight).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(upstream?.received[0]?.headers).toMatchObject({
      traceparent: UNSAMPLED,
      tracestate: "vendor=x",
      baggage: "k=v",
    });
  });

  it("gives an unsampled request without traceparent a new one with the sampled flag off", async () => {
    const exporter = await startTracing(() => 0.5);
    await get("/a", "baggage: k=v\r\n");
    await get("/b");
    await expect.poll(() => sidecar?.state.inFlight).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const received = upstream?.received ?? [];
    const [first, second] = received.map((r) => r.headers.traceparent as string);
    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(parseTraceparent(first as string)).toBeDefined();
    expect(second).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(second?.slice(3, 35)).not.toBe(first?.slice(3, 35));
    // The trace id is the request id (a UUID the data plane generated), so logs and traces meet.
    const requestId = String(received[0]?.headers["x-request-id"]);
    expect(first?.slice(3, 35)).toBe(requestId.replaceAll("-", ""));
    expect(received[0]?.headers.baggage).toBe("k=v");
  });

  it("gives no traceparent to a request the policies refuse, and a fresh one to the next", async () => {
    const exporter = await startTracing(() => 0.5, { routes: [{ path: "/open" }] });
    const refused = await get("/closed");
    await get("/open");
    await expect.poll(() => sidecar?.state.inFlight).toBe(0);
    expect(refused.status).toBe(404);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const received = upstream?.received ?? [];
    expect(received.map((r) => r.url)).toEqual(["/open"]);
    const traceparent = String(received[0]?.headers.traceparent);
    expect(traceparent.slice(3, 35)).toBe(String(received[0]?.headers["x-request-id"]).replaceAll("-", ""));
  });

  it("takes a random trace id when the request id is not a UUID or is the all-zero UUID", async () => {
    await startTracing(() => 0.5);
    await get("/a", "x-request-id: order-42\r\n");
    await get("/b", "x-request-id: 00000000-0000-0000-0000-000000000000\r\n");
    await get("/c", "x-request-id: 0af76519-16cd-43dd-8448-eb211c80319c\r\n");
    await expect.poll(() => sidecar?.state.inFlight).toBe(0);
    const ids = (upstream?.received ?? []).map((r) => parseTraceparent(r.headers.traceparent as string));
    expect(ids.every((id) => id !== undefined && id.traceFlags === 0)).toBe(true);
    expect(ids[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[1]?.traceId).not.toBe("0".repeat(32));
    expect(ids[2]?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
  });

  it("replaces a malformed traceparent with a new trace and drops its tracestate", async () => {
    const exporter = await startTracing(() => 0.5);
    await get("/a", "traceparent: 00-not-a-trace-01\r\ntracestate: vendor=x\r\n");
    await expect.poll(() => sidecar?.state.inFlight).toBe(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const seen = upstream?.received[0]?.headers;
    expect(seen?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(seen?.tracestate).toBeUndefined();
  });

  it("starts a sampled new trace with the request id as trace id, its spans nested in time", async () => {
    const exporter = await startTracing(() => 0);
    const before = Date.now();
    await get("/a", "x-request-id: 0af76519-16cd-43dd-8448-eb211c80319c\r\n");
    const after = Date.now();
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(2);
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === 1);
    const client = spans.find((s) => s.kind === 2);
    expect(server?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(server?.parentSpanContext).toBeUndefined();
    expect(client?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(client?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(upstream?.received[0]?.headers.traceparent).toBe(
      `00-0af7651916cd43dd8448eb211c80319c-${client?.spanContext().spanId}-01`,
    );
    const ms = (time: [number, number] | undefined) => (time ? time[0] * 1e3 + time[1] / 1e6 : Number.NaN);
    const [serverStart, clientStart] = [ms(server?.startTime), ms(client?.startTime)];
    const [clientEnd, serverEnd] = [ms(client?.endTime), ms(server?.endTime)];
    expect(serverStart).toBeLessThanOrEqual(clientStart);
    expect(clientStart).toBeLessThanOrEqual(clientEnd);
    expect(clientEnd).toBeLessThanOrEqual(serverEnd);
    // Times are the request's own (epoch milliseconds while it ran), not when the spans were built;
    // the slack is for the monotonic clock the spans use against the wall clock Date.now() reads.
    expect(serverStart).toBeGreaterThanOrEqual(before - 50);
    expect(serverEnd).toBeLessThanOrEqual(after + 50);
    expect(server?.events[0]?.time && ms(server.events[0].time)).toBe(clientStart);
  });

  it("samples a request without traceparent by the ratio coin", async () => {
    let coin = 0;
    const exporter = await startTracing(() => [0.005, 0.5][coin++ % 2] as number);
    await get("/a");
    await get("/b");
    await expect.poll(() => sidecar?.state.inFlight).toBe(0);
    await expect.poll(() => exporter.getFinishedSpans().filter((s) => s.kind === 1).length).toBe(1);
    expect(coin).toBe(2);
  });

  it("exports spans over OTLP/HTTP to a real receiver with the pod's resource attributes", async () => {
    upstream = await startEchoUpstream();
    const receiver = await startOtlpReceiver();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_SAMPLER: "always_on",
        OTEL_SERVICE_NAME: "orders-gateway",
        POD_NAME: "orders-7d9f",
        POD_NAMESPACE: "shop",
        NODE_NAME: "node-1",
      };
      sidecar = await startTestSidecar(
        upstream.url,
        { telemetry: { metrics: false } },
        { telemetry: { env } },
      );
      await get("/orders");
      await sidecar.close();
      sidecar = undefined;
    } finally {
      await receiver.close();
    }
    const traces = receiver.received.find((b) => b.url === "/v1/traces");
    expect(traces).toBeDefined();
    const text = traces?.body ?? "";
    for (const value of ["orders-gateway", "orders-7d9f", "shop", "node-1", "k8s.pod.name", "url.path"]) {
      expect(text).toContain(value);
    }
  });
});
