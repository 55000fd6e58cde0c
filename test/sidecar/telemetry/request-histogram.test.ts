/** The request-duration histogram aggregated outside the SDK, collected by real readers. */
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
} from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { requestHistogram } from "../../../sidecar/telemetry/request-histogram.ts";

const options = {
  name: "http.server.request.duration",
  unit: "s",
  description: "Duration of HTTP server requests.",
  boundaries: [0.01, 0.1],
  scope: "podgate",
};

describe("request histogram", () => {
  it("counts values into inclusive upper-bound buckets with sum, count, min and max", async () => {
    const histogram = requestHistogram(options);
    const get = histogram.series({ "http.request.method": "GET" });
    histogram.series({ "http.request.method": "PUT" });
    for (const value of [0.005, 0.01, 0.05, 2]) histogram.record(get, value);
    const { resourceMetrics, errors } = await histogram.producer.collect();
    expect(errors).toEqual([]);
    const metric = resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData;
    expect(resourceMetrics.scopeMetrics[0]?.scope.name).toBe("podgate");
    expect(metric.descriptor).toMatchObject({ name: options.name, unit: "s" });
    expect(metric.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
    // The PUT series has no data yet and is left out.
    expect(metric.dataPoints).toHaveLength(1);
    expect(metric.dataPoints[0]?.attributes).toEqual({ "http.request.method": "GET" });
    expect(metric.dataPoints[0]?.value).toEqual({
      buckets: { boundaries: [0.01, 0.1], counts: [2, 1, 1] },
      count: 4,
      sum: 2.065,
      min: 0.005,
      max: 2,
    });
  });

  it("is part of what a Prometheus reader collects, beside the SDK's own instruments", async () => {
    const histogram = requestHistogram(options);
    const reader = new PrometheusExporter({
      preventServerStart: true,
      metricProducers: [histogram.producer],
    });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter("podgate").createCounter("podgate.sdk.counter").add(3);
    const series = histogram.series({ "http.request.method": "GET", "http.response.status_code": 200 });
    histogram.record(series, 0.02);
    histogram.record(series, 0.2);
    const { resourceMetrics } = await reader.collect();
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    const labels = 'http_request_method="GET",http_response_status_code="200",otel_scope_name="podgate"';
    expect(text).toContain("# TYPE http_server_request_duration histogram");
    expect(text).toContain(`http_server_request_duration_bucket{${labels},le="0.01"} 0`);
    expect(text).toContain(`http_server_request_duration_bucket{${labels},le="0.1"} 1`);
    expect(text).toContain(`http_server_request_duration_bucket{${labels},le="+Inf"} 2`);
    expect(text).toContain(`http_server_request_duration_count{${labels}} 2`);
    expect(text).toMatch(/podgate_sdk_counter_total(\{[^}]*\})? 3/);
    await provider.shutdown();
  });
});
