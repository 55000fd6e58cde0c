/**
 * The webhook's OpenTelemetry SDK: started only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) is set, it exports the admission metrics (metrics.ts) over
 * OTLP/HTTP every OTEL_METRIC_EXPORT_INTERVAL ms (default 60 000). Service name from
 * OTEL_SERVICE_NAME (default `podgate-webhook`), attributes from OTEL_RESOURCE_ATTRIBUTES.
 * https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 *
 * Metrics only: no span processors, no instrumentations and no context manager, so the request
 * path pays for nothing but the two instruments. Kept apart from sidecar/telemetry (webhooks/ does
 * not import sidecar/ internals).
 */
import { type ContextManager, metrics } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { envDetector, hostDetector } from "@opentelemetry/resources";
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";

/** The OTLP/HTTP metrics URL: the per-signal endpoint as is, or `<base>/v1/metrics`; undefined when neither is set. */
export function otlpMetricsUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) return env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/$/, "")}/v1/metrics` : undefined;
}

/**
 * Starts the SDK and registers its global MeterProvider; call it before the server creates its
 * instruments. Returns the shutdown (flushes the last export), or undefined when no endpoint is set
 * or OTEL_METRICS_EXPORTER is `none`.
 * @example const telemetry = startWebhookTelemetry(process.env); await telemetry?.shutdown();
 */
export function startWebhookTelemetry(env: NodeJS.ProcessEnv): { shutdown(): Promise<void> } | undefined {
  const url = otlpMetricsUrl(env);
  if (url === undefined || env.OTEL_METRICS_EXPORTER === "none") return undefined;
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || "podgate-webhook",
    resourceDetectors: [envDetector, hostDetector],
    metricReaders: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url }),
        exportIntervalMillis: Number(env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000,
      }),
    ],
    spanProcessors: [],
    logRecordProcessors: [],
    instrumentations: [],
    // null: no AsyncLocalStorage context manager and no global propagator.
    contextManager: null as unknown as ContextManager,
    textMapPropagator: null,
  });
  sdk.start();
  return {
    async shutdown() {
      await sdk.shutdown();
      metrics.disable();
    },
  };
}
