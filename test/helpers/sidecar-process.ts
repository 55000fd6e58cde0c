import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";
import { type NodeChild, spawnNode } from "./child-process.ts";
import { fetchOnce } from "./connections.ts";

/** The repository root, the working directory of every CLI process. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The `podgate` CLI entry point. */
export const CLI = path.join(REPO_ROOT, "cli/podgate.ts");

/** A `podgate sidecar` child process that has printed its listening line. */
export interface SidecarProcess {
  readonly proc: NodeChild;
  readonly pid: number;
  readonly port: number;
  readonly adminPort: number;
  readonly url: string;
  readonly adminUrl: string;
  /** The config file the process was started with; "" when the config came in PODGATE_CONFIG. */
  readonly configFile: string;
  /** Resolves with the first log line whose `msg` is `msg`; rejects if the process exits first. */
  waitForLog(msg: string): Promise<Record<string, unknown>>;
  /** True once a log line with this `msg` was printed. */
  logged(msg: string): boolean;
  /** SIGKILLs the process if still running and removes its config directory. */
  stop(): Promise<void>;
}

interface ListeningLine {
  msg: string;
  data: { host: string; port: number };
  admin: { host: string; port: number };
}

/** Loopback listeners on port 0 and a quiet drain; `config` is merged over this at the top level. */
export const LOOPBACK_CONFIG = {
  listener: { host: "127.0.0.1", port: 0 },
  admin: { host: "127.0.0.1", port: 0 },
  drain: { delayMs: 0, timeoutMs: 2000 },
};

/** Writes `config` as YAML into a fresh temporary directory; returns the file path. */
export function writeConfigFile(config: unknown, name = "podgate.yaml"): string {
  const dir = mkdtempSync(path.join(tmpdir(), "podgate-test-"));
  const file = path.join(dir, name);
  writeFileSync(file, typeof config === "string" ? config : toYaml(config));
  return file;
}

/** Options of startSidecarProcess. */
export interface SidecarProcessOptions {
  /** `file` (default): `--config FILE` with the config as YAML; `env`: the config as JSON in PODGATE_CONFIG. */
  via?: "file" | "env";
  /** Extra environment variables; PODGATE_CONFIG is removed from the inherited environment unless set here. */
  env?: NodeJS.ProcessEnv;
  /** The CLI entry point to run; default the sources' cli/podgate.ts (a bundle's podgate.mjs instead). */
  entry?: string;
}

/**
 * Starts `node cli/podgate.ts sidecar --config FILE` with `config` (merged over LOOPBACK_CONFIG)
 * written to a temporary YAML file (or passed in PODGATE_CONFIG), and resolves once it prints
 * "podgate sidecar listening" and its admin plane has answered one request.
 *
 * Why the extra request: the listening line is printed inside startSidecar(), before cli/sidecar.ts
 * installs its SIGTERM/SIGINT handlers, so a signal sent the instant the line appears can still meet
 * the default action and kill the process undrained. One admin round trip lets those handlers land.
 */
export async function startSidecarProcess(
  config: Record<string, unknown>,
  options: SidecarProcessOptions = {},
): Promise<SidecarProcess> {
  const full = { ...LOOPBACK_CONFIG, ...config };
  const viaEnv = options.via === "env";
  const configFile = viaEnv ? "" : writeConfigFile(full);
  const env: NodeJS.ProcessEnv = { ...process.env, PODGATE_CONFIG: undefined, ...options.env };
  if (viaEnv) env.PODGATE_CONFIG = JSON.stringify(full);
  const entry = options.entry ?? CLI;
  const args = viaEnv ? [entry, "sidecar"] : [entry, "sidecar", "--config", configFile];
  const proc = spawnNode(args, { cwd: REPO_ROOT, env });
  const stop = async () => {
    await proc.kill();
    if (configFile !== "") rmSync(path.dirname(configFile), { recursive: true, force: true });
  };
  let listening: ListeningLine;
  try {
    const line = await proc.waitForRecord((r) => r.msg === "podgate sidecar listening");
    listening = line as unknown as ListeningLine;
    await fetchOnce(`http://127.0.0.1:${listening.admin.port}/healthz`);
  } catch (error) {
    await stop();
    throw error;
  }
  const waitForLog = (msg: string) => proc.waitForRecord((r) => r.msg === msg);
  return {
    proc,
    pid: proc.pid,
    port: listening.data.port,
    adminPort: listening.admin.port,
    url: `http://127.0.0.1:${listening.data.port}`,
    adminUrl: `http://127.0.0.1:${listening.admin.port}`,
    configFile,
    waitForLog,
    logged: (msg) => proc.records.some((r) => r.msg === msg),
    stop,
  };
}
