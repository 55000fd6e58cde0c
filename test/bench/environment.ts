/**
 * The machine the benchmark runs on: installs the external tools it needs (wrk, nginx, haproxy)
 * with apt-get when they are missing, and describes the CPU, core count and tool versions for
 * the report.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** An external program the benchmark runs. */
export type Tool = "wrk" | "nginx" | "haproxy";

/** The machine and tool versions, as printed above the table. */
export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  /**
   * Per cent of all cores busy during one second before the benchmark started anything (from
   * /proc/stat); other work on the machine skews the results.
   */
  busyPercent: number;
  node: string;
  nginx: string;
  haproxy: string;
  wrk: string;
}

const APT_PACKAGES: Record<Tool, string> = { wrk: "wrk", nginx: "nginx-light", haproxy: "haproxy" };
const INSTALL_TIMEOUT_MS = 300_000;

function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/**
 * Installs the missing `tools` with `apt-get update -qq && apt-get install -y ...` (apt's output
 * goes to stderr so stdout stays the report) and returns the tools still missing afterwards.
 * Falls back to the `nginx` package where `nginx-light` no longer exists (Debian 13).
 */
export function ensureTools(tools: readonly Tool[]): Tool[] {
  const missing = tools.filter((tool) => !has(tool));
  if (missing.length === 0) return [];
  if (!has("apt-get")) return missing;
  process.stderr.write(`bench: installing ${missing.join(", ")} with apt-get\n`);
  const packages = missing.map((tool) => APT_PACKAGES[tool]).join(" ");
  const fallback = missing.includes("nginx")
    ? ` || apt-get install -y ${packages.replace("nginx-light", "nginx")}`
    : "";
  const script = `apt-get update -qq && (apt-get install -y ${packages}${fallback})`;
  spawnSync("sh", ["-c", script], {
    stdio: ["ignore", 2, 2],
    timeout: INSTALL_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return missing.filter((tool) => !has(tool));
}

function firstLine(command: string, args: string[], pattern: RegExp): string {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 5000 });
  const match = pattern.exec(`${result.stdout ?? ""}${result.stderr ?? ""}`);
  return match?.[1] ?? "not installed";
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match?.[1]?.trim() ?? "unknown";
  } catch {
    return os.cpus()[0]?.model ?? "unknown";
  }
}

function cpuTicks(): { busy: number; total: number } {
  const fields = (/^cpu\s+(.+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? "")
    .split(/\s+/)
    .map(Number);
  const total = fields.reduce((sum, n) => sum + n, 0);
  // Fields 4 and 5 of the aggregate line are idle and iowait (proc(5)).
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

async function busyPercent(sampleMs: number): Promise<number> {
  try {
    const before = cpuTicks();
    await sleep(sampleMs);
    const after = cpuTicks();
    return ((after.busy - before.busy) * 100) / Math.max(1, after.total - before.total);
  } catch {
    return Number.NaN;
  }
}

/**
 * Describes the machine: CPU model (/proc/cpuinfo), cores, kernel, Node/nginx/haproxy/wrk
 * versions, and how busy it is (sampled for one second, so call it before starting anything).
 */
export async function describeMachine(): Promise<Machine> {
  return {
    busyPercent: await busyPercent(1000),
    cpu: cpuModel(),
    // Not availableParallelism(): it counts only the cores this process is pinned to.
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    nginx: firstLine("nginx", ["-v"], /nginx version: nginx\/(\S+)/),
    haproxy: firstLine("haproxy", ["-v"], /HAProxy version (\S+)/),
    wrk: firstLine("wrk", ["--version"], /^wrk (\S+)/m),
  };
}
