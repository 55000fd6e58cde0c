import {
  AggregationTemporality,
  InMemoryMetricExporter,
  type MetricProducer,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it } from "vitest";
import { type OtlpReceiver, startOtlpReceiver } from "../../helpers/otlp-receiver.ts";
import { rawRequest } from "../../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

/** Prometheus text exposition → { "name{labels}": value }, skipping comments. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const sampleOf = (samples: Map<string, number>, name: string, labels: Record<string, string>) => {
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) return value;
  }
  return undefined;
};

describe("metrics", () => {
  let sidecar: TestSidecar;
  let upstream: EchoUpstream;
  /** An OTLP receiver, closed after the sidecar (whose shutdown exports once more). */
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await sidecar.close();
    await receiver?.close();
    receiver = undefined;
    await upstream.close();
  });

  const get = (path: string) =>
    rawRequest(sidecar.port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);

  it("serves a Prometheus scrape on the admin port with the HTTP and policy metrics", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, {
      routes: [{ path: "/ok" }, { path: "/limited" }],
      policies: { rateLimits: [{ name: "tight", key: "global", limits: [{ requests: 1, per: "minute" }] }] },
    });
    await get("/ok");
    await get("/ok");
    await get("/nope");
    await expect.poll(() => sidecar.state.inFlight).toBe(0);
    const response = await fetch(`${sidecar.adminUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/# TYPE http_server_request_duration histogram/);
    const samples = parseExposition(text);
    expect(
      sampleOf(samples, "http_server_request_duration_count", {
        http_request_method: "GET",
        http_response_status_code: "200",
        http_route: "/ok",
      }),
    ).toBe(1);
    expect(
      sampleOf(samples, "http_server_request_duration_count", { http_response_status_code: "429" }),
    ).toBe(1);
    expect(
      sampleOf(samples, "http_server_request_duration_count", { http_response_status_code: "404" }),
    ).toBe(1);
    expect(sampleOf(samples, "http_server_active_requests", { http_request_method: "GET" })).toBe(0);
    expect(
      sampleOf(samples, "podgate_policy_decisions_total", {
        podgate_policy: "route-allowlist",
        podgate_outcome: "deny",
      }),
    ).toBe(1);
    expect(sampleOf(samples, "podgate_policy_decisions_total", { podgate_outcome: "allow" })).toBe(1);
    expect(
      sampleOf(samples, "podgate_ratelimit_rejections_total", { podgate_policy: "rate-limit:tight" }),
    ).toBe(1);
  });

  it("counts upstream errors by code and as allowed decisions, asserted through an in-memory exporter", async () => {
    upstream = await startEchoUpstream();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    let reader: PeriodicExportingMetricReader | undefined;
    const metricReaders = (metricProducers: MetricProducer[]) => {
      reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000, metricProducers });
      return [reader];
    };
    sidecar = await startTestSidecar(
      upstream.url,
      { upstream: { connectTimeoutMs: 500 } },
      { telemetry: { metricReaders } },
    );
    expect((await get("/x")).status).toBe(200);
    await upstream.close();
    expect((await get("/x")).status).toBe(503);
    const webdav = await rawRequest(
      sidecar.port,
      "PROPFIND /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    expect(webdav.status).toBe(503);
    upstream = await startEchoUpstream();
    await expect.poll(() => sidecar.state.inFlight).toBe(0);
    await reader?.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const errors = metrics.find((m) => m.descriptor.name === "podgate.upstream.errors");
    expect(errors?.dataPoints).toEqual([
      expect.objectContaining({ value: 2, attributes: { "error.type": "PODGATE_UPSTREAM_UNAVAILABLE" } }),
    ]);
    // Forwarded requests, answered or failed upstream, are one data point of allowed decisions.
    const decisions = metrics.find((m) => m.descriptor.name === "podgate.policy.decisions");
    expect(decisions?.dataPoints).toEqual([
      expect.objectContaining({
        value: 3,
        attributes: { "podgate.policy": "chain", "podgate.outcome": "allow" },
      }),
    ]);
    const duration = metrics.find((m) => m.descriptor.name === "http.server.request.duration");
    expect(duration?.descriptor.unit).toBe("s");
    expect(duration?.dataPoints.map((point) => point.attributes)).toEqual([
      { "http.request.method": "GET", "http.response.status_code": 200 },
      { "http.request.method": "GET", "http.response.status_code": 503 },
      // A method outside the HTTP spec's list is reported as _OTHER (bounded cardinality).
      { "http.request.method": "_OTHER", "http.response.status_code": 503 },
    ]);
    const active = metrics.find((m) => m.descriptor.name === "http.server.active_requests");
    expect(active?.dataPoints.map((point) => [point.attributes, point.value])).toEqual([
      [{ "http.request.method": "GET" }, 0],
      [{ "http.request.method": "_OTHER" }, 0],
    ]);
  });

  it("exports the metrics over OTLP/HTTP to a real receiver", async () => {
    upstream = await startEchoUpstream();
    receiver = await startOtlpReceiver();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: "100",
      OTEL_SERVICE_NAME: "orders-gateway",
    };
    sidecar = await startTestSidecar(upstream.url, { telemetry: { tracing: false } }, { telemetry: { env } });
    expect((await get("/orders")).status).toBe(200);
    const { received } = receiver;
    // An export made before the request carries the instruments without data points; wait for one after.
    const wanted = ["orders-gateway", "podgate.policy.decisions", "http.server.active_requests"];
    const exported = () =>
      received.find((b) => b.url === "/v1/metrics" && wanted.every((value) => b.body.includes(value)));
    await expect.poll(exported, { timeout: 5000 }).toBeDefined();
  });
});
