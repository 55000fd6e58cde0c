import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runNode } from "../helpers/child-process.ts";
import { fetchOnce } from "../helpers/connections.ts";
import { CLI, REPO_ROOT, type SidecarProcess, startSidecarProcess } from "../helpers/sidecar-process.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

// `podgate sidecar` as a process: bad config exits 2 before listening, with every problem and its
// path on stderr; PODGATE_CONFIG (JSON) is the fallback source; help and unknown commands.

const dirs: string[] = [];
let sidecar: SidecarProcess | undefined;
let upstream: EchoUpstream | undefined;

afterEach(async () => {
  await sidecar?.stop();
  await upstream?.close();
  sidecar = undefined;
  upstream = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "podgate-sidecar-cli-"));
  dirs.push(dir);
  return dir;
}

function fileWith(name: string, text: string): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, text);
  return file;
}

/** Runs `podgate ...args` with no inherited PODGATE_CONFIG (plus `env`). */
function podgate(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runNode([CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PODGATE_CONFIG: undefined, ...env },
  });
}

const LOOPBACK = "listener: {host: 127.0.0.1, port: 0}\nadmin: {host: 127.0.0.1, port: 0}\n";

interface BadConfigCase {
  name: string;
  /** The `--config` argument, given the case's scratch directory. */
  args: () => string[];
  env?: NodeJS.ProcessEnv;
  /** Every line or pattern stderr must contain. */
  stderr: Array<string | RegExp>;
  /** How many problem lines (indented under the heading) stderr lists, when known. */
  problems?: number;
}

const badConfigs: BadConfigCase[] = [
  {
    name: "lists every problem in a YAML file with its path",
    args: () => [
      "--config",
      fileWith(
        "bad.yaml",
        `${LOOPBACK}limits: {maxBodyBytes: "ten"}\nbogus: 1\nforwarding: {trustedProxies: ["10.0.0.0/8", "10.0.0.0/33"]}\n`,
      ),
    ],
    stderr: [
      "podgate sidecar: invalid config (PODGATE_CONFIG_INVALID):",
      'limits.maxBodyBytes: expected a positive integer, got "ten"',
      // The known keys are listed; the list grows with the schema, so only its ends are pinned.
      /^ {2}bogus: unknown key; expected one of listener, admin, upstream, limits, .*\blog, telemetry, audit, redact$/m,
      'forwarding.trustedProxies[1]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got "10.0.0.0/33"',
    ],
    problems: 3,
  },
  {
    name: "names a missing config file",
    args: () => ["--config", path.join(tempDir(), "missing.yaml")],
    stderr: ["(PODGATE_CONFIG_UNREADABLE)", /cannot read config file \S*missing\.yaml: ENOENT/],
  },
  {
    name: "names a config path that cannot be read as a file",
    args: () => ["--config", tempDir()],
    stderr: ["(PODGATE_CONFIG_UNREADABLE)", /cannot read config file \S+: EISDIR/],
  },
  {
    name: "reports invalid YAML with its file name and position",
    args: () => ["--config", fileWith("broken.yaml", `${LOOPBACK}limits: {maxBodyBytes: [\n`)],
    stderr: ["(PODGATE_CONFIG_UNREADABLE)", /broken\.yaml is not valid YAML: .*line \d+, column \d+/],
  },
  {
    name: "reports invalid JSON in PODGATE_CONFIG",
    args: () => [],
    env: { PODGATE_CONFIG: '{"limits": ' },
    stderr: ["(PODGATE_CONFIG_UNREADABLE)", /PODGATE_CONFIG is not valid JSON: /],
  },
  {
    name: "lists schema problems of PODGATE_CONFIG with their paths",
    args: () => [],
    env: {
      PODGATE_CONFIG: JSON.stringify({
        listener: { host: "127.0.0.1", port: 0 },
        admin: { host: "127.0.0.1", port: 70_000 },
        upstream: { url: "https://app:8443" },
      }),
    },
    stderr: [
      "admin.port: expected a port number from 0 to 65535, got 70000",
      'upstream.url: expected an http:// URL such as http://127.0.0.1:8081, got "https://app:8443"',
    ],
    problems: 2,
  },
];

