import { type Counter, type Histogram, type MeterProvider, metrics } from "@opentelemetry/api";
import type { DecisionLog } from "./context.ts";

/**
 * The webhook's metrics: `podgate.admission.reviews` (by webhook, operation and outcome) and
 * `podgate.admission.duration` (seconds). Recorded through the OpenTelemetry API only: without a
 * started SDK (the webhook's entry point starts one) the meter is a no-op.
 */

/** Records one answered review. */
export interface WebhookMetrics {
  record(log: DecisionLog, seconds: number): void;
}

/** Creates the instruments once; default provider: the global one. */
export function webhookMetrics(provider: MeterProvider = metrics.getMeterProvider()): WebhookMetrics {
  const meter = provider.getMeter("podgate-webhook");
  const reviews: Counter = meter.createCounter("podgate.admission.reviews", {
    unit: "{review}",
    description: "Admission reviews answered, by webhook, operation and outcome.",
  });
  const duration: Histogram = meter.createHistogram("podgate.admission.duration", {
    unit: "s",
    description: "Time to answer an admission review.",
    advice: {
      explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    },
  });
  return {
    record(log, seconds) {
      const attributes = { "podgate.webhook": log.webhook, operation: log.operation, outcome: log.decision };
      reviews.add(1, attributes);
      duration.record(seconds, attributes);
    },
  };
}
