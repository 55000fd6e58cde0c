/**
 * Child-process plumbing for the macro benchmark: start a process pinned to one CPU core, wait for
 * a line on its stdout, poll an HTTP URL until it answers 200, read its memory from /proc, and stop
 * everything the benchmark started (also on error and SIGINT).
 *
 * Each child runs in its own process group (`detached: true`), so stopping it also stops what it
 * forked (the nginx worker), and the signal is sent by that group's id only.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

/** A process the benchmark started. */
export interface Launched {
  /** Short name for messages. */
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last few KiB of the process's stderr, for error messages. */
  stderr: () => string;
  /** Resolves with a description of how the process ended ("code 0", "signal SIGTERM"). */
  exited: Promise<string>;
}

/** Options for {@link launch}. */
export interface LaunchOptions {
  /** CPU core to pin to with `taskset -c`; unpinned when omitted or when taskset is missing. */
  core?: number;
  /** Working directory; default the current one. */
  cwd?: string;
  /**
   * Run under SCHED_IDLE (`chrt -i 0`), so the process only gets CPU time the others on its core
   * leave; for a busy-waiting load generator sharing a core with the upstream.
   */
  idle?: boolean;
  /** `pipe` to read stdout (then keep draining it), `ignore` to discard it; default `ignore`. */
  stdout?: "pipe" | "ignore";
  /** Extra environment variables. */
  env?: Record<string, string>;
}

const STDERR_TAIL_BYTES = 4096;
const running = new Set<Launched>();
let shuttingDown = false;
const hasTaskset = spawnSync("taskset", ["--version"], { stdio: "ignore" }).status === 0;
const hasChrt = spawnSync("chrt", ["--version"], { stdio: "ignore" }).status === 0;

/** Moves this process (all its threads) to `core`, e.g. the load core, away from the proxy's. */
export function pinSelf(core: number): void {
  if (hasTaskset)
    spawnSync("taskset", ["-a", "-p", "-c", String(core), String(process.pid)], { stdio: "ignore" });
}

/** Whether `taskset` exists, i.e. whether {@link launch} can pin processes to a core. */
export function canPin(): boolean {
  return hasTaskset;
}

/**
 * Starts `command` (pinned to `options.core` with taskset, and chrt when `idle`; both exec the
 * command, so the pid is the command's own) and registers it for {@link stopAll}.
 *
 * @example
 * const up = launch("upstream", process.execPath, ["test/bench/upstream.ts"], { core: 1, stdout: "pipe" });
 */
export function launch(name: string, command: string, args: string[], options: LaunchOptions = {}): Launched {
  if (shuttingDown) throw new Error(`not starting ${name}: the benchmark is stopping`);
  let argv = [command, ...args];
  if (options.idle && hasChrt) argv = ["chrt", "-i", "0", ...argv];
  if (options.core !== undefined && hasTaskset) argv = ["taskset", "-c", String(options.core), ...argv];
  const [file = command, ...rest] = argv;
  const child = spawn(file, rest, {
    cwd: options.cwd,
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", options.stdout ?? "ignore", "pipe"],
  });
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`spawn error: ${error.message}`));
    child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
  });
  const launched: Launched = { name, child, pid: child.pid ?? -1, stderr: () => tail.trim(), exited };
  running.add(launched);
  exited.then(() => running.delete(launched));
  return launched;
}

