/** The messages between worker-exporters.ts (the sidecar's thread) and export-service.ts (the admin worker). */

export type ExportSignal = "traces" | "metrics";

/** What the export service needs: the OTLP/HTTP URL of each signal, and the OTEL_* variables. */
export interface ExportServiceData {
  urls: Partial<Record<ExportSignal, string>>;
  env: Record<string, string>;
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
