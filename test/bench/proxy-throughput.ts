/**
 * The macro benchmark: podgate's sidecar against no proxy, nginx and haproxy, in front of the same
 * upstream app on this machine. For each target it measures saturation throughput with wrk, latency
 * at a fixed 1000 req/s with an open-loop generator, and the proxy's RSS, then prints a markdown
 * table and PASS/FAIL lines for podgate's goals. Misses do not fail the run; a target that cannot
 * start does (exit 1). Everything started is stopped at the end, on error and on SIGINT/SIGTERM.
 *
 * Run: `npm run bench [-- --only podgate,nginx] [--duration 10] [--json FILE]`
 *
 * Cores: the proxy runs on core 0; the upstream, wrk, the fixed-rate generator and this process
 * on core 1 (a 2-core machine is assumed; with taskset missing nothing is pinned).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { describeMachine, ensureTools, type Tool } from "./environment.ts";
import { spawnFixedRate } from "./fixed-rate.ts";
import { canPin, killAllNow, pinSelf, readCpuSeconds, readMemory, stop, stopAll } from "./processes.ts";
import {
  checkGoals,
  formatChecks,
  formatMachine,
  formatNotes,
  formatRounds,
  formatTable,
  medianRound,
  type TargetResult,
} from "./report.ts";
import {
  DEFAULT_TARGETS,
  LOAD_CORE,
  proxyContext,
  startTarget,
  startUpstream,
  TARGET_NAMES,
  type TargetContext,
  type TargetName,
  WARMUP_S,
} from "./targets.ts";
import { runWrk } from "./wrk.ts";

const RATE = 1000;
const USAGE = `usage: node test/bench/proxy-throughput.ts [--only ${TARGET_NAMES.join(",")}] [--duration 10] [--rounds 1] [--json FILE]
default targets: ${DEFAULT_TARGETS.join(", ")}\n`;

/** Parsed command-line flags. */
interface BenchOptions {
  targets: TargetName[];
  durationS: number;
  /** How many times every target is measured, in turn; the report takes each target's median. */
  rounds: number;
  jsonFile: string | undefined;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      duration: { type: "string", default: "10" },
      rounds: { type: "string", default: "1" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const names = values.only ? values.only.split(",").map((name) => name.trim()) : [...DEFAULT_TARGETS];
  const unknown = names.filter((name) => !(TARGET_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(", ")}\n${USAGE}`);
  const durationS = Number(values.duration);
  if (!Number.isInteger(durationS) || durationS < 1 || durationS > 60) {
    throw new Error("--duration must be a whole number of seconds from 1 to 60");
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) {
    throw new Error("--rounds must be a whole number from 1 to 9");
  }
  // Run in the canonical order so `direct` and `nginx`, the references, come first.
  const targets = TARGET_NAMES.filter((name) => names.includes(name));
  return { targets, durationS, rounds, jsonFile: values.json };
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function measure(name: TargetName, context: TargetContext, durationS: number): Promise<TargetResult> {
  log(`${name}: starting`);
  let target: Awaited<ReturnType<typeof startTarget>>;
  try {
    target = await startTarget(name, context);
  } catch (error) {
    return { name, error: `could not start: ${(error as Error).message}`, memoryNote: "none" };
  }
  try {
    log(`${name}: wrk warm-up ${WARMUP_S} s, then ${durationS} s`);
    await runWrk(target.url, { durationS: WARMUP_S, core: LOAD_CORE, header: target.header });
    const cpuBefore = readCpuSeconds(target.memoryPids());
    const started = performance.now();
    const wrk = await runWrk(target.url, { durationS, core: LOAD_CORE, header: target.header });
    const cpuPercent = target.memoryPids().length
      ? ((readCpuSeconds(target.memoryPids()) - cpuBefore) * 100_000) / (performance.now() - started)
      : undefined;
    log(`${name}: ${wrk.requestsPerSec.toFixed(0)} req/s; fixed rate ${RATE} req/s for ${durationS} s`);
    const fixedRate = await spawnFixedRate(
      { url: target.url, rate: RATE, durationS, warmupS: 1, header: target.header },
      LOAD_CORE,
    );
    const memory = readMemory(target.memoryPids());
    log(`${name}: p50 ${fixedRate.p50Ms?.toFixed(3)} ms, p99 ${fixedRate.p99Ms?.toFixed(3)} ms`);
    return { name, wrk, cpuPercent, fixedRate, memory, memoryNote: target.memoryNote };
  } catch (error) {
    return { name, error: `measurement failed: ${(error as Error).message}`, memoryNote: target.memoryNote };
  } finally {
    await target.stop();
  }
}

function neededTools(targets: readonly TargetName[]): Tool[] {
  return [
    "wrk",
    ...targets.filter((name): name is "nginx" | "haproxy" => name === "nginx" || name === "haproxy"),
  ];
}

/** Every target once, in order; a target whose tool is missing is reported as such. */
async function measureRound(
  options: BenchOptions,
  context: TargetContext,
  missing: readonly Tool[],
  interrupted: AbortSignal,
): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  for (const name of options.targets) {
    if (interrupted.aborted) break;
    results.push(
      missing.includes(name as Tool)
        ? { name, error: `could not start: ${name} is not installed`, memoryNote: "none" }
        : await measure(name, context, options.durationS),
    );
  }
  return results;
}

async function run(options: BenchOptions, workDir: string, interrupted: AbortSignal): Promise<number> {
  const missing = ensureTools(neededTools(options.targets));
  if (missing.includes("wrk")) throw new Error("wrk is not installed and could not be installed");
  const machine = await describeMachine();
  const upstream = await startUpstream(LOAD_CORE);
  const context = proxyContext(workDir, upstream.port);
  // Rounds interleave the targets, so a slow spell of a shared machine hits them all alike.
  const rounds: TargetResult[][] = [];
  for (let round = 1; round <= options.rounds && !interrupted.aborted; round++) {
    if (options.rounds > 1) log(`round ${round} of ${options.rounds}`);
    rounds.push(await measureRound(options, context, missing, interrupted));
  }
  const results = medianRound(rounds);
  await stop(upstream.launched);
  if (interrupted.aborted) return 130;
  const checks = checkGoals(results);
  const report = [
    "## podgate proxy throughput",
    formatMachine(machine),
    formatTable(results),
    ...(options.rounds > 1 ? [formatRounds(rounds)] : []),
    formatNotes(results, options.durationS, WARMUP_S),
    formatChecks(checks),
  ];
  process.stdout.write(`\n${report.join("\n\n")}\n`);
  if (options.jsonFile) {
    const json = { machine, durationS: options.durationS, rate: RATE, rounds, results, checks };
    writeFileSync(options.jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  }
  return results.some((result) => result.error) ? 1 : 0;
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    log((error as Error).message);
    process.exitCode = 2;
    return;
  }
  if (!canPin()) log("taskset not found: nothing is pinned, so targets share cores with the load");
  pinSelf(LOAD_CORE);
  const workDir = mkdtempSync(path.join(os.tmpdir(), "podgate-bench-"));
  const cleanup = async () => {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  };
  const interrupt = new AbortController();
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping everything`);
      interrupt.abort();
      cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
  try {
    process.exitCode = await run(options, workDir, interrupt.signal);
  } catch (error) {
    log((error as Error).message);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
