import http from "node:http";
import pino from "pino";
import { parseConfig } from "../../sidecar/config.ts";
import { startSidecar } from "../../sidecar/main.ts";
import { lineSink } from "./log-lines.ts";

/** A sidecar (startSidecar, with the full compiled chain) on a real socket, for the edge policy tests. */
export interface EdgeSidecar {
  readonly host: string;
  readonly port: number;
  /** Access-log lines so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts the edge sidecar on `host` (default 127.0.0.1), port 0; `overrides` merge into the config. */
export async function startEdgeSidecar(
  upstreamUrl: string,
  overrides: Record<string, unknown> = {},
  host = "127.0.0.1",
): Promise<EdgeSidecar> {
  const config = parseConfig({
    listener: { host, port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    drain: { delayMs: 0, timeoutMs: 2000 },
    ...overrides,
    upstream: { url: upstreamUrl },
  });
  const lines: string[] = [];
  const sidecar = await startSidecar(config, { log: pino({ level: "info" }, lineSink(lines)) });
  return {
    host,
    port: sidecar.data.port,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    close: () => sidecar.close(),
  };
}

/** A response as a test reads it. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What `send` sends: the target defaults to the sidecar's host and port. */
export interface SendOptions {
  method?: string;
  path?: string;
  /** Header list: repeated names and exact casing are kept. */
  headers?: Array<[string, string]>;
  /** Connect from this local address (127.0.0.2, ::1). */
  localAddress?: string;
  /** Connect to this host instead of the sidecar's listener host (e.g. 127.0.0.1 on a `::` listener). */
  host?: string;
}

/** Sends one request on a fresh connection and reads the whole answer. */
export function send(sidecar: EdgeSidecar, options: SendOptions = {}): Promise<Answer> {
  const headers = (options.headers ?? []).flat();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.host ?? sidecar.host,
        port: sidecar.port,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: ["Host", "app.example", ...headers],
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The request the echo upstream reflected, from its JSON answer. */
export function reflected(answer: Answer): {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
} {
  return JSON.parse(answer.body) as { method: string; url: string; headers: http.IncomingHttpHeaders };
}
