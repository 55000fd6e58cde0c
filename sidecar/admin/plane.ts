import type { AddressInfo } from "node:net";
import { MessageChannel, Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { SidecarConfig } from "../config.ts";
import { redactConfig } from "../config.ts";
import type { GatewayState } from "../data-plane.ts";
import type { OpenExportPort } from "../telemetry/worker-exporters.ts";
import type {
  AdminAnswer,
  AdminListen,
  AdminListenResult,
  AdminQuestion,
  AdminServeExports,
  AdminWorkerData,
  AdminWorkerMessage,
} from "./messages.ts";

/**
 * The admin plane runs in a worker thread (worker.ts, routes.ts). Why: V8 optimizes Node's HTTP
 * server code for the objects the data plane gives it, and a fastify request in the same thread
 * sends other shapes through it. With the admin plane in the data plane's thread, `/readyz` fetched
 * about 8 times a second deoptimized 52-54 functions between a sidecar's 30,000th and 70,000th
 * request, against 1 without probes (`node --trace-deopt`); probes every 500 ms cost 3.4 % CPU per
 * request, and probes starting on a warm sidecar 14.5 % over the next 5 s. Kubelet probes and
 * Prometheus scrapes do this in every pod. This thread answers only small messages: its state
 * (alive, draining) and, for /metrics, the Prometheus text it collects. The same worker sends the
 * OTLP exports (openExportPort), so telemetry costs no second thread.
 */

/** The running admin plane. */
export interface AdminPlane {
  readonly address: AddressInfo;
  /** The current worker, undefined while it restarts (tests stop it to check that it comes back). */
  readonly worker: Worker | undefined;
  /** A channel to the worker for OTLP exports; throws while it restarts. */
  readonly openExportPort: OpenExportPort;
  /** Stops the worker and with it the admin listener (and the OTLP exports: close telemetry first). */
  close(): Promise<void>;
}

/** An admin worker that is loading or loaded, and not listening yet. */
export interface PreparedAdminPlane {
  /**
   * Listens on config.admin once the data plane listens; rejects with the listen error (EADDRINUSE,
   * ...). `scrape` gives the Prometheus text when metrics are on.
   */
  listen(scrape: (() => Promise<string>) | undefined): Promise<AdminPlane>;
  /** A channel to the worker for OTLP exports (telemetry starts before the admin plane listens). */
  readonly openExportPort: OpenExportPort;
  /** Stops the worker when the sidecar fails to start. */
  abort(): Promise<void>;
}

/** What prepareAdminPlane needs. */
export interface AdminPlaneOptions {
  config: SidecarConfig;
  state: Readonly<GatewayState>;
  log: Logger;
}

/** How long /healthz and /readyz wait for this thread: the kubelet's default probe timeout is 1 s. */
const STATUS_TIMEOUT_MS = 1000;
/** How long /metrics waits for the metrics: Prometheus's default scrape timeout is 10 s. */
const METRICS_TIMEOUT_MS = 10_000;
/** The worker's heap: fastify and a few small requests; V8's defaults are sized for a main thread. */
const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 };
/** A worker that stops on its own is started again after this delay. */
const RESTART_DELAY_MS = 1000;

/**
 * The worker file beside this module: the .ts source when run from source, the bundle's
 * admin-worker.mjs (an entry point of scripts/build.ts, in the same folder as every chunk) otherwise.
 */
const WORKER_FILE = new URL(
  import.meta.url.endsWith(".ts") ? "./worker.ts" : "./admin-worker.mjs",
  import.meta.url,
);

/**
 * Starts the admin worker, which loads fastify while the data plane starts. A worker that stops
 * after listening is started again on the same port, with an error logged.
 * @example const admin = await prepareAdminPlane({ config, state, log }).listen(undefined); admin.address.port // 9901
 */
export function prepareAdminPlane(options: AdminPlaneOptions): PreparedAdminPlane {
  const { config } = options;
  const app = new URL(config.upstream.url);
  const data: AdminWorkerData = {
    host: config.admin.host,
    port: config.admin.port,
    app: {
      url: config.upstream.url,
      host: app.hostname.replace(/^\[|\]$/g, ""),
      port: Number(app.port || 80),
    },
    connectTimeoutMs: Math.min(config.upstream.connectTimeoutMs, 1000),
    statusTimeoutMs: STATUS_TIMEOUT_MS,
    metricsTimeoutMs: METRICS_TIMEOUT_MS,
    effectiveConfig: redactConfig(config),
    metrics: config.telemetry.metrics,
  };
  const plane: PlaneState = { ...options, scrape: undefined, current: undefined };
  const first = startWorker(data, plane);
  const openExportPort = exportPortOpener(plane);
  return {
    async listen(scrape) {
      plane.scrape = scrape;
      const address = await listenOn(first, plane);
      return supervise(first, { ...data, port: address.port }, plane, { address, openExportPort });
    },
    openExportPort,
    abort: () => first.terminate().then(() => undefined),
  };
}

