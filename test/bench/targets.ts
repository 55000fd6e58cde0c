import { execFileSync } from "node:child_process";
/**
 * Starting and stopping each benchmark target in front of the upstream app: `direct` (no proxy,
 * the reference), the podgate sidecar with and without its access log, nginx, haproxy, and
 * `undici-min` (a bare undici proxy, only when asked for). Every proxy is pinned to one core and
 * is ready (answers 200 through itself, or /readyz for podgate) when `startTarget` resolves.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { haproxyConfig, nginxConfig, type ProxyConfigOptions, sidecarConfig } from "./configs.ts";
import {
  childPids,
  freePort,
  type Launched,
  launch,
  parseJsonLine,
  stop,
  waitForHttp,
  waitForLine,
} from "./processes.ts";

/** Every target the benchmark knows, in the order it runs them. */
export const TARGET_NAMES = [
  "direct",
  "podgate",
  "podgate+accesslog",
  "podgate+policies",
  "podgate+telemetry",
  "nginx",
  "haproxy",
  "undici-min",
] as const;

/** A target's name. */
export type TargetName = (typeof TARGET_NAMES)[number];

/** Targets run when `--only` is not given: all but the bare undici proxy, which is run on request. */
export const DEFAULT_TARGETS: readonly TargetName[] = TARGET_NAMES.filter((name) => name !== "undici-min");

/** The core the proxies run on; the upstream, the load generators and the bench itself use LOAD_CORE. */
export const PROXY_CORE = 0;
export const LOAD_CORE = 1;

/**
 * Long enough for the JIT to settle and for the telemetry target's first span export (after 5 s,
 * OTEL_BSP_SCHEDULE_DELAY), which loads the exporter's code once, to happen before measuring.
 */
export const WARMUP_S = 6;

/**
 * Heap flags the benchmarks run the Node proxies with (perf notes §3, §7.5). The sidecar image's
 * entrypoint and the injector set no Node flags, so a pod runs with Node's defaults.
 */
export const NODE_PROXY_FLAGS = ["--max-semi-space-size=2", "--max-old-space-size=64"];

/** Where and how targets run. */
export interface TargetContext {
  /** Repository root, the working directory for `cli/podgate.ts`. */
  repoRoot: string;
  /** Temporary directory for generated configs and logs. */
  workDir: string;
  upstreamPort: number;
  /** CPU core the proxy is pinned to. */
  core: number;
}

/** A started target. */
export interface RunningTarget {
  name: TargetName;
  /** URL the load generators hit. */
  url: string;
  /** Pids whose VmRSS/VmHWM are summed as the proxy's memory; empty when there is no proxy. */
  memoryPids: () => number[];
  /** Which processes `memoryPids` covers, for the report. */
  memoryNote: string;
  /** A header every request must carry (`name: value`), e.g. the API key for podgate+policies. */
  header?: string;
  stop: () => Promise<void>;
}

/** The context every benchmark uses: this repository, the proxy core, the upstream on `upstreamPort`. */
export function proxyContext(workDir: string, upstreamPort: number): TargetContext {
  return { repoRoot: path.resolve(import.meta.dirname, "../.."), workDir, upstreamPort, core: PROXY_CORE };
}

const START_TIMEOUT_MS = 15_000;

interface ListeningLine {
  port: number;
  adminPort: number;
}

function podgateListening(line: string): ListeningLine | undefined {
  const record = parseJsonLine(line);
  if (record?.msg !== "podgate sidecar listening") return undefined;
  const data = record.data as { port?: unknown } | undefined;
  const admin = record.admin as { port?: unknown } | undefined;
  if (typeof data?.port !== "number" || typeof admin?.port !== "number") return undefined;
  return { port: data.port, adminPort: admin.port };
}

function portLine(line: string): number | undefined {
  const port = parseJsonLine(line)?.port;
  return typeof port === "number" ? port : undefined;
}

function proxyTarget(
  name: TargetName,
  launched: Launched,
  port: number,
  memoryNote = "process",
): RunningTarget {
  return {
    name,
    url: `http://127.0.0.1:${port}/`,
    memoryPids: () => [launched.pid],
    memoryNote,
    stop: () => stop(launched),
  };
}

/** Wraps a startup failure with the process's stderr, after stopping it. */
async function failed(launched: Launched, error: unknown): Promise<never> {
  await stop(launched);
  const stderr = launched.stderr();
  throw new Error(`${(error as Error).message}${stderr ? `\n${launched.name} stderr:\n${stderr}` : ""}`);
}

/**
 * The sidecar runs from the esbuild bundle (`npm run build`), as its container image runs it: no
 * TypeScript stripping at startup, one module. Built once per benchmark run.
 */
function sidecarBundle(repoRoot: string): string {
  const bundle = path.join(repoRoot, "dist", "podgate.mjs");
  if (!bundleBuilt) {
    execFileSync(process.execPath, ["scripts/build.ts", bundle], { cwd: repoRoot, stdio: "ignore" });
    bundleBuilt = true;
  }
  return bundle;
}
let bundleBuilt = false;

const BENCH_KEY = "bench-key-0123456789abcdef";

/**
 * The issue's policy benchmark: API-key authentication (one key file), a rate limit keyed by
 * identity that never trips, and a route allowlist. Requests carry the key.
 */
function benchPolicies(workDir: string): { config: Record<string, unknown>; header: string } {
  const keys = path.join(workDir, "api-keys");
  mkdirSync(keys, { recursive: true });
  writeFileSync(path.join(keys, "bench"), BENCH_KEY);
  return {
    header: `x-api-key: ${BENCH_KEY}`,
    config: {
      routes: [{ path: "/", methods: ["GET"] }],
      policies: {
        apiKeys: { directory: keys },
        rateLimits: [{ name: "bench", key: "identity", limits: [{ requests: 1_000_000, per: "second" }] }],
      },
    },
  };
}

