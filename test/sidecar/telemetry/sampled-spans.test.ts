import {
  InMemorySpanExporter,
  RandomIdGenerator,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { PresetIds, type SampledRequest, spanBatcher } from "../../../sidecar/telemetry/sampled-spans.ts";

/** A finished, forwarded sampled request with these ids. */
function request(index: number): SampledRequest {
  const now = Date.now();
  return {
    parent: undefined,
    traceState: undefined,
    traceId: index.toString(16).padStart(32, "a"),
    serverSpanId: index.toString(16).padStart(16, "b"),
    clientSpanId: index.toString(16).padStart(16, "c"),
    startTime: now - 3,
    forwardTime: now - 2,
    endTime: now,
    method: "GET",
    startAttributes: { "http.request.method": "GET", "url.path": "/a" },
    status: 200,
    route: "/a",
    decision: "forward",
    identity: "alice",
  };
}

describe("sampled spans", () => {
  it("hands out a preset id once, then random ones", () => {
    const ids = new PresetIds(new RandomIdGenerator());
    ids.traceId = "0af7651916cd43dd8448eb211c80319c";
    ids.spanId = "b7ad6b7169203331";
    expect(ids.generateTraceId()).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(ids.generateSpanId()).toBe("b7ad6b7169203331");
    const [traceId, spanId] = [ids.generateTraceId(), ids.generateSpanId()];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe("0af7651916cd43dd8448eb211c80319c");
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe("b7ad6b7169203331");
  });

  it("builds a batch when 64 requests wait, the rest on flush, with the ids each request chose", async () => {
    const exporter = new InMemorySpanExporter();
    const ids = new PresetIds(new RandomIdGenerator());
    const provider = new TracerProvider({
      idGenerator: ids,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const batcher = spanBatcher({
      tracer: provider.getTracer("test"),
      ids,
      upstreamAttributes: { "server.address": "127.0.0.1", "server.port": 8080 },
    });
    for (let i = 0; i < 63; i++) batcher.add(request(i));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    batcher.add(request(63));
    expect(exporter.getFinishedSpans()).toHaveLength(128);
    batcher.add(request(64));
    expect(exporter.getFinishedSpans()).toHaveLength(128);
    batcher.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(130);
    const server = spans.find((s) => s.kind === 1 && s.spanContext().spanId === request(64).serverSpanId);
    const client = spans.find((s) => s.kind === 2 && s.spanContext().spanId === request(64).clientSpanId);
    expect(server?.spanContext().traceId).toBe(request(64).traceId);
    expect(server?.name).toBe("GET /a");
    expect(server?.attributes).toMatchObject({ "http.route": "/a", "enduser.id": "alice", "url.path": "/a" });
    expect(client?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(client?.attributes).toMatchObject({ "http.response.status_code": 200, "server.port": 8080 });
    await provider.shutdown();
  });
});