/**
 * What the plane's successive workers share: the options, the scrape function once telemetry has
 * started, and the worker now running.
 */
interface PlaneState extends AdminPlaneOptions {
  scrape: (() => Promise<string>) | undefined;
  /** Undefined from a worker's exit until its restart. */
  current: Worker | undefined;
}

/** Opens a MessageChannel and hands one end to the current worker, which serves exports on it. */
function exportPortOpener(plane: PlaneState): OpenExportPort {
  return (data) => {
    const worker = plane.current;
    if (worker === undefined)
      throw new Error("the admin worker is restarting: no thread sends OTLP exports now");
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ kind: "serve-exports", port: port2, data } satisfies AdminServeExports, [port2]);
    return port1;
  };
}

/** Starts one worker (not keeping the process alive until it listens), answering its questions. */
function startWorker(data: AdminWorkerData, plane: PlaneState): Worker {
  const worker = new Worker(WORKER_FILE, { workerData: data, resourceLimits: WORKER_HEAP_LIMITS });
  plane.current = worker;
  worker.once("exit", () => {
    if (plane.current === worker) plane.current = undefined;
  });
  worker.unref();
  // Without a listener, a worker's uncaught error would be thrown in this thread.
  worker.on("error", (error) => plane.log.error({ err: error }, "admin plane: its worker failed"));
  worker.on("message", (message: AdminWorkerMessage) => {
    if (message.kind === "status" || message.kind === "metrics") answer(worker, message, plane);
  });
  return worker;
}

/** Tells a worker to listen and resolves with its address. */
async function listenOn(worker: Worker, plane: PlaneState): Promise<AddressInfo> {
  const result = new Promise<AdminListenResult>((resolve, reject) => {
    const onMessage = (message: AdminWorkerMessage) => {
      if (message.kind !== "listening" && message.kind !== "listen-failed") return;
      worker.off("message", onMessage);
      resolve(message);
    };
    worker.on("message", onMessage);
    worker.once("exit", (code) => reject(new Error(`admin plane: its worker exited (code ${code})`)));
    worker.once("error", reject);
  });
  worker.postMessage({ kind: "listen" } satisfies AdminListen);
  const outcome = await result;
  if (outcome.kind === "listen-failed") {
    await worker.terminate();
    throw Object.assign(new Error(`admin plane: ${outcome.message}`), { code: outcome.code });
  }
  worker.ref();
  plane.log.debug({ port: outcome.port }, "admin plane listening");
  return outcome;
}

/** Restarts the worker whenever it stops other than by close(). */
function supervise(
  first: Worker,
  data: AdminWorkerData,
  plane: PlaneState,
  fixed: Pick<AdminPlane, "address" | "openExportPort">,
): AdminPlane {
  let closing = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const restart = () => {
    const next = startWorker(data, plane);
    listenOn(next, plane).then(
      () => watch(next),
      (error: Error) => plane.log.error({ err: error }, "admin plane: could not start it again; probes fail"),
    );
  };
  const watch = (worker: Worker) => {
    worker.once("exit", (code) => {
      if (closing) return;
      plane.log.error({ code }, "admin plane: its worker stopped; starting it again");
      restartTimer = setTimeout(restart, RESTART_DELAY_MS);
    });
  };
  watch(first);
  return {
    ...fixed,
    get worker() {
      return plane.current;
    },
    async close() {
      closing = true;
      clearTimeout(restartTimer);
      await plane.current?.terminate();
    },
  };
}

/** Answers the worker's question: the gateway's state, or the Prometheus text. */
function answer(worker: Worker, question: AdminQuestion, plane: PlaneState) {
  const { id } = question;
  const post = (reply: AdminAnswer) => worker.postMessage(reply);
  if (question.kind === "status") {
    post({ id, kind: "status", draining: plane.state.draining });
    return;
  }
  if (plane.scrape === undefined) {
    post({ id, kind: "error", message: "metrics are off" });
    return;
  }
  plane.scrape().then(
    (text) => post({ id, kind: "metrics", text }),
    (error: Error) => {
      plane.log.error({ err: error }, "admin plane: collecting the metrics failed");
      post({ id, kind: "error", message: "collecting the metrics failed" });
    },
  );
}
