/**
 * Formats the benchmark's results: the machine, a markdown table with one row per target, notes,
 * and PASS/FAIL lines for podgate against the targets from the brief (≥ 0.60× nginx req/s, ≤ 1 ms
 * added p99 at 1000 req/s, ≤ 64 MiB RSS at 1000 req/s).
 */
import type { Machine } from "./environment.ts";
import type { FixedRateResult } from "./fixed-rate.ts";
import type { Memory } from "./processes.ts";
import type { WrkResult } from "./wrk.ts";

/** What was measured for one target; `error` is set when it failed to start or to run. */
export interface TargetResult {
  name: string;
  error?: string;
  wrk?: WrkResult;
  /** CPU the proxy used during the wrk run, in percent of one core; undefined for `direct`. */
  cpuPercent?: number;
  fixedRate?: FixedRateResult;
  /** Proxy memory at the end of the fixed-rate phase; undefined for `direct`. */
  memory?: Memory;
  /** Which processes `memory` sums ("process", "master+worker", "none"). */
  memoryNote: string;
}

/** The podgate targets from the brief. */
export const GOALS = {
  nginxRatio: 0.6,
  addedP99Ms: 1,
  rssMiB: 64,
  policyRatio: 0.85,
  telemetryRatio: 0.9,
} as const;

const DASH = "—";
/** CPU use by others at start (per cent of all cores) above which results are flagged as skewed. */
const BUSY_PERCENT = 5;
/** Generator send-lag p99 (ms) above which the load core was too busy to trust that row's latency. */
const LAG_WARNING_MS = 1;

// JSON turns NaN into null, so results read back from a child can hold null where a number was.
const missing = (value: number | null | undefined): value is null | undefined =>
  typeof value !== "number" || Number.isNaN(value);
const fixed = (value: number | null | undefined, digits: number) =>
  missing(value) ? DASH : value.toFixed(digits);
const signed = (value: number | null | undefined) =>
  missing(value) ? DASH : `${value >= 0 ? "+" : ""}${value.toFixed(3)}`;
const ratio = (value: number | undefined, base: number | undefined) =>
  value === undefined || !base ? undefined : value / base;

/** `text` on one line, cut to `max` characters (a failure's stderr can be a whole stack trace). */
const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s*\n\s*/g, " / ");
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

function find(results: readonly TargetResult[], name: string): TargetResult | undefined {
  return results.find((result) => result.name === name && !result.error);
}

/** The markdown lines describing the machine and tool versions. */
export function formatMachine(machine: Machine): string {
  const busy = machine.busyPercent > BUSY_PERCENT ? " (busy: other work on it skews the results)" : "";
  return [
    `- CPU: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, ${fixed(machine.busyPercent, 0)} % busy before start${busy}`,
    `- Node ${machine.node}, nginx ${machine.nginx}, haproxy ${machine.haproxy}, wrk ${machine.wrk}`,
  ].join("\n");
}

function row(
  result: TargetResult,
  direct: TargetResult | undefined,
  nginx: TargetResult | undefined,
): string {
  if (result.error) return `| ${result.name} | failed | ${Array(8).fill(DASH).join(" | ")} |`;
  const rps = result.wrk?.requestsPerSec;
  const p99 = result.fixedRate?.p99Ms;
  const directP99 = direct?.fixedRate?.p99Ms;
  const cells = [
    result.name,
    fixed(rps, 0),
    fixed(ratio(rps, direct?.wrk?.requestsPerSec), 2),
    fixed(ratio(rps, nginx?.wrk?.requestsPerSec), 2),
    fixed(result.fixedRate?.p50Ms, 3),
    fixed(p99, 3),
    signed(p99 === undefined || directP99 === undefined ? undefined : p99 - directP99),
    fixed(result.memory?.rss, 1),
    fixed(result.memory?.peak, 1),
    fixed(result.cpuPercent, 0),
  ];
  return `| ${cells.join(" | ")} |`;
}

