import type { MessagePort } from "node:worker_threads";
import { ExportResultCode } from "@opentelemetry/core";
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from "@opentelemetry/otlp-exporter-base/node-http";
import type { IExporterMetricsHelper, ISerializer } from "@opentelemetry/otlp-transformer";
import type { ExportReply, ExportRequest, ExportServiceData, ExportSignal } from "./export-messages.ts";

/**
 * Sends OTLP/HTTP exports in the admin plane's worker thread (see worker-exporters.ts for why they
 * leave the data plane's thread). It gets request bodies already serialized and sends them with
 * OpenTelemetry's own HTTP export delegate, built as OTLPTraceExporter and OTLPMetricExporter build
 * theirs: the same OTEL_EXPORTER_OTLP_* headers, compression, timeout, certificates and retries.
 */

/** The bodies arrive serialized: the delegate's serializer hands them on as they are. */
const ALREADY_SERIALIZED: ISerializer<Uint8Array, undefined> = {
  serializeRequest: (body) => body,
  deserializeResponse: () => undefined,
};

/**
 * Per signal: its OTEL_EXPORTER_OTLP_<env>_* variables, its default path, and what the delegate's
 * self-observability metrics would count (nothing: they get no meter provider, and a body is bytes).
 */
const SIGNALS: Record<
  ExportSignal,
  { env: string; path: string; component: string; items: IExporterMetricsHelper<Uint8Array> }
> = {
  traces: {
    env: "TRACES",
    path: "v1/traces",
    component: "otlp_http_span_exporter",
    items: { name: "span", countItems: () => 0 },
  },
  metrics: {
    env: "METRICS",
    path: "v1/metrics",
    component: "otlp_http_metric_exporter",
    items: { name: "metric_data_point", countItems: () => 0 },
  },
};

function delegateFor(signal: ExportSignal, url: string) {
  const { env, path, component, items } = SIGNALS[signal];
  return createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url }, env, path, { "Content-Type": "application/json" }),
    ALREADY_SERIALIZED,
    component,
    items,
    undefined,
  );
}

/**
 * Answers export requests arriving on `port` (one end of a MessageChannel; the other is the
 * sidecar's, in worker-exporters.ts).
 * @example serveExports(port, { urls: { traces: "http://collector:4318/v1/traces" }, env: {} })
 */
export function serveExports(port: MessagePort, { urls, env }: ExportServiceData): void {
  // The delegates read OTEL_EXPORTER_OTLP_* from process.env, this thread's own copy: give them the
  // sidecar's telemetry environment (process.env in production, a test's env in tests).
  Object.assign(process.env, env);
  const delegates = new Map(
    Object.entries(urls).flatMap(([signal, url]) =>
      url === undefined ? [] : [[signal as ExportSignal, delegateFor(signal as ExportSignal, url)] as const],
    ),
  );
  port.on("message", (request: ExportRequest) => {
    const reply = (answer: Omit<ExportReply, "id">) => port.postMessage({ id: request.id, ...answer });
    const delegate = delegates.get(request.signal);
    if (delegate === undefined) {
      reply({ code: ExportResultCode.FAILED, error: new Error(`no OTLP endpoint for ${request.signal}`) });
      return;
    }
    switch (request.kind) {
      case "export":
        delegate.export(request.body, (result) => reply({ code: result.code, error: result.error }));
        return;
      case "flush":
      case "shutdown":
        (request.kind === "flush" ? delegate.forceFlush() : delegate.shutdown()).then(
          () => reply({ code: ExportResultCode.SUCCESS }),
          (error: Error) => reply({ code: ExportResultCode.FAILED, error }),
        );
        return;
    }
  });
}
