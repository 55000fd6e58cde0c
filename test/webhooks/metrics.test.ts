import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import type { DecisionLog } from "../../webhooks/context.ts";
import { webhookMetrics } from "../../webhooks/metrics.ts";

describe("webhook metrics", () => {
  it("counts reviews by webhook, operation and outcome and records their duration", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const recorder = webhookMetrics(provider);
    const log = { webhook: "mutate", operation: "CREATE", decision: "injected" } as DecisionLog;
    recorder.record(log, 0.004);
    recorder.record(log, 0.006);
    recorder.record({ ...log, webhook: "validate", decision: "denied" }, 0.001);
    await reader.forceFlush();
    const found = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const reviews = found.find((m) => m.descriptor.name === "podgate.admission.reviews");
    expect(reviews?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ "podgate.webhook": "mutate", operation: "CREATE", outcome: "injected" }, 2],
      [{ "podgate.webhook": "validate", operation: "CREATE", outcome: "denied" }, 1],
    ]);
    const duration = found.find((m) => m.descriptor.name === "podgate.admission.duration");
    expect(duration?.descriptor.unit).toBe("s");
    await provider.shutdown();
  });
});
