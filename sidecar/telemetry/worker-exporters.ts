import { Worker } from "node:worker_threads";
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
import type { ExportReply, ExportSignal, ExportWorkerData, UnnumberedRequest } from "./export-messages.ts";

/**
 * OTLP/HTTP exporters (JSON, as OTLPTraceExporter and OTLPMetricExporter send) whose requests leave
 * from a worker thread (export-worker.ts). The batches are serialized here; only the HTTP exchange
 * moves. Why: the data plane's hot path runs Node's shared stream, socket and HTTP-message code, and
 * V8 optimizes that code for the objects it sees. An export from this thread sends one `http`
 * ClientRequest through the same functions every few seconds, and V8 throws away their optimized
 * code ("wrong map") and rebuilds it generic: with exporters in this thread, a telemetry sidecar
 * still deoptimized 22-27 functions (97-106 recompiles) between its 30,000th and 50,000th request,
 * against 1-4 (30-36) with no exporter and 1 (29) with telemetry off (`node --trace-deopt`).
 */

/** The exporters, and the worker's end. */
export interface WorkerExporters {
  spanExporter: SpanExporter | undefined;
  metricExporter: PushMetricExporter | undefined;
  /** Stops the worker (after the SDK has shut the exporters down). */
  close(): Promise<void>;
}

/**
 * Exporters for each signal that has a URL; the worker starts with the first request.
 * @example workerExporters({ traces: "http://collector:4318/v1/traces" }, process.env).spanExporter
 */
export function workerExporters(urls: ExportWorkerData["urls"], env: NodeJS.ProcessEnv): WorkerExporters {
  const worker = new ExportWorker({ urls }, env);
  return {
    spanExporter:
      urls.traces === undefined
        ? undefined
        : new OTLPExporterBase<ReadableSpan[]>(workerDelegate(worker, "traces", JsonTraceSerializer)),
    metricExporter:
      urls.metrics === undefined
        ? undefined
        : new OTLPMetricExporterBase(
            workerDelegate<ResourceMetrics>(worker, "metrics", JsonMetricsSerializer),
          ),
    close: () => worker.close(),
  };
}

/** An OTLP export delegate that serializes here and sends through the worker. */
function workerDelegate<Internal>(
  worker: ExportWorker,
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
      worker.request({ kind: "export", signal, body }).then((reply) => resultCallback(exportResult(reply)));
    },
    forceFlush: () => worker.request({ kind: "flush", signal }).then(settled),
    shutdown: () => worker.request({ kind: "shutdown", signal }).then(settled),
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

/**
 * The worker file beside this module: the .ts source when run from source, the bundle's
 * export-worker.mjs (an entry point of scripts/build.ts, in the same folder as every chunk) otherwise.
 */
const WORKER_FILE = new URL(
  import.meta.url.endsWith(".ts") ? "./export-worker.ts" : "./export-worker.mjs",
  import.meta.url,
);

/**
 * The worker's heap: it holds only the bodies being sent (each batch processor and metric reader waits
 * for its export before the next, so about two, each a few hundred KiB). With V8's defaults, sized
 * for a main thread, the sidecar's RSS under load was 3-5 MiB higher (203-206 MiB against 198-202).
 */
const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 };

/** A running worker and the requests it has not answered yet. */
interface RunningWorker {
  readonly worker: Worker;
  readonly pending: Map<number, (reply: ExportReply) => void>;
}

/** The worker and its pending requests; a worker that dies fails its own, and the next request starts another. */
class ExportWorker {
  private running: RunningWorker | undefined;
  private nextId = 0;
  private readonly data: ExportWorkerData;
  private readonly env: NodeJS.ProcessEnv;

  constructor(data: ExportWorkerData, env: NodeJS.ProcessEnv) {
    this.data = data;
    this.env = env;
  }

  /** Sends a request; the promise always resolves, with a failure when the worker could not answer. */
  request(message: UnnumberedRequest): Promise<ExportReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      try {
        const { worker, pending } = this.started();
        pending.set(id, resolve);
        // A pending export keeps the process alive until it is answered; an idle worker does not.
        worker.ref();
        worker.postMessage({ ...message, id });
      } catch (error) {
        resolve({ id, code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }

  async close(): Promise<void> {
    const worker = this.running?.worker;
    this.running = undefined;
    await worker?.terminate();
  }

  private started(): RunningWorker {
    if (this.running !== undefined) return this.running;
    const worker = new Worker(WORKER_FILE, {
      workerData: this.data,
      env: this.env,
      resourceLimits: WORKER_HEAP_LIMITS,
    });
    const running: RunningWorker = { worker, pending: new Map() };
    const { pending } = running;
    worker.on("message", (reply: ExportReply) => {
      const resolve = pending.get(reply.id);
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      resolve?.(reply);
    });
    // `error` comes before `exit`; by then a later request may have started the next worker.
    const fail = (error: Error) => {
      if (this.running === running) this.running = undefined;
      for (const [id, resolve] of pending) resolve({ id, code: ExportResultCode.FAILED, error });
      pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the OTLP export worker exited (code ${code})`)));
    this.running = running;
    return running;
  }
}
