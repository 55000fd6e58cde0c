/**
 * The sidecar's cold start, as a pod would see it: time from spawning `node dist/podgate.mjs sidecar`
 * to the first 200 from GET /readyz on its admin port (ready means the gateway listens and the app
 * behind it accepts connections). Builds the bundle first, into a fresh folder laid out as in the
 * image (dist/ beside package.json), and reports its size. Target: a median of 300 ms or less.
 *
 *   node test/bench/cold-start.ts [--runs 10] [--no-build --bundle DIST/podgate.mjs] [--config-json '{...}']
 *
 * Everything listens on 127.0.0.1 port 0: the upstream (in this process) and both of the sidecar's
 * listeners, whose ports come from its "podgate sidecar listening" log line. /readyz is polled every
 * 2 ms from the moment the admin port is known.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { median } from "./report.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const TARGET_MS = 300;
const TIMEOUT_MS = 10_000;

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    http
      .get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on("error", () => resolve(0));
  });
}

function adminPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    if (child.stdout === null) return reject(new Error("no stdout"));
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; admin?: { port?: number } };
      if (entry.msg === "podgate sidecar listening") resolve(Number(entry.admin?.port));
    });
    child.on("exit", (code) => reject(new Error(`sidecar exited with ${code} before listening`)));
  });
}

/** One cold start: spawn, wait for the listening line, poll /readyz until 200; milliseconds. */
async function coldStart(bundle: string, configFile: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [bundle, "sidecar", "--config", configFile], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await adminPort(child);
    while (performance.now() - started < TIMEOUT_MS) {
      if ((await readyz(port)) === 200) return performance.now() - started;
      await sleep(2);
    }
    throw new Error(`not ready within ${TIMEOUT_MS} ms`);
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  }
}

function stats(samples: number[]): { median: number; min: number; max: number } {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** Builds the bundle into `dir`/dist beside a copy of package.json, as the image lays it out. */
function buildInto(dir: string): string {
  const bundle = join(dir, "dist", "podgate.mjs");
  execFileSync(process.execPath, [join(ROOT, "scripts/build.ts"), bundle], { cwd: ROOT, stdio: "inherit" });
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  return bundle;
}

function report(bundle: string, samples: number[]): void {
  const { median, min, max } = stats(samples);
  const files = readdirSync(dirname(bundle)).map((name) => statSync(join(dirname(bundle), name)).size);
  const total = files.reduce((sum, size) => sum + size, 0);
  const mib = (total / 1024 / 1024).toFixed(2);
  console.log(
    `bundle ${bundle}: entry ${statSync(bundle).size} bytes; ${files.length} files, ${total} bytes (${mib} MiB)`,
  );
  console.log(
    `node ${process.version}, ${samples.length} runs: ${samples.map((s) => s.toFixed(0)).join(" ")} ms`,
  );
  const verdict = median <= TARGET_MS ? "met" : "missed";
  const line = `median ${median.toFixed(0)} ms, min ${min.toFixed(0)} ms, max ${max.toFixed(0)} ms`;
  console.log(`cold start to ready: ${line} (target ≤ ${TARGET_MS} ms: ${verdict})`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "10" },
      "no-build": { type: "boolean" },
      bundle: { type: "string" },
      "config-json": { type: "string", default: "{}" },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), "podgate-cold-start-"));
  const bundle = values["no-build"] === true && values.bundle !== undefined ? values.bundle : buildInto(dir);
  const upstream = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const config = {
    listener: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    upstream: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` },
    ...(JSON.parse(values["config-json"]) as Record<string, unknown>),
  };
  const configFile = join(dir, "sidecar.json");
  writeFileSync(configFile, JSON.stringify(config));
  try {
    // One unmeasured start warms the page cache, as on a node that has just pulled the image.
    await coldStart(bundle, configFile);
    const samples: number[] = [];
    for (let run = 0; run < Number(values.runs); run++) samples.push(await coldStart(bundle, configFile));
    report(bundle, samples);
  } finally {
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
