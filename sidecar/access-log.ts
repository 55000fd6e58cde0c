import pino, { type Logger } from "pino";

/** One access-log entry. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  bytes: number;
  requestId: string;
  client: string;
  identity: string | undefined;
  decision: string;
}

/** Writes one access-log line. */
export type AccessLogWriter = (entry: AccessEntry) => void;

/**
 * The access log: one JSON line per request, in the same shape as the logger's own lines (level 30,
 * time, the logger's bindings, `msg: "access"`), written straight to the logger's destination. It
 * skips pino's generic object serialization, which cost about 6 µs a line against 3.5 µs here; the
 * strings a client controls (path, identity) go through JSON.stringify, the rest are tokens we made.
 * @example accessLogWriter(log)({ method: "GET", path: "/", status: 200, ... })
 */
export function accessLogWriter(log: Logger): AccessLogWriter {
  if (!log.isLevelEnabled("info")) return () => undefined;
  const stream = (log as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym];
  const bindings = JSON.stringify(log.bindings()).slice(1, -1);
  const head = `{"level":30,"time":`;
  const middle = `${bindings === "" ? "" : `,${bindings}`},"msg":"access","method":`;
  if (stream === undefined) return (entry) => log.info({ msg: "access", ...entry });
  return function writeAccessLine(entry) {
    stream.write(
      `${head}${Date.now()}${middle}${JSON.stringify(entry.method)},"path":${JSON.stringify(entry.path)},` +
        `"status":${entry.status},"durationMs":${entry.durationMs},"bytes":${entry.bytes},` +
        `"requestId":${JSON.stringify(entry.requestId)},"client":${JSON.stringify(entry.client)},` +
        `${entry.identity === undefined ? "" : `"identity":${JSON.stringify(entry.identity)},`}` +
        `"decision":${JSON.stringify(entry.decision)}}\n`,
    );
  };
}
