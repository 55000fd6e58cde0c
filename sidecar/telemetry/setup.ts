import { type ContextManager, metrics, trace } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { envDetector, hostDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  type IMetricReader,
  type MetricProducer,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  RandomIdGenerator,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import type { SidecarConfig } from "../config.ts";
import type { Redactor } from "../redact.ts";
import { durationHistogram, metricsObserver } from "./metrics.ts";
import { combineObservers, type ExchangeObserver } from "./observer.ts";
import { batchSpanSettings, metricReaderSettings } from "./otel-env.ts";
import { PresetIds } from "./sampled-spans.ts";
import { samplingFromEnv, tracingObserver } from "./tracing.ts";
import { type OpenExportPort, type WorkerExporters, workerExporters } from "./worker-exporters.ts";

/**
 * OpenTelemetry setup with `@opentelemetry/sdk-node`, configured by the standard OTEL_* variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
 * OTEL_SERVICE_NAME (default `podgate-sidecar`), OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_*
 * and OTEL_TRACES_SAMPLER(_ARG); POD_NAME, POD_NAMESPACE and NODE_NAME become `k8s.*` resource
 * attributes. main.ts imports this module only when telemetry is on.
 *
 * No instrumentation, no context manager and no global propagator are installed: the data plane
 * is observed through its ExchangeObserver hook only (perf notes §2).
 */

/** Options of startTelemetry; the test seams replace the exporters. */
export interface TelemetryOptions {
  config: SidecarConfig;
  redact: Redactor;
  /** A channel to the thread that sends OTLP exports (the admin plane's worker). */
  openExportPort: OpenExportPort;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Export spans here, one by one, instead of OTLP (tests: InMemorySpanExporter); turns tracing on. */
  spanExporter?: SpanExporter;
  /**
   * More metric readers (tests: a PeriodicExportingMetricReader over InMemoryMetricExporter), made
   * with the producers every reader must collect besides the SDK (the request-duration histogram).
   */
  metricReaders?: (metricProducers: MetricProducer[]) => IMetricReader[];
  /** The sampling coin; default Math.random. */
  random?: () => number;
}

/** Running telemetry. */
export interface Telemetry {
  readonly observer: ExchangeObserver | undefined;
  /** Collects the metrics as Prometheus text; undefined when metrics are off. */
  readonly scrape: (() => Promise<string>) | undefined;
  /** Flushes and stops exporters, and releases the global providers. */
  shutdown(): Promise<void>;
}

/** The OTLP/HTTP URL for a signal, from the per-signal or the base endpoint; undefined when neither is set. */
export function otlpUrl(env: NodeJS.ProcessEnv, signal: "traces" | "metrics"): string | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/$/, "")}/v1/${signal}` : undefined;
}

/** Resource attributes from the pod: the injector sets these from the downward API. */
function podAttributes(env: NodeJS.ProcessEnv): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (env.POD_NAME) attributes["k8s.pod.name"] = env.POD_NAME;
  if (env.POD_NAMESPACE) attributes["k8s.namespace.name"] = env.POD_NAMESPACE;
  if (env.NODE_NAME) attributes["k8s.node.name"] = env.NODE_NAME;
  return attributes;
}

/** The OTLP/HTTP URLs to export to: a signal that is off, or set to `none`, has none. */
function otlpUrls(options: TelemetryOptions, env: NodeJS.ProcessEnv) {
  const { tracing, metrics } = options.config.telemetry;
  return {
    traces:
      tracing && options.spanExporter === undefined && env.OTEL_TRACES_EXPORTER !== "none"
        ? otlpUrl(env, "traces")
        : undefined,
    metrics: metrics && env.OTEL_METRICS_EXPORTER !== "none" ? otlpUrl(env, "metrics") : undefined,
  };
}

function spanProcessors(
  options: TelemetryOptions,
  env: NodeJS.ProcessEnv,
  exporters: WorkerExporters,
): SpanProcessor[] {
  if (!options.config.telemetry.tracing || env.OTEL_TRACES_EXPORTER === "none") return [];
  if (options.spanExporter !== undefined)
    return [new SimpleSpanProcessor({ exporter: options.spanExporter })];
  const exporter = exporters.spanExporter;
  return exporter === undefined ? [] : [new BatchSpanProcessor({ exporter, ...batchSpanSettings(env) })];
}

/** The readers: the test seam's, Prometheus (always, for /metrics), and OTLP when an endpoint is set. */
function metricReaders(
  options: TelemetryOptions,
  env: NodeJS.ProcessEnv,
  metricProducers: MetricProducer[],
  exporters: WorkerExporters,
) {
  const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers });
  const readers: IMetricReader[] = [...(options.metricReaders?.(metricProducers) ?? []), prometheus];
  const exporter = exporters.metricExporter;
  if (exporter !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({ exporter, metricProducers, ...metricReaderSettings(env) }),
    );
  }
  return { prometheus, readers };
}

/** Starts the SDK and returns the data-plane observer and the scrape handler. */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env;
  const { config } = options;
  const histogram = config.telemetry.metrics ? durationHistogram() : undefined;
  const exporters = workerExporters(otlpUrls(options, env), env, options.openExportPort);
  const { prometheus, readers } =
    histogram === undefined
      ? { prometheus: undefined, readers: [] }
      : metricReaders(options, env, [histogram.producer], exporters);
  const processors = spanProcessors(options, env, exporters);
  const ids = new PresetIds(new RandomIdGenerator());
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || "podgate-sidecar",
    resource: resourceFromAttributes(podAttributes(env)),
    resourceDetectors: [envDetector, hostDetector],
    metricReaders: readers,
    spanProcessors: processors,
    logRecordProcessors: [],
    // We decide sampling before a span exists (tracing.ts); what reaches the SDK is recorded.
    sampler: new AlwaysOnSampler(),
    // Sampled requests choose their span ids when they arrive (the app gets one in traceparent).
    idGenerator: ids,
    instrumentations: [],
    // null: no AsyncLocalStorage context manager and no global propagator (see above).
    contextManager: null as unknown as ContextManager,
    textMapPropagator: null,
  });
  sdk.start();
  const tracing =
    processors.length > 0
      ? tracingObserver({
          tracer: trace.getTracer("podgate"),
          ids,
          sampling: samplingFromEnv(env),
          config,
          redact: options.redact,
          random: options.random,
        })
      : undefined;
  const observer = combineObservers([
    histogram === undefined ? undefined : metricsObserver(metrics.getMeter("podgate"), config, histogram),
    tracing,
  ]);
  return {
    observer,
    scrape: prometheus === undefined ? undefined : () => prometheusText(prometheus),
    async shutdown() {
      tracing?.flush();
      await sdk.shutdown();
      await exporters.close();
      metrics.disable();
      trace.disable();
    },
  };
}

/** PrometheusExporter's default serializer (no prefix, no timestamps), as its own HTTP handler uses. */
const prometheusSerializer = new PrometheusSerializer("", false);

/** The reader's current metrics as Prometheus text (the admin worker serves them at /metrics). */
async function prometheusText(prometheus: PrometheusExporter): Promise<string> {
  const { resourceMetrics, errors } = await prometheus.collect();
  if (errors.length > 0) throw new AggregateError(errors, "collecting the metrics failed");
  return prometheusSerializer.serialize(resourceMetrics);
}
