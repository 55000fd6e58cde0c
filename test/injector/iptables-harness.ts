/**
 * Runs inside a fresh network namespace (`unshare -n node iptables-harness.ts`) as the pod's
 * network: creates a second namespace for a client joined by a veth pair, applies the iptables
 * init container's script, starts an app and the real `podgate sidecar`, and reports as JSON what
 * the client and the app saw. Input (env): PODGATE_TEST_SCRIPT, PODGATE_TEST_CONFIG, PODGATE_TEST_APP_PORT.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";

const script = process.env.PODGATE_TEST_SCRIPT ?? "";
const config = process.env.PODGATE_TEST_CONFIG ?? "{}";
const appPort = Number(process.env.PODGATE_TEST_APP_PORT);
const adminPort = (JSON.parse(config) as { admin: { port: number } }).admin.port;
const POD_IP = "10.99.0.1";
const children: ChildProcess[] = [];

const run = (file: string, args: string[]) =>
  execFileSync(file, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

function clientNamespace(): number {
  const holder = spawn("unshare", ["-n", "sleep", "120"], { stdio: "ignore" });
  children.push(holder);
  if (holder.pid === undefined) throw new Error("cannot start the client namespace");
  return holder.pid;
}

async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

function inClient(pid: number, args: string[]): string {
  return run("nsenter", ["-t", String(pid), "-n", ...args]);
}

/** The client runs in its own process and this one serves the app, so the call must not block. */
async function clientGet(pid: number, url: string): Promise<{ status: number; body: string }> {
  const code = `fetch(${JSON.stringify(url)}).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ status: 0, body: String(e.cause ?? e) })))`;
  const args = ["-t", String(pid), "-n", process.execPath, "-e", code];
  const { stdout } = await promisify(execFile)("nsenter", args);
  return JSON.parse(stdout);
}

async function main(): Promise<void> {
  run("ip", ["link", "set", "lo", "up"]);
  const pid = clientNamespace();
  await waitFor(() => run("readlink", [`/proc/${pid}/ns/net`]) !== run("readlink", ["/proc/self/ns/net"]));
  run("ip", ["link", "add", "pg-pod", "type", "veth", "peer", "name", "pg-client", "netns", String(pid)]);
  run("ip", ["addr", "add", `${POD_IP}/24`, "dev", "pg-pod"]);
  run("ip", ["link", "set", "pg-pod", "up"]);
  inClient(pid, ["ip", "addr", "add", "10.99.0.2/24", "dev", "pg-client"]);
  inClient(pid, ["ip", "link", "set", "pg-client", "up"]);
  run("sh", ["-c", script]);
  run("sh", ["-c", script]); // the init container may run again after a restart: the script is idempotent
  const appSaw: { path: string; peer: string; forwardedFor: string }[] = [];
  const app = createServer((req, res) => {
    appSaw.push({
      path: req.url ?? "",
      peer: req.socket.remoteAddress ?? "",
      forwardedFor: String(req.headers["x-forwarded-for"] ?? ""),
    });
    res.end("from the app");
  });
  await new Promise<void>((resolve) => app.listen(appPort, "0.0.0.0", resolve));
  const sidecar = spawn(process.execPath, [join(import.meta.dirname, "../../cli/podgate.ts"), "sidecar"], {
    env: { ...process.env, PODGATE_CONFIG: config },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(sidecar);
  await waitFor(async () => {
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    return ready;
  });
  const allowed = await clientGet(pid, `http://${POD_IP}:${appPort}/allowed`);
  const blocked = await clientGet(pid, `http://${POD_IP}:${appPort}/blocked`);
  const rules = run("iptables", ["-t", "nat", "-S"]);
  app.close();
  process.stdout.write(`${JSON.stringify({ allowed, blocked, appSaw, rules })}\n`);
}

// If the test gives up on us (spawnSync's timeout sends SIGTERM), take the children down too.
process.once("SIGTERM", () => {
  for (const child of children) child.kill("SIGKILL");
  process.exit(1);
});

main()
  .catch((error: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String((error as Error).stack ?? error) })}\n`);
  })
  .finally(() => {
    for (const child of children) child.kill("SIGKILL");
  });
