/**
 * `podgate webhook --tls-cert FILE --tls-key FILE [--port N] [--settings FILE]`: runs the mutating
 * and validating admission webhooks over HTTPS. Reads the settings once, resolves native sidecar
 * support once (auto asks the API server), and shuts down gracefully on SIGTERM.
 */
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { resolveNativeSidecars } from "../webhooks/cluster-version.ts";
import { kubeNamespaceLookup } from "../webhooks/namespaces.ts";
import { createWebhookServer } from "../webhooks/server.ts";
import { loadSettings } from "./settings-file.ts";
import { VERSION } from "./version.ts";

const USAGE = "usage: podgate webhook --tls-cert FILE --tls-key FILE [--port N] [--settings FILE]\n";

/** Parses the webhook's options; throws on a missing file or a bad port. */
export function parseWebhookOptions(argv: string[]): {
  certFile: string;
  keyFile: string;
  port: number;
  settings?: string;
} {
  const { values } = parseArgs({
    args: argv,
    options: {
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      port: { type: "string" },
      settings: { type: "string" },
    },
  });
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if (certFile === undefined || keyFile === undefined)
    throw new Error("--tls-cert and --tls-key are required");
  const port = Number(values.port ?? "8443");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: expected a port number, got ${values.port}`);
  return { certFile, keyFile, port, ...(values.settings === undefined ? {} : { settings: values.settings }) };
}

/** `podgate webhook`: runs until SIGTERM or SIGINT; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseWebhookOptions>;
  try {
    options = parseWebhookOptions(argv);
  } catch (error) {
    process.stderr.write(`podgate webhook: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const settings = loadSettings(options.settings);
  const logger = pino({ name: "podgate-webhook" });
  let kubeConfig: KubeConfig | undefined;
  const kube = () => {
    if (kubeConfig === undefined) {
      kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
    }
    return kubeConfig;
  };
  const nativeSidecars = await resolveNativeSidecars(settings, kube);
  const server = createWebhookServer({
    certFile: options.certFile,
    keyFile: options.keyFile,
    port: options.port,
    settings,
    nativeSidecars,
    injectorVersion: VERSION,
    namespaces: kubeNamespaceLookup({ kubeConfig: kube() }),
    logger,
  });
  const port = await server.listen();
  logger.info({ port, nativeSidecars, version: VERSION }, "podgate webhook listening");
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info({ signal }, "shutting down");
  await server.close();
  return 0;
}