async function startPodgate(name: TargetName, context: TargetContext): Promise<RunningTarget> {
  const accessLog = name === "podgate+accesslog";
  const configFile = path.join(context.workDir, `${name.replace("+", "-")}.json`);
  const options: ProxyConfigOptions = {
    listenPort: 0,
    upstreamPort: context.upstreamPort,
    workDir: context.workDir,
  };
  const policies = name === "podgate+policies" ? benchPolicies(context.workDir) : undefined;
  // Every podgate target but podgate+telemetry runs with telemetry off, so `podgate` is the
  // baseline issue 7's "telemetry on keeps ≥ 0.90×" is measured against.
  const telemetry = name === "podgate+telemetry";
  writeFileSync(
    configFile,
    sidecarConfig(options, accessLog || telemetry, {
      telemetry: { metrics: telemetry, tracing: telemetry },
      ...policies?.config,
    }),
  );
  const args = [...NODE_PROXY_FLAGS, sidecarBundle(context.repoRoot), "sidecar", "--config", configFile];
  const launched = launch(name, process.execPath, args, {
    core: context.core,
    cwd: context.repoRoot,
    stdout: "pipe",
    // Traces (1 % sampled by default) go to the upstream, which answers 200 to anything.
    ...(telemetry
      ? { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${context.upstreamPort}` } }
      : {}),
  });
  try {
    // waitForLine keeps stdout flowing afterwards, so access-log lines are read and dropped.
    const stdout = launched.child.stdout;
    if (!stdout) throw new Error("no stdout pipe");
    const ports = await waitForLine(stdout, podgateListening, START_TIMEOUT_MS);
    await waitForHttp(`http://127.0.0.1:${ports.adminPort}/readyz`, launched, START_TIMEOUT_MS);
    const target = proxyTarget(name, launched, ports.port);
    return policies === undefined ? target : { ...target, header: policies.header };
  } catch (error) {
    return failed(launched, error);
  }
}

async function startUndiciMin(context: TargetContext): Promise<RunningTarget> {
  const script = path.join(import.meta.dirname, "minimal-proxy.ts");
  const args = [...NODE_PROXY_FLAGS, script, `http://127.0.0.1:${context.upstreamPort}`];
  const launched = launch("undici-min", process.execPath, args, { core: context.core, stdout: "pipe" });
  try {
    const stdout = launched.child.stdout;
    if (!stdout) throw new Error("no stdout pipe");
    const port = await waitForLine(stdout, portLine, START_TIMEOUT_MS);
    await waitForHttp(`http://127.0.0.1:${port}/`, launched, START_TIMEOUT_MS);
    return proxyTarget("undici-min", launched, port);
  } catch (error) {
    return failed(launched, error);
  }
}

async function startNative(name: "nginx" | "haproxy", context: TargetContext): Promise<RunningTarget> {
  const listenPort = await freePort();
  const options: ProxyConfigOptions = {
    listenPort,
    upstreamPort: context.upstreamPort,
    workDir: context.workDir,
  };
  const configFile = path.join(context.workDir, `${name}.conf`);
  writeFileSync(configFile, name === "nginx" ? nginxConfig(options) : haproxyConfig(options));
  const args =
    name === "nginx"
      ? ["-e", path.join(context.workDir, "nginx-error.log"), "-c", configFile, "-g", "daemon off;"]
      : ["-f", configFile, "-db"];
  const launched = launch(name, name, args, { core: context.core });
  try {
    await waitForHttp(`http://127.0.0.1:${listenPort}/`, launched, START_TIMEOUT_MS);
  } catch (error) {
    return failed(launched, error);
  }
  if (name === "haproxy") return proxyTarget(name, launched, listenPort);
  // nginx forks its worker (which inherits the core pin); count the master and the worker.
  const target = proxyTarget(name, launched, listenPort, "master+worker");
  return { ...target, memoryPids: () => [launched.pid, ...childPids(launched.pid)] };
}

/**
 * Starts target `name` in front of the upstream and resolves once it serves requests.
 *
 * @example
 * const target = await startTarget("nginx", context);
 * try { await runWrk(target.url); } finally { await target.stop(); }
 */
export function startTarget(name: TargetName, context: TargetContext): Promise<RunningTarget> {
  switch (name) {
    case "direct":
      return Promise.resolve({
        name,
        url: `http://127.0.0.1:${context.upstreamPort}/`,
        memoryPids: () => [],
        memoryNote: "none",
        stop: () => Promise.resolve(),
      });
    case "podgate":
    case "podgate+accesslog":
    case "podgate+policies":
    case "podgate+telemetry":
      return startPodgate(name, context);
    case "nginx":
    case "haproxy":
      return startNative(name, context);
    case "undici-min":
      return startUndiciMin(context);
  }
}

/** Starts the upstream app pinned to `core` and resolves with its process and port. */
export async function startUpstream(core: number): Promise<{ launched: Launched; port: number }> {
  const script = path.join(import.meta.dirname, "upstream.ts");
  const launched = launch("upstream", process.execPath, [script], { core, stdout: "pipe" });
  try {
    const stdout = launched.child.stdout;
    if (!stdout) throw new Error("no stdout pipe");
    return { launched, port: await waitForLine(stdout, portLine, START_TIMEOUT_MS) };
  } catch (error) {
    return failed(launched, error);
  }
}
