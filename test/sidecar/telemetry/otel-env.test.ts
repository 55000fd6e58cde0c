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

  it("reach the span processor: with OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1 a span is exported at once, not after the 5-s delay", async () => {
    upstream = await startEchoUpstream();
    receiver = await startOtlpReceiver();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1",
    };
    sidecar = await startTestSidecar(upstream.url, { telemetry: { metrics: false } }, { telemetry: { env } });
    await rawRequest(sidecar.port, "GET /orders HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const exportedTraces = () => (receiver as OtlpReceiver).received.filter((r) => r.url === "/v1/traces");
    await expect.poll(() => exportedTraces().length, { timeout: 3000 }).toBeGreaterThan(0);
  });

  it("stop a sidecar that is given a bad one before it serves", async () => {
    upstream = await startEchoUpstream();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_BSP_SCHEDULE_DELAY: "5s" };
    await expect(startTestSidecar(upstream.url, {}, { telemetry: { env } })).rejects.toThrow(
      'OTEL_BSP_SCHEDULE_DELAY: "5s" is not a whole number ≥ 1',
    );
  });
});
