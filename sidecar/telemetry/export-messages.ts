/** The messages between worker-exporters.ts (the sidecar's thread) and export-worker.ts. */

export type ExportSignal = "traces" | "metrics";

/** The worker's start-up data: the OTLP/HTTP URL of each signal it exports. */
export interface ExportWorkerData {
  urls: Partial<Record<ExportSignal, string>>;
}

/** Send a serialized body, wait for what was queued, or flush and stop a signal's delegate. */
export type ExportRequest =
  | { id: number; kind: "export"; signal: ExportSignal; body: Uint8Array }
  | { id: number; kind: "flush" | "shutdown"; signal: ExportSignal };

/** A request before the worker's client numbers it. */
export type UnnumberedRequest = Unnumbered<ExportRequest>;
type Unnumbered<Request> = Request extends unknown ? Omit<Request, "id"> : never;

/** The answer to a request: an ExportResultCode (0 success, 1 failed) and the error, if any. */
export interface ExportReply {
  id: number;
  code: number;
  error?: Error | undefined;
}
