import type { MessagePort } from "node:worker_threads";
import type { ExportServiceData } from "../telemetry/export-messages.ts";

/** The messages between plane.ts (the data plane's thread) and worker.ts (the admin plane's thread). */

/** What the admin worker needs: where to listen, the app to probe, the effective config, the timeouts. */
export interface AdminWorkerData {
  host: string;
  port: number;
  /** The app (config.upstream.url) whose port /readyz checks. */
  app: { url: string; host: string; port: number };
  /** How long /readyz waits for the app to accept a connection. */
  connectTimeoutMs: number;
  /** How long /healthz and /readyz wait for the data plane's thread to answer. */
  statusTimeoutMs: number;
  /** How long /metrics waits for the data plane's thread to collect and serialize the metrics. */
  metricsTimeoutMs: number;
  /** The effective config with its secrets redacted, served at /config. */
  effectiveConfig: unknown;
  /** Whether /metrics exists (metrics are on). */
  metrics: boolean;
}

/** A question from the worker: the data plane's state (is it alive, is it draining) or the metrics. */
export interface AdminQuestion {
  id: number;
  kind: "status" | "metrics";
}

/** The worker's address once it listens, or why it could not. */
export type AdminListenResult =
  | { kind: "listening"; address: string; family: string; port: number }
  | { kind: "listen-failed"; code: string | undefined; message: string };

/** Everything the worker posts. */
export type AdminWorkerMessage = AdminQuestion | AdminListenResult;

/** Sent once the data plane listens: the admin plane listens only after it (see injector/container.ts). */
export interface AdminListen {
  kind: "listen";
}

/** Serve OTLP exports on `port` (telemetry/export-service.ts): the admin worker hosts them too. */
export interface AdminServeExports {
  kind: "serve-exports";
  port: MessagePort;
  data: ExportServiceData;
}

/** The data plane's answer to a question; `error` when the metrics could not be collected. */
export type AdminAnswer =
  | { id: number; kind: "status"; draining: boolean }
  | { id: number; kind: "metrics"; text: string }
  | { id: number; kind: "error"; message: string };
