/** Runs `podgate webhook` as a child process against a fake API server, for the CLI test and the benchmark. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type FakeApiServer, startFakeApiServer } from "./fake-api-server.ts";
import type { TestPki } from "./fixtures.ts";

const PODGATE = join(import.meta.dirname, "..", "..", "cli", "podgate.ts");

/** A running webhook process. */
export interface WebhookProcess {
  port: number;
  child: ChildProcess;
  api: FakeApiServer;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `podgate webhook --port 0` and resolves once it logs that it is listening. */
export async function startWebhookProcess(
  pki: TestPki,
  namespaces: Record<string, Record<string, string>>,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<WebhookProcess> {
  const api = await startFakeApiServer(namespaces);
  const kubeconfig = join(pki.dir, "kubeconfig");
  api.writeKubeconfig(kubeconfig);
  const args = [
    PODGATE,
    "webhook",
    "--tls-cert",
    pki.certFile,
    "--tls-key",
    pki.keyFile,
    "--port",
    "0",
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, KUBECONFIG: kubeconfig },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const logs: Record<string, unknown>[] = [];
  const listening = Promise.withResolvers<number>();
  createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).on("line", (line) => {
    const entry = JSON.parse(line) as Record<string, unknown>;
    logs.push(entry);
    if (entry.msg === "podgate webhook listening") listening.resolve(Number(entry.port));
  });
  exited.then((code) => listening.reject(new Error(`podgate webhook exited with ${code} before listening`)));
  const port = await listening.promise;
  return {
    port,
    child,
    api,
    logs,
    async stop() {
      child.kill("SIGTERM");
      const code = await exited;
      await api.close();
      return code;
    },
  };
}