describe("podgate sidecar: invalid config", () => {
  it.each(badConfigs)("$name, exits 2 and never listens", async (testCase) => {
    const result = await podgate(["sidecar", ...testCase.args()], testCase.env);
    expect(result.code, result.stderr).toBe(2);
    for (const expected of testCase.stderr) {
      if (typeof expected === "string") expect(result.stderr).toContain(expected);
      else expect(result.stderr).toMatch(expected);
    }
    if (testCase.problems !== undefined) {
      const listed = result.stderr.split("\n").filter((line) => line.startsWith("  "));
      expect(listed, result.stderr).toHaveLength(testCase.problems);
    }
    // It stopped before starting: no log line at all, so no "podgate sidecar listening".
    expect(result.stdout).not.toContain("listening");
    expect(result.stdout).toBe("");
  });
});

describe("podgate sidecar: config sources", () => {
  it("uses a valid config from PODGATE_CONFIG and fills in the defaults", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startSidecarProcess(
      {
        upstream: { url: upstream.url },
        limits: { maxBodyBytes: 12_345 },
        drain: { delayMs: 0, timeoutMs: 500 },
      },
      { via: "env" },
    );
    expect(sidecar.configFile).toBe("");
    const response = await fetchOnce(`${sidecar.adminUrl}/config`);
    expect(response.status).toBe(200);
    const effective = JSON.parse(response.body.toString());
    // toMatchObject: sections the schema gains later may add keys of their own.
    expect(effective.limits).toMatchObject({
      maxBodyBytes: 12_345,
      maxHeaderBytes: 16_384,
      maxHeaderCount: 100,
      headerReadTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      keepAliveTimeoutMs: 65_000,
    });
    expect(effective.upstream).toMatchObject({
      url: upstream.url,
      connectTimeoutMs: 1000,
      responseTimeoutMs: 30_000,
      bodyIdleTimeoutMs: 300_000,
      idleTimeoutMs: 4000,
      maxConnections: 64,
    });
    expect(effective.forwarding).toEqual({ trustedProxies: [] });
    expect(effective.paths).toEqual({ mergeSlashes: false });
    expect(effective.log).toEqual({ level: "info", accessLog: true });
    expect(effective.drain).toEqual({ delayMs: 0, timeoutMs: 500 });
    expect(effective).not.toHaveProperty("routes");
    // And it serves with that config: the proxy forwards to the app.
    const proxied = await fetchOnce(`${sidecar.url}/through`);
    expect(proxied.status).toBe(200);
    expect(upstream.received.map((r) => r.url)).toEqual(["/through"]);
  });

  it("prints the access line of a request it answered just before SIGTERM (lines held for batching are flushed)", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startSidecarProcess({ upstream: { url: upstream.url } });
    const response = await fetchOnce(`${sidecar.url}/last`);
    expect(response.status).toBe(200);
    sidecar.proc.signal("SIGTERM");
    expect(await sidecar.proc.exited).toEqual({ code: 0, signal: null });
    const access = sidecar.proc.records.filter((record) => record.msg === "access");
    expect(access.map((record) => record.path)).toEqual(["/last"]);
  });

  it("prefers --config over PODGATE_CONFIG", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startSidecarProcess(
      { upstream: { url: upstream.url }, limits: { maxBodyBytes: 777 } },
      { env: { PODGATE_CONFIG: JSON.stringify({ limits: { maxBodyBytes: 999 } }) } },
    );
    const effective = JSON.parse((await fetchOnce(`${sidecar.adminUrl}/config`)).body.toString());
    expect(effective.limits.maxBodyBytes).toBe(777);
  });
});

describe("podgate CLI: help and usage", () => {
  it("prints the sidecar help and exits 0 for `podgate sidecar --help`", async () => {
    const result = await podgate(["sidecar", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("usage: podgate sidecar [--config FILE]");
    expect(result.stdout).toContain("PODGATE_CONFIG");
    expect(result.stderr).toBe("");
  });

  it("exits 2 with the usage for an unknown command", async () => {
    const result = await podgate(["nosuch"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('podgate: unknown command "nosuch"');
    expect(result.stderr).toContain("usage: podgate <command> [options]");
    expect(result.stderr).toMatch(/^ {2}sidecar /m);
    expect(result.stdout).toBe("");
  });
});
