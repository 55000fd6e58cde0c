/**
 * Instructions per request of the sidecar under `valgrind --tool=callgrind`, for telemetry off, each
 * telemetry feature alone and all of them: no clock in the count, where req/s on a shared VM moves
 * by ±20 % for one unchanged config. The sidecar runs from the bundle on core 0; after a warm-up the
 * counters are zeroed, a fixed number of requests is sent over 10 keep-alive connections from this
 * process (core 1), and the counters are dumped.
 *
 * The warm-up is long (30,000 requests) because the JIT keeps compiling well after the first
 * thousands: after 10,000, V8's optimizing compilers still made 18 % of the counted instructions;
 * after 30,000 they make 6–9 %. The table says how much of each count is compiling.
 *
 * One process is not the config: V8's JIT state differs from process to process, and so does the
 * count, by 2–5 % between two processes of one config, and once by 22 % (in that process Node's
 * nextTick built every tick object through V8's runtime for the whole run). So each config is
 * measured `--repeat` times, each in a new process, and the median is reported with the range.
 *
 * Valgrind runs the process about 40× slower, so work done on a timer weighs 40× more per request
 * than at full speed: the exporters' intervals are set far beyond the run, so no export is counted.
 * Counts cover user space of every thread (the GC's helpers too), not the kernel.
 *
 * Run: `node test/bench/instructions-per-request.ts [--only off,all] [--requests 20000] [--warmup 30000] [--repeat 3]`
 * (valgrind from Debian's packages; about 3 minutes a process).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { sidecarConfig } from "./configs.ts";
import { launch, parseJsonLine, stop, stopAll, waitForLine } from "./processes.ts";
import { NODE_PROXY_FLAGS, startUpstream } from "./targets.ts";

/** Each config: the access log and the telemetry switches. */
const CONFIGS = {
  off: { accessLog: false, metrics: false, tracing: false },
  accesslog: { accessLog: true, metrics: false, tracing: false },
  metrics: { accessLog: false, metrics: true, tracing: false },
  tracing: { accessLog: false, metrics: false, tracing: true },
  all: { accessLog: true, metrics: true, tracing: true },
} as const;
type ConfigName = keyof typeof CONFIGS;

const repoRoot = path.resolve(import.meta.dirname, "../..");

/** Sends `count` GETs over `connections` keep-alive connections; resolves with the failures. */
async function load(url: string, count: number, connections = 10): Promise<number> {
  const pool = new Pool(url, { connections });
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const response = await pool.request({ path: "/", method: "GET" });
        await response.body.dump();
        if (response.statusCode !== 200) failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  return failed;
}

/** V8's optimizing compilers (TurboFan, Turboshaft, Maglev), by their C++ namespaces. */
const JIT_COMPILER = /v8::internal::(?:compiler|maglev|turboshaft)::/;

/** What a line of a callgrind dump is. */
function lineKind(line: string): "fn" | "cfn" | "calls" | "cost" | "other" {
  if (line.startsWith("fn=")) return "fn";
  if (line.startsWith("cfn=")) return "cfn";
  if (line.startsWith("calls=")) return "calls";
  return /^[0-9+*-]/.test(line) ? "cost" : "other";
}

/** The function a `fn=` or `cfn=` line names: "(id) name" where the id first appears, "(id)" after. */
function functionName(line: string, names: Map<string, string>): string {
  const [, id = "", name] = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line) ?? [];
  if (name !== undefined) names.set(id, name);
  return names.get(id) ?? "";
}

/** The self cost of V8's optimizing compilers in a callgrind dump. */
function compilerSelfCost(text: string): number {
  const names = new Map<string, string>();
  let compiling = 0;
  let inCompiler = false;
  // The cost line after `calls=` is the call's inclusive cost, not the caller's own.
  let afterCall = false;
  for (const line of text.split("\n")) {
    const kind = lineKind(line);
    if (kind === "cfn") functionName(line, names);
    if (kind === "fn") inCompiler = JIT_COMPILER.test(functionName(line, names));
    if (kind === "cost" && inCompiler && !afterCall) compiling += Number(line.split(" ")[1] ?? 0);
    if (kind === "cost" || kind === "calls") afterCall = kind === "calls";
  }
  return compiling;
}

