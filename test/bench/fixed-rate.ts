/**
 * An open-loop load generator: sends GET requests at a fixed rate over keep-alive connections
 * (undici `Pool.dispatch()`) and reports latency percentiles.
 *
 * Request `i` is due at `i / rate` seconds, and its latency runs from that scheduled time, not from
 * when it was actually sent. A stall in the target (or in this process) therefore shows up in the
 * latency of every request it delayed, instead of quietly lowering the rate ("coordinated
 * omission", see wrk2's README). Time comes from `process.hrtime.bigint()`, in nanoseconds.
 *
 * Run as a script: `node test/bench/fixed-rate.ts --url http://127.0.0.1:8080/ [--rate 1000]
 * [--duration 10] [--warmup 1] [--connections 32] [--wait spin|timer]`; prints one JSON line.
 */
import { parseArgs } from "node:util";
import { type Dispatcher, Pool } from "undici";
import { launch, parseJsonLine, runToEnd } from "./processes.ts";

/** What to send, how fast and for how long. */
export interface FixedRateOptions {
  /** Target URL; its origin is the pool's, its path and query the request's. */
  url: string;
  /** Requests per second; default 1000. */
  rate?: number;
  /** Seconds measured; default 10. */
  durationS?: number;
  /** Seconds sent at the same rate before measuring, then discarded; default 1. */
  warmupS?: number;
  /** Most keep-alive connections opened; requests beyond that queue (and the queueing counts). */
  connections?: number;
  /**
   * How to wait for the next due time: `spin` re-checks on every event-loop turn (setImmediate),
   * so requests leave within microseconds of their time but it takes all the CPU it is given (run
   * it under SCHED_IDLE, as {@link spawnFixedRate} does); `timer` sleeps with setTimeout, whose
   * millisecond granularity adds up to ~1 ms to each latency. Default `spin`.
   */
  wait?: "spin" | "timer";
  /** One request header to send, as `name: value` (an API key for the policy target). */
  header?: string;
}

/** Latencies in milliseconds over the measured window. */
export interface FixedRateResult {
  rate: number;
  durationS: number;
  /** Requests scheduled in the measured window. */
  scheduled: number;
  /** Requests that got a whole 2xx response. */
  completed: number;
  /** Requests that failed, got a non-2xx status, or had not finished 5 s after the last was sent. */
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** 99th percentile of how late this generator sent a request after its due time. */
  sendLagP99Ms: number;
}

const DRAIN_TIMEOUT_NS = 5e9;

/** The value at percentile `p` (0–100, nearest rank) of `sorted`, converted from ns to ms. */
function percentileMs(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return (sorted[rank] ?? Number.NaN) / 1e6;
}

/** One run's state: the pool, the schedule and the samples (in ns since `t0`). */
interface Run {
  pool: Pool;
  path: string;
  headers: string[] | undefined;
  /** Requests sent before measuring starts. */
  warmup: number;
  intervalNs: number;
  t0: bigint;
  latencies: Float64Array;
  lags: Float64Array;
  completed: number;
  inFlight: number;
}

const elapsedNs = (run: Run) => Number(process.hrtime.bigint() - run.t0);

function responseHandler(run: Run, slot: number, due: number): Dispatcher.DispatchHandler {
  let status = 0;
  const settle = (ok: boolean) => {
    run.inFlight--;
    if (slot >= 0 && ok) run.latencies[run.completed++] = elapsedNs(run) - due;
  };
  return {
    onRequestStart() {
      // Nothing to do; its presence selects undici's controller-based handler API.
    },
    onResponseStart(_controller, statusCode) {
      status = statusCode;
    },
    onResponseEnd() {
      settle(status >= 200 && status < 300);
    },
    onResponseError() {
      settle(false);
    },
  };
}

function send(run: Run, index: number): void {
  const due = index * run.intervalNs;
  const slot = index - run.warmup;
  if (slot >= 0) run.lags[slot] = elapsedNs(run) - due;
  run.inFlight++;
  run.pool.dispatch({ method: "GET", path: run.path, headers: run.headers }, responseHandler(run, slot, due));
}

/** Sends requests 0 to `total - 1`, each at its due time, and resolves after the last is sent. */
function schedule(run: Run, total: number, wait: FixedRateOptions["wait"]): Promise<void> {
  return new Promise((resolve) => {
    let next = 0;
    function tick(): void {
      const now = elapsedNs(run);
      while (next < total && next * run.intervalNs <= now) send(run, next++);
      if (next >= total) {
        resolve();
        return;
      }
      const waitMs = (next * run.intervalNs - elapsedNs(run)) / 1e6;
      if (wait === "timer") setTimeout(tick, Math.max(1, Math.floor(waitMs)));
      else if (waitMs > 2) setTimeout(tick, Math.floor(waitMs) - 1);
      else setImmediate(tick);
    }
    tick();
  });
}

