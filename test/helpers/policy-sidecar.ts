import http from "node:http";
import pino, { type Logger } from "pino";
import type { Policy } from "../../sidecar/chain.ts";
import { parseConfig, type SidecarConfig } from "../../sidecar/config.ts";
import { startSidecar } from "../../sidecar/main.ts";
import { bodyLimit } from "../../sidecar/policies/body-limit.ts";
import { routeAllowlist } from "../../sidecar/policies/route-allowlist.ts";
import { lineSink } from "./log-lines.ts";

/** What a test's policy factory gets: the parsed config, the captured log, a signal aborted on close. */
export interface PolicyFactoryContext {
  config: SidecarConfig;
  log: Logger;
  signal: AbortSignal;
}

/** A sidecar on 127.0.0.1:0 running the test's policies between the route allowlist and the body limit. */
export interface PolicySidecar {
  readonly port: number;
  readonly url: string;
  readonly config: SidecarConfig;
  /** Every log line so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** Every log line so far, as written. */
  logText(): string;
  close(): Promise<void>;
}

/**
 * Starts a sidecar (startSidecar) in front of `upstreamUrl` with the chain [route allowlist (when
 * `routes` is set), ...the test's policies, body limit]: the place the identity policies take in
 * main.ts, after the allowlist that sets `routeIndex`. `overrides` merge into the config at the top level.
 */
export async function startPolicySidecar(
  upstreamUrl: string,
  overrides: Record<string, unknown>,
  policies: (context: PolicyFactoryContext) => Policy[],
): Promise<PolicySidecar> {
  const { lines, log } = capturedLog();
  const config = parseConfig({
    listener: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    drain: { delayMs: 0, timeoutMs: 2000 },
    ...overrides,
    upstream: { url: upstreamUrl },
  });
  const sidecar = await startSidecar(config, {
    log,
    policies: (parsed, deps) =>
      chainOf(parsed, policies({ config: parsed, log, signal: deps.signal ?? new AbortController().signal })),
  });
  return {
    port: sidecar.data.port,
    url: `${config.listener.tls === undefined ? "http" : "https"}://127.0.0.1:${sidecar.data.port}`,
    config,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join("\n"),
    close: () => sidecar.close(),
  };
}

/** The route allowlist (when `routes` is set), the given policies, then the body limit. */
function chainOf(config: SidecarConfig, policies: Policy[]): Policy[] {
  const allowlist = config.routes === undefined ? [] : [routeAllowlist(config.routes)];
  return [...allowlist, ...policies, bodyLimit(config.limits.maxBodyBytes)];
}

/** A pino logger whose lines are kept in memory. */
function capturedLog(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  return { lines, log: pino({ level: "info" }, lineSink(lines)) };
}

/** An answer from the sidecar. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (a problem document, or the echo upstream's reflection). */
  json(): Record<string, unknown>;
}

/** One request without a body on a fresh connection; a header given as an array is sent as repeated lines. */
export function send(
  port: number,
  path = "/",
  headers: http.OutgoingHttpHeaders = {},
  method = "GET",
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: () => JSON.parse(body) as Record<string, unknown>,
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}