/** The total of a callgrind dump (`summary:` or `totals:` line), and the part spent compiling. */
async function dumpedTotals(file: string): Promise<{ total: number; compiling: number }> {
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
  const text = readFileSync(file, "utf8");
  const match = /^(?:summary|totals): (\d+)/m.exec(text);
  if (match === null) throw new Error(`no totals in ${file}`);
  return { total: Number(match[1]), compiling: compilerSelfCost(text) };
}

async function measure(
  name: ConfigName,
  options: { requests: number; warmup: number; dir: string; upstreamPort: number },
) {
  const { accessLog, metrics, tracing } = CONFIGS[name];
  const configFile = path.join(options.dir, `${name}.json`);
  writeFileSync(
    configFile,
    sidecarConfig({ listenPort: 0, upstreamPort: options.upstreamPort, workDir: options.dir }, accessLog, {
      telemetry: { metrics, tracing },
    }),
  );
  const out = path.join(options.dir, `callgrind.${name}.%p`);
  const args = [
    "--tool=callgrind",
    "--smc-check=all-non-file",
    `--callgrind-out-file=${out}`,
    process.execPath,
  ];
  args.push(
    ...NODE_PROXY_FLAGS,
    path.join(repoRoot, "dist", "podgate.mjs"),
    "sidecar",
    "--config",
    configFile,
  );
  const launched = launch(name, "valgrind", args, {
    core: 0,
    stdout: "pipe",
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${options.upstreamPort}`,
      OTEL_METRIC_EXPORT_INTERVAL: "3600000",
      OTEL_BSP_SCHEDULE_DELAY: "3600000",
    },
  });
  try {
    const stdout = launched.child.stdout;
    if (!stdout) throw new Error("no stdout pipe");
    const port = await waitForLine(
      stdout,
      (line) => (parseJsonLine(line)?.data as { port?: number } | undefined)?.port,
      180_000,
    );
    const url = `http://127.0.0.1:${port}`;
    await load(url, options.warmup);
    execFileSync("callgrind_control", ["-z", String(launched.pid)], { stdio: "ignore" });
    const failed = await load(url, options.requests);
    execFileSync("callgrind_control", ["-d", String(launched.pid)], { stdio: "ignore" });
    const { total, compiling } = await dumpedTotals(out.replace("%p", `${launched.pid}.1`));
    return { name, perRequest: total / options.requests, compiling: compiling / total, failed };
  } finally {
    await stop(launched, 5000);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: "string", default: Object.keys(CONFIGS).join(",") },
      requests: { type: "string", default: "20000" },
      warmup: { type: "string", default: "30000" },
      repeat: { type: "string", default: "3" },
    },
  });
  const names = values.only.split(",").filter((name): name is ConfigName => name in CONFIGS);
  if (spawnSync("valgrind", ["--version"], { stdio: "ignore" }).status !== 0) {
    process.stderr.write("valgrind is not installed (apt-get install valgrind)\n");
    process.exitCode = 2;
    return;
  }
  execFileSync(process.execPath, ["scripts/build.ts", "dist/podgate.mjs"], {
    cwd: repoRoot,
    stdio: "ignore",
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "podgate-instructions-"));
  const upstream = await startUpstream(1);
  try {
    const results = [];
    for (const name of names) {
      const runs = [];
      for (let run = 1; run <= Number(values.repeat); run++) {
        process.stderr.write(`instructions: ${name}, process ${run} of ${values.repeat}...\n`);
        runs.push(
          await measure(name, {
            requests: Number(values.requests),
            warmup: Number(values.warmup),
            dir,
            upstreamPort: upstream.port,
          }),
        );
      }
      runs.sort((a, b) => a.perRequest - b.perRequest);
      const middle = runs[Math.floor(runs.length / 2)] as (typeof runs)[number];
      const range = runs.map((r) => Math.round(r.perRequest / 1000)).join("/");
      results.push({ ...middle, range, failed: runs.reduce((sum, r) => sum + r.failed, 0) });
    }
    const base = results.find((result) => result.name === "off")?.perRequest;
    const lines = [
      "| config | instructions / request (median) | every process (k) | vs off | of which JIT compiling | failed requests |",
      "|---|--:|--:|--:|--:|--:|",
    ];
    for (const result of results) {
      const ratio = base === undefined ? "—" : `${((result.perRequest / base - 1) * 100).toFixed(1)} %`;
      const compiling = `${(result.compiling * 100).toFixed(1)} %`;
      lines.push(
        `| ${result.name} | ${Math.round(result.perRequest)} | ${result.range} | ${ratio} | ${compiling} | ${result.failed} |`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await stop(upstream.launched);
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