function signalGroup(launched: Launched, signal: NodeJS.Signals): void {
  if (launched.pid <= 0) return;
  try {
    process.kill(-launched.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is the state we want.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Stops one launched process group: SIGTERM, then SIGKILL after `graceMs` (default 1500). The
 * benchmark has nothing to lose in a hard stop, so it does not wait out a graceful drain.
 */
export async function stop(launched: Launched, graceMs = 1500): Promise<void> {
  signalGroup(launched, "SIGTERM");
  const ended = await Promise.race([launched.exited.then(() => true), sleep(graceMs, false)]);
  // Also kill the group when the leader has exited, in case a forked worker outlived it.
  signalGroup(launched, "SIGKILL");
  if (!ended) await Promise.race([launched.exited, sleep(1000)]);
}

/** Stops every process the benchmark started and has not stopped yet, and refuses new ones. */
export async function stopAll(): Promise<void> {
  shuttingDown = true;
  await Promise.all([...running].map((launched) => stop(launched)));
}

/** Synchronous last resort for the `exit` event: SIGKILL every group still registered. */
export function killAllNow(): void {
  for (const launched of running) signalGroup(launched, "SIGKILL");
}

/**
 * Reads `stream` line by line until `pick` returns a value, then keeps the stream flowing (its
 * data is discarded) so the writer never blocks on a full pipe. Rejects after `timeoutMs`, or when
 * the stream ends first.
 */
export function waitForLine<T>(stream: Readable, pick: (line: string) => T | undefined, timeoutMs: number) {
  return new Promise<T>((resolve, reject) => {
    let buffered = "";
    const finish = (error: Error | undefined, value?: T) => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.resume();
      if (error) reject(error);
      else resolve(value as T);
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const value = pick(line);
        if (value !== undefined) return finish(undefined, value);
      }
    };
    const onEnd = () => finish(new Error("stdout closed before the expected line"));
    const timer = setTimeout(
      () => finish(new Error(`no expected line on stdout in ${timeoutMs} ms`)),
      timeoutMs,
    );
    stream.on("data", onData);
    stream.once("end", onEnd);
  });
}

/**
 * Collects the whole stdout of a process launched with `stdout: "pipe"`, up to its end; for short
 * tools (wrk, the fixed-rate generator) whose output is their result.
 */
export function collectStdout(launched: Launched): Promise<string> {
  const stdout = launched.child.stdout;
  if (!stdout) return Promise.resolve("");
  let text = "";
  stdout.setEncoding("utf8");
  stdout.on("data", (chunk: string) => {
    text += chunk;
  });
  return new Promise((resolve) => stdout.once("close", () => resolve(text)));
}

/**
 * Waits for a short tool to end by itself within `timeoutMs` (else kills it) and returns its
 * stdout; throws with its stderr when it did not exit with code 0.
 */
export async function runToEnd(launched: Launched, timeoutMs: number): Promise<string> {
  const output = collectStdout(launched);
  const timer = setTimeout(() => signalGroup(launched, "SIGKILL"), timeoutMs);
  const how = await launched.exited;
  clearTimeout(timer);
  const text = await Promise.race([output, sleep(1000, "")]);
  if (how !== "code 0") throw new Error(`${launched.name} ended with ${how}: ${launched.stderr() || text}`);
  return text;
}

/** Parses `line` as JSON, or returns undefined when it is not a JSON object. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Returns a port that was free a moment ago, by binding port 0 and closing it. There is a race
 * with other processes; acceptable for a benchmark only, for tools (nginx, haproxy) that cannot
 * report the port they picked.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once("timeout", () => request.destroy());
    request.once("error", () => resolve(0));
  });
}

/**
 * Polls `url` (GET, a fresh connection each time) every 50 ms until it answers 200; rejects after
 * `timeoutMs` or as soon as `launched` exits.
 */
export async function waitForHttp(url: string, launched: Launched | undefined, timeoutMs: number) {
  let exited: string | undefined;
  launched?.exited.then((how) => {
    exited = how;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${launched?.name} exited (${exited}) before ${url} answered`);
    if ((await getStatus(url)) === 200) return;
    await sleep(50);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

/** Resident memory in MiB: `rss` is VmRSS now, `peak` is VmHWM (the high-water mark). */
export interface Memory {
  rss: number;
  peak: number;
}

function statusKiB(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match?.[1] ? Number(match[1]) : 0;
}

/** Sums VmRSS and VmHWM from /proc/<pid>/status over `pids`; undefined if none can be read. */
export function readMemory(pids: number[]): Memory | undefined {
  let rss = 0;
  let peak = 0;
  let read = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      rss += statusKiB(status, "VmRSS");
      peak += statusKiB(status, "VmHWM");
      read++;
    } catch {
      // The process is gone: it has no memory to count, and other pids may still be readable.
    }
  }
  return read === 0 ? undefined : { rss: rss / 1024, peak: peak / 1024 };
}

const CLOCK_TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/**
 * CPU time (user + system, in seconds) used so far by `pids`, from fields 14 and 15 of
 * /proc/<pid>/stat (proc(5)); pids that are gone count 0.
 */
export function readCpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // The command name (field 2) may contain spaces, so split after its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone: it uses no more CPU, and other pids may still be readable.
    }
  }
  return ticks / CLOCK_TICKS_PER_S;
}

/** The direct children of `pid`, from /proc/<pid>/task/<pid>/children. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
