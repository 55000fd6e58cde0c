import pino from "pino";
import { parseConfig } from "../../sidecar/config.ts";
import { type RunningSidecar, type StartOptions, startSidecar } from "../../sidecar/main.ts";
import { lineSink } from "./log-lines.ts";

/** A sidecar started in-process on 127.0.0.1:0, with its log lines captured. */
export interface TestSidecar extends RunningSidecar {
  readonly url: string;
  readonly adminUrl: string;
  readonly port: number;
  /** Every log line so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** Every log line so far, as written. */
  logText(): string;
}

/**
 * Starts a sidecar in front of `upstreamUrl`; `overrides` are merged into the config at the top level,
 * `options` (telemetry and audit seams) are passed to startSidecar.
 */
export async function startTestSidecar(
  upstreamUrl: string,
  overrides: Record<string, unknown> = {},
  options: Omit<StartOptions, "log"> = {},
): Promise<TestSidecar> {
  const lines: string[] = [];
  const sink = lineSink(lines);
  const upstream = (overrides.upstream as Record<string, unknown> | undefined) ?? {};
  const config = parseConfig({
    listener: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    drain: { delayMs: 0, timeoutMs: 2000 },
    ...overrides,
    upstream: { ...upstream, url: upstreamUrl },
  });
  const log = pino({ level: "info" }, sink);
  const sidecar = await startSidecar(config, { ...options, log });
  const extra = Object.assign(sidecar, {
    url: `http://127.0.0.1:${sidecar.data.port}`,
    adminUrl: `http://127.0.0.1:${sidecar.admin.port}`,
    port: sidecar.data.port,
    logText: () => lines.join("\n"),
  });
  // A getter, so each read sees the lines logged so far (Object.assign would copy a snapshot).
  return Object.defineProperty(extra, "logs", {
    get: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  }) as TestSidecar;
}
