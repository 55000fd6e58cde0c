import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose stdout is read as lines (JSON lines parsed) and whose stderr is kept. */
export interface NodeChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far, as written. */
  readonly lines: string[];
  /** Every stdout line that parsed as a JSON object. */
  readonly records: Array<Record<string, unknown>>;
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** The exit status, once known. */
  exitStatus(): ExitStatus | undefined;
  /** Resolves with the first JSON line matching `match` (past or future); rejects if the process exits first. */
  waitForRecord(match: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Sends a signal, unless the process already exited. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the process if it is still running and waits for it to exit. */
  kill(): Promise<void>;
}

/** Options of spawnNode. */
export interface SpawnNodeOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Runs `node <args>` with the current Node binary (node runs .ts directly), piping stdout and stderr.
 * The pid is node's own, so signals and /proc reads reach the process under test.
 */
export function spawnNode(args: string[], options: SpawnNodeOptions = {}): NodeChild {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let partial = "";
  let errText = "";
  let status: ExitStatus | undefined;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      const record = parseRecord(line);
      if (record !== undefined) records.push(record);
    }
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    errText += chunk;
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("error", () => resolve({ code: null, signal: null }));
    // "close" rather than "exit": by then every byte of stdout and stderr has been read.
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
  }).then((result) => {
    status = result;
    for (const wake of waiters) wake();
    return result;
  });
  const describe = () => `pid ${child.pid}: stdout:\n${lines.join("\n")}\nstderr:\n${errText}`;
  return {
    child,
    pid: child.pid ?? -1,
    lines,
    records,
    stdout: () => lines.join("\n") + (partial === "" ? "" : `\n${partial}`),
    stderr: () => errText,
    exited,
    exitStatus: () => status,
    waitForRecord(match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = records.find(match);
          if (found !== undefined) {
            waiters.delete(check);
            resolve(found);
          } else if (status !== undefined) {
            waiters.delete(check);
            reject(
              new Error(`process exited (${JSON.stringify(status)}) before the awaited line; ${describe()}`),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
    signal(signal) {
      if (status === undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async kill() {
      if (status === undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `node <args>` to completion and returns its exit status and output; SIGKILLs it after `timeoutMs`. */
export async function runNode(
  args: string[],
  options: SpawnNodeOptions & { timeoutMs?: number } = {},
): Promise<ExitStatus & { stdout: string; stderr: string }> {
  const proc = spawnNode(args, options);
  const timer = setTimeout(() => proc.signal("SIGKILL"), options.timeoutMs ?? 20_000);
  const status = await proc.exited;
  clearTimeout(timer);
  return { ...status, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Resolves with `promise`, or rejects with `message` if it has not settled after `ms` (a hang guard, not a speed check). */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  const controller = new AbortController();
  const deadline = sleep(ms, undefined, { signal: controller.signal }).then(
    () => Promise.reject(new Error(message)),
    () => undefined as never,
  );
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    controller.abort();
  }
}

/** Reads one `kB` field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes. */
export function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** What an RSS sampler saw. */
export interface RssSamples {
  peak: number;
  count: number;
}

/** Samples VmRSS of `pid` every `intervalMs` until `stop()` is called. */
export function sampleRss(pid: number, intervalMs = 50): { stop(): RssSamples } {
  let peak = procStatusBytes(pid, "VmRSS");
  let count = 1;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, procStatusBytes(pid, "VmRSS"));
      count++;
    } catch {
      clearInterval(timer);
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peak = Math.max(peak, procStatusBytes(pid, "VmRSS"));
        count++;
      } catch {
        // The process is gone: keep what was sampled.
      }
      return { peak, count };
    },
  };
}