/** The median of some numbers (the mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(middle)] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Each target's median result over the rounds (by wrk req/s; a failed round counts as slowest),
 * in run order. With one round, that round's results.
 */
export function medianRound(rounds: readonly TargetResult[][]): TargetResult[] {
  const first = rounds[0] ?? [];
  return first.map((result) => {
    const all = rounds
      .map((round) => round.find((other) => other.name === result.name))
      .filter((other): other is TargetResult => other !== undefined)
      .sort((a, b) => (a.wrk?.requestsPerSec ?? -1) - (b.wrk?.requestsPerSec ?? -1));
    return all[Math.floor((all.length - 1) / 2)] ?? result;
  });
}

/** Every round's req/s per target, so the spread behind each median is visible. */
export function formatRounds(rounds: readonly TargetResult[][]): string {
  const names = (rounds[0] ?? []).map((result) => result.name);
  const lines = names.map((name) => {
    const values = rounds.map((round) => fixed(round.find((r) => r.name === name)?.wrk?.requestsPerSec, 0));
    return `- ${name}: ${values.join(", ")} req/s`;
  });
  return [`Rounds (the table shows each target's median):`, ...lines].join("\n");
}

/** The results as a markdown table, one row per target in run order. */
export function formatTable(results: readonly TargetResult[]): string {
  const direct = find(results, "direct");
  const nginx = find(results, "nginx");
  const header =
    "| target | req/s | ratio to direct | ratio to nginx | p50 ms | p99 ms | added p99 vs direct (ms) | RSS MiB | peak RSS MiB | proxy CPU % |";
  const rule = "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|";
  return [header, rule, ...results.map((result) => row(result, direct, nginx))].join("\n");
}

function targetNotes(result: TargetResult): string[] {
  if (result.error) return [`- ${result.name} FAILED: ${oneLine(result.error, 600)}`];
  const lines: string[] = [];
  if (result.memoryNote !== "process" && result.memoryNote !== "none") {
    lines.push(`- ${result.name} memory is ${result.memoryNote} summed.`);
  }
  const lag = result.fixedRate?.sendLagP99Ms;
  if (!missing(lag) && lag > LAG_WARNING_MS) {
    lines.push(
      `- ${result.name}: the generator itself ran late (send-lag p99 ${lag.toFixed(3)} ms), so core 1 was busy.`,
    );
  }
  const wrkErrors = result.wrk?.errors ?? 0;
  const rateErrors = result.fixedRate?.errors ?? 0;
  if (wrkErrors > 0 || rateErrors > 0) {
    lines.push(`- ${result.name}: ${wrkErrors} wrk errors, ${rateErrors} failed fixed-rate requests.`);
  }
  return lines;
}

/** Footnotes: how each column was measured, errors and noise seen, and why any target failed. */
export function formatNotes(results: readonly TargetResult[], durationS: number, warmupS: number): string {
  const lags = results.flatMap((result) =>
    result.fixedRate ? [`${result.name} ${fixed(result.fixedRate.sendLagP99Ms, 3)}`] : [],
  );
  const lines = [
    `- req/s: \`wrk -t1 -c50 -d${durationS}s\` on core 1 after a ${warmupS} s warm-up; proxy on core 0, upstream on core 1.`,
    `- p50/p99: open loop at ${results[0]?.fixedRate?.rate ?? 1000} req/s for ${durationS} s (after 1 s warm-up), ` +
      "timed from each request's scheduled start; generator on core 1 under SCHED_IDLE.",
    `- generator send-lag p99 in ms (how late it sent, its noise floor): ${lags.join(", ") || DASH}.`,
    "- RSS: VmRSS at the end of the fixed-rate phase; peak: VmHWM over the whole run, including saturation.",
    "- proxy CPU %: the proxy's user+system time during the wrk run, per cent of one core; below ~95 % " +
      "the limit was core 1 (wrk and the upstream), not the proxy.",
    ...results.flatMap(targetNotes),
  ];
  return lines.join("\n");
}

