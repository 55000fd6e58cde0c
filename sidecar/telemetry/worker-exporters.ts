import type { MessagePort } from "node:worker_threads";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPMetricExporterBase } from "@opentelemetry/exporter-metrics-otlp-http";
import { type IOtlpExportDelegate, OTLPExporterBase } from "@opentelemetry/otlp-exporter-base";
import {
  type ISerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
} from "@opentelemetry/otlp-transformer";
import type { PushMetricExporter, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { ExportReply, ExportServiceData, ExportSignal, UnnumberedRequest } from "./export-messages.ts";

/**
 * OTLP/HTTP exporters (JSON, as OTLPTraceExporter and OTLPMetricExporter send) whose requests leave
 * from the admin plane's worker thread (export-service.ts, served there over a MessageChannel; one
 * more thread would cost about 15 MiB). The batches are serialized here; only the HTTP exchange
 * moves. Why: the data plane's hot path runs Node's shared stream, socket and HTTP-message code, and
 * V8 optimizes that code for the objects it sees. An export from this thread sends one `http`
 * ClientRequest through the same functions every few seconds, and V8 throws away their optimized
 * code ("wrong map") and rebuilds it generic: with exporters in this thread, a telemetry sidecar
 * still deoptimized 22-27 functions (97-106 recompiles) between its 30,000th and 50,000th request,
 * against 1-4 (30-36) with no exporter and 1 (29) with telemetry off (`node --trace-deopt`).
 */

/** The exporters, and the channel's end. */
export interface WorkerExporters {
  spanExporter: SpanExporter | undefined;
  metricExporter: PushMetricExporter | undefined;
  /** Closes the channel (after the SDK has shut the exporters down). */
  close(): Promise<void>;
}

/** Opens a channel to a thread that serves exports (the admin plane's `openExportPort`); throws when there is none. */
export type OpenExportPort = (data: ExportServiceData) => MessagePort;

/**
 * Exporters for each signal that has a URL; the channel opens with the first request, and again
 * after the thread behind it stops.
 * @example workerExporters({ traces: "http://collector:4318/v1/traces" }, process.env, admin.openExportPort).spanExporter
 */
export function workerExporters(
  urls: ExportServiceData["urls"],
  env: NodeJS.ProcessEnv,
  openPort: OpenExportPort,
): WorkerExporters {
  const otelEnv = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[0].startsWith("OTEL_") && entry[1] !== undefined,
    ),
  );
  const channel = new ExportChannel({ urls, env: otelEnv }, openPort);
  return {
    spanExporter:
      urls.traces === undefined
        ? undefined
        : new OTLPExporterBase<ReadableSpan[]>(workerDelegate(channel, "traces", JsonTraceSerializer)),
    metricExporter:
      urls.metrics === undefined
        ? undefined
        : new OTLPMetricExporterBase(
            workerDelegate<ResourceMetrics>(channel, "metrics", JsonMetricsSerializer),
          ),
    close: () => channel.close(),
  };
}

/** An OTLP export delegate that serializes here and sends through the channel. */
function workerDelegate<Internal>(
  channel: ExportChannel,
  signal: ExportSignal,
  serializer: ISerializer<Internal, unknown>,
): IOtlpExportDelegate<Internal> {
  return {
    export(items, resultCallback) {
      const body = serializer.serializeRequest(items);
      if (body === undefined) {
        resultCallback({ code: ExportResultCode.FAILED, error: new Error("Nothing to send") });
        return;
      }
      channel.request({ kind: "export", signal, body }).then((reply) => resultCallback(exportResult(reply)));
    },
    forceFlush: () => channel.request({ kind: "flush", signal }).then(settled),
    shutdown: () => channel.request({ kind: "shutdown", signal }).then(settled),
    // The delegate's own metrics (otel.sdk.exporter.*) need a meter provider; none is given.
    setMetrics: () => undefined,
  };
}

function exportResult(reply: ExportReply): ExportResult {
  return reply.code === ExportResultCode.SUCCESS
    ? { code: ExportResultCode.SUCCESS }
    : { code: ExportResultCode.FAILED, error: reply.error ?? new Error("export failed") };
}

function settled(reply: ExportReply): void {
  if (reply.code !== ExportResultCode.SUCCESS) throw reply.error ?? new Error("export worker failed");
}

/** An open channel and the requests it has not answered yet. */
interface OpenChannel {
  readonly port: MessagePort;
  readonly pending: Map<number, (reply: ExportReply) => void>;
}

/**
 * The channel and its pending requests; when the thread behind it stops, the port closes and fails
 * what it held, and the next request opens another. A request posted to a thread that is just
 * stopping may get no answer: the batch span processor and the metric reader give up on an export
 * after their export timeouts (OTEL_BSP_EXPORT_TIMEOUT, OTEL_METRIC_EXPORT_TIMEOUT).
 */
class ExportChannel {
  private open: OpenChannel | undefined;
  private nextId = 0;
  private readonly data: ExportServiceData;
  private readonly openPort: OpenExportPort;

  constructor(data: ExportServiceData, openPort: OpenExportPort) {
    this.data = data;
    this.openPort = openPort;
  }

  /** Sends a request; the promise always resolves, with a failure when the channel could not answer. */
  request(message: UnnumberedRequest): Promise<ExportReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      try {
        const { port, pending } = this.opened();
        pending.set(id, resolve);
        // A pending export keeps the process alive until it is answered; an idle channel does not.
        port.ref();
        port.postMessage({ ...message, id });
      } catch (error) {
        resolve({ id, code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }

  async close(): Promise<void> {
    const port = this.open?.port;
    this.open = undefined;
    port?.close();
  }

  private opened(): OpenChannel {
    if (this.open !== undefined) return this.open;
    const port = this.openPort(this.data);
    const channel: OpenChannel = { port, pending: new Map() };
    const { pending } = channel;
    port.on("message", (reply: ExportReply) => {
      const resolve = pending.get(reply.id);
      pending.delete(reply.id);
      if (pending.size === 0) port.unref();
      resolve?.(reply);
    });
    port.unref();
    port.once("close", () => {
      if (this.open === channel) this.open = undefined;
      const error = new Error("the OTLP export channel closed (the admin worker stopped)");
      for (const [id, resolve] of pending) resolve({ id, code: ExportResultCode.FAILED, error });
      pending.clear();
    });
    this.open = channel;
    return channel;
  }
}