/** Waits for the requests still in flight, at most {@link DRAIN_TIMEOUT_NS}. */
async function drain(run: Run): Promise<void> {
  const deadline = elapsedNs(run) + DRAIN_TIMEOUT_NS;
  while (run.inFlight > 0 && elapsedNs(run) < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Runs the fixed-rate load and resolves with the measured percentiles.
 *
 * @example
 * const result = await runFixedRate({ url: "http://127.0.0.1:8080/", rate: 1000, durationS: 10 });
 * console.log(result.p99Ms);
 */
export async function runFixedRate(options: FixedRateOptions): Promise<FixedRateResult> {
  const rate = options.rate ?? 1000;
  const durationS = options.durationS ?? 10;
  const measured = Math.round(rate * durationS);
  const target = new URL(options.url);
  const run: Run = {
    pool: new Pool(target.origin, {
      connections: options.connections ?? 32,
      pipelining: 1,
      headersTimeout: 5000,
      bodyTimeout: 5000,
    }),
    path: `${target.pathname}${target.search}`,
    headers: headerPair(options.header),
    warmup: Math.round(rate * (options.warmupS ?? 1)),
    intervalNs: 1e9 / rate,
    t0: process.hrtime.bigint(),
    latencies: new Float64Array(measured),
    lags: new Float64Array(measured),
    completed: 0,
    inFlight: 0,
  };
  await schedule(run, run.warmup + measured, options.wait);
  await drain(run);
  await run.pool.destroy();
  const latencies = run.latencies.subarray(0, run.completed).sort();
  return {
    rate,
    durationS,
    scheduled: measured,
    completed: run.completed,
    errors: measured - run.completed,
    p50Ms: percentileMs(latencies, 50),
    p90Ms: percentileMs(latencies, 90),
    p99Ms: percentileMs(latencies, 99),
    p999Ms: percentileMs(latencies, 99.9),
    maxMs: percentileMs(latencies, 100),
    sendLagP99Ms: percentileMs(run.lags.sort(), 99),
  };
}

/**
 * Runs {@link runFixedRate} in a child process pinned to `core` under SCHED_IDLE, so its busy
 * wait only takes CPU time the upstream on that core leaves, and the parent's own work (reading
 * access logs) does not disturb it.
 *
 * @example
 * const result = await spawnFixedRate({ url: target.url, durationS: 10 }, 1);
 */
export async function spawnFixedRate(options: FixedRateOptions, core: number): Promise<FixedRateResult> {
  const args = [import.meta.filename, "--url", options.url];
  for (const [flag, value] of [
    ["--rate", options.rate],
    ["--duration", options.durationS],
    ["--warmup", options.warmupS],
    ["--connections", options.connections],
    ["--wait", options.wait],
    ["--header", options.header],
  ] as const) {
    if (value !== undefined) args.push(flag, String(value));
  }
  const child = launch("fixed-rate", process.execPath, args, { core, idle: true, stdout: "pipe" });
  const timeoutMs = ((options.durationS ?? 10) + (options.warmupS ?? 1) + 20) * 1000;
  const output = await runToEnd(child, timeoutMs);
  const result = output
    .split("\n")
    .map(parseJsonLine)
    .find((record) => record?.p99Ms !== undefined);
  if (!result) throw new Error(`fixed-rate printed no result: ${output}`);
  return result as unknown as FixedRateResult;
}

/** `name: value` as undici's flat header list. */
function headerPair(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const colon = header.indexOf(":");
  return [header.slice(0, colon).trim(), header.slice(colon + 1).trim()];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      rate: { type: "string", default: "1000" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "1" },
      connections: { type: "string", default: "32" },
      wait: { type: "string", default: "spin" },
      header: { type: "string" },
    },
  });
  if (!values.url) throw new Error("fixed-rate: --url is required");
  const result = await runFixedRate({
    url: values.url,
    rate: Number(values.rate),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    connections: Number(values.connections),
    wait: values.wait === "timer" ? "timer" : "spin",
    header: values.header,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Not `import.meta.main`, which Node 22 lacks.
if (process.argv[1] === import.meta.filename) await main();