/** A PASS, FAIL or SKIP line for one goal. */
export interface Check {
  target: string;
  goal: string;
  status: "PASS" | "FAIL" | "SKIP";
  detail: string;
}

function judge(target: string, goal: string, pass: boolean | undefined, detail: string): Check {
  return { target, goal, status: pass === undefined ? "SKIP" : pass ? "PASS" : "FAIL", detail };
}

function throughputCheck(result: TargetResult, nginxRps: number | undefined): Check {
  const rps = result.wrk?.requestsPerSec ?? 0;
  const share = ratio(rps, nginxRps);
  if (share === undefined) return judge(result.name, "throughput", undefined, "nginx not measured");
  const detail = `${rps.toFixed(0)} req/s = ${share.toFixed(2)}× nginx (goal ≥ ${GOALS.nginxRatio}×)`;
  return judge(result.name, "throughput", share >= GOALS.nginxRatio, detail);
}

function latencyCheck(result: TargetResult, directP99: number | undefined): Check {
  const p99 = result.fixedRate?.p99Ms;
  if (missing(p99) || missing(directP99)) {
    return judge(result.name, "latency", undefined, "p99 of podgate or direct not measured");
  }
  const added = p99 - directP99;
  const detail = `p99 ${p99.toFixed(3)} ms at ${result.fixedRate?.rate} req/s = ${signed(added)} ms over direct (goal ≤ ${GOALS.addedP99Ms} ms)`;
  return judge(result.name, "latency", added <= GOALS.addedP99Ms, detail);
}

function memoryCheck(result: TargetResult): Check {
  const rss = result.memory?.rss;
  if (rss === undefined) return judge(result.name, "memory", undefined, "RSS not read");
  const detail = `RSS ${rss.toFixed(1)} MiB at ${result.fixedRate?.rate} req/s (goal ≤ ${GOALS.rssMiB} MiB)`;
  return judge(result.name, "memory", rss <= GOALS.rssMiB, detail);
}

/** Checks every measured podgate target against {@link GOALS}; SKIP when a reference is missing. */
export function checkGoals(results: readonly TargetResult[]): Check[] {
  const nginxRps = find(results, "nginx")?.wrk?.requestsPerSec;
  const directP99 = find(results, "direct")?.fixedRate?.p99Ms;
  const checks = results
    .filter((result) => result.name.startsWith("podgate") && !result.error)
    .flatMap((result) => [
      throughputCheck(result, nginxRps),
      latencyCheck(result, directP99),
      memoryCheck(result),
    ]);
  return [
    ...checks,
    costCheck(results, "podgate+policies", GOALS.policyRatio),
    costCheck(results, "podgate+telemetry", GOALS.telemetryRatio),
  ];
}

/**
 * What a feature costs against the bare sidecar: issue 4 (API keys, a rate limit and a route
 * allowlist keep ≥ 0.85×) and issue 7 (access log, metrics and 1 % tracing keep ≥ 0.90×).
 */
function costCheck(results: readonly TargetResult[], name: string, goal: number): Check {
  const bare = find(results, "podgate")?.wrk?.requestsPerSec;
  const withFeature = find(results, name)?.wrk?.requestsPerSec;
  if (bare === undefined || withFeature === undefined) {
    return judge(name, "cost", undefined, `needs podgate and ${name}`);
  }
  const ratio = withFeature / bare;
  const detail = `${withFeature.toFixed(0)} req/s = ${ratio.toFixed(2)}× podgate without it (goal ≥ ${goal}×)`;
  return judge(name, "cost", ratio >= goal, detail);
}

/** One line per check: `PASS podgate throughput: ...`. */
export function formatChecks(checks: readonly Check[]): string {
  return checks.map((check) => `${check.status} ${check.target} ${check.goal}: ${check.detail}`).join("\n");
}
