/**
 * Runs `wrk` (closed loop, saturation throughput) as a pinned child process and parses its
 * summary. wrk's own latency figures are closed-loop and so suffer coordinated omission; the
 * benchmark reports latency from `fixed-rate.ts` instead and keeps wrk's only in the JSON.
 */
import { launch, runToEnd } from "./processes.ts";

/** Options for {@link runWrk}. */
export interface WrkOptions {
  /** Open connections; default 50. */
  connections?: number;
  /** Seconds to run; default 10. */
  durationS?: number;
  /** CPU core to pin wrk to; default 1. */
  core?: number;
  /** One request header, `name: value`. */
  header?: string | undefined;
}

/** The parts of wrk's summary the benchmark uses. */
export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  /** Mean latency in ms (closed loop). */
  latencyAvgMs: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function firstNumber(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match?.[1] ? Number(match[1]) : 0;
}

/** Parses wrk 4's text summary; throws when it has no Requests/sec line. */
export function parseWrk(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!rps?.[1]) throw new Error(`wrk printed no Requests/sec line:\n${text}`);
  const latency = /^\s+Latency\s+([\d.]+)(us|ms|s|m)\b/m.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSec: Number(rps[1]),
    requests: firstNumber(text, /^\s+(\d+) requests in/m),
    latencyAvgMs: latency?.[1] && latency[2] ? Number(latency[1]) * (UNIT_MS[latency[2]] ?? 1) : Number.NaN,
    errors: socketErrors + firstNumber(text, /Non-2xx or 3xx responses: (\d+)/),
  };
}

/**
 * Runs `wrk -t1 -c<connections> -d<duration>s <url>` pinned to `options.core`.
 *
 * @example
 * const { requestsPerSec } = await runWrk("http://127.0.0.1:8080/", { durationS: 10 });
 */
export async function runWrk(url: string, options: WrkOptions = {}): Promise<WrkResult> {
  const durationS = options.durationS ?? 10;
  const args = ["-t1", `-c${options.connections ?? 50}`, `-d${durationS}s`];
  if (options.header !== undefined) args.push("-H", options.header);
  args.push(url);
  const wrk = launch("wrk", "wrk", args, { core: options.core ?? 1, stdout: "pipe" });
  return parseWrk(await runToEnd(wrk, (durationS + 15) * 1000));
}
