import { afterEach, describe, expect, it } from "vitest";
import { batchSpanSettings, metricReaderSettings } from "../../../sidecar/telemetry/otel-env.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../../helpers/otlp-receiver.ts";
import { rawRequest } from "../../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

describe("numeric OTEL_* variables", () => {
  let sidecar: TestSidecar | undefined;
  let upstream: EchoUpstream | undefined;
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await upstream?.close();
    await receiver?.close();
  });

  it("become the batch span processor's and the metric reader's options; unset or empty ones are left out", () => {
    expect(
      batchSpanSettings({
        OTEL_BSP_SCHEDULE_DELAY: "1000",
        OTEL_BSP_MAX_QUEUE_SIZE: " 4096 ",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "",
      }),
    ).toEqual({ scheduledDelayMillis: 1000, maxQueueSize: 4096 });
    expect(metricReaderSettings({ OTEL_METRIC_EXPORT_INTERVAL: "15000" })).toEqual({
      exportIntervalMillis: 15000,
    });
    expect(metricReaderSettings({})).toEqual({});
  });

  it("stop the sidecar with every variable that is not a whole number ≥ 1, by name and value", () => {
    const bad = {
      OTEL_BSP_SCHEDULE_DELAY: "5s",
      OTEL_BSP_EXPORT_TIMEOUT: "-1",
      OTEL_BSP_MAX_QUEUE_SIZE: "0",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1.5",
    };
    expect(() => batchSpanSettings(bad)).toThrow(
      [
        'OTEL_BSP_SCHEDULE_DELAY: "5s" is not a whole number ≥ 1',
        'OTEL_BSP_EXPORT_TIMEOUT: "-1" is not a whole number ≥ 1',
        'OTEL_BSP_MAX_QUEUE_SIZE: "0" is not a whole number ≥ 1',
        'OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1.5" is not a whole number ≥ 1',
      ].join("\n  "),
    );
    expect(() =>
      metricReaderSettings({ OTEL_METRIC_EXPORT_INTERVAL: "1000", OTEL_METRIC_EXPORT_TIMEOUT: "5000" }),
    ).toThrow("OTEL_METRIC_EXPORT_TIMEOUT: 5000 is longer than OTEL_METRIC_EXPORT_INTERVAL (1000)");
  });

  it("reach the span processor: with OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1 every export carries one span", async () => {
    upstream = await startEchoUpstream();
    receiver = await startOtlpReceiver();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1",
    };
    sidecar = await startTestSidecar(upstream.url, { telemetry: { metrics: false } }, { telemetry: { env } });
    await rawRequest(sidecar.port, "GET /orders HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    await sidecar.close();
    sidecar = undefined;
    // One sampled request makes a server and a client span; the default batch (512) sends both at once.
    const spansPerExport = receiver.received
      .filter((r) => r.url === "/v1/traces")
      .map((r) => spanCount(JSON.parse(r.body)));
    expect(spansPerExport).toEqual([1, 1]);
  });

  it("stop a sidecar that is given a bad one before it serves", async () => {
    upstream = await startEchoUpstream();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_BSP_SCHEDULE_DELAY: "5s" };
    await expect(startTestSidecar(upstream.url, {}, { telemetry: { env } })).rejects.toThrow(
      'OTEL_BSP_SCHEDULE_DELAY: "5s" is not a whole number ≥ 1',
    );
  });
});

/** The spans in one OTLP/JSON trace export. */
function spanCount(body: { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> }): number {
  return body.resourceSpans.flatMap((r) => r.scopeSpans).reduce((sum, scope) => sum + scope.spans.length, 0);
}
