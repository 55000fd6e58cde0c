/**
 * `podgate webhook --tls-cert FILE --tls-key FILE [--port N] [--settings FILE]`: runs the mutating
 * and validating admission webhooks over HTTPS. Reads the settings once, resolves native sidecar
 * support once (auto asks the API server), and shuts down gracefully on SIGTERM.
 *
 * With `--manage-certificates --certificate-secret NAME --mutating-webhook NAME --validating-webhook
 * NAME --service NAME --namespace NS` it also manages its own TLS: before listening it makes sure the
 * Secret holds a CA and a serving certificate, sets both configurations' caBundle and writes the
 * pair to --tls-cert and --tls-key (which must then be writable, e.g. an emptyDir); every hour it
 * checks again and rotates well before expiry.
 *
 * With OTEL_EXPORTER_OTLP_ENDPOINT set it exports its admission metrics over OTLP/HTTP
 * (webhooks/telemetry.ts) and flushes them on shutdown.
 */
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  type CertificateOptions,
  ensureCertificates,
  scheduleCertificateChecks,
} from "../webhooks/certificates.ts";
import { resolveNativeSidecars } from "../webhooks/cluster-version.ts";
import { createWebhookLogger } from "../webhooks/logger.ts";
import { kubeNamespaceLookup } from "../webhooks/namespaces.ts";
import { createWebhookServer } from "../webhooks/server.ts";
import { startWebhookTelemetry } from "../webhooks/telemetry.ts";
import { loadSettings } from "./settings-file.ts";
import { VERSION } from "./version.ts";

const USAGE = `usage: podgate webhook --tls-cert FILE --tls-key FILE [--port N] [--settings FILE]
         [--manage-certificates --certificate-secret NAME --mutating-webhook NAME
          --validating-webhook NAME --service NAME --namespace NS]
`;

/** What `--manage-certificates` needs besides the certificate files. */
export interface ManagedCertificates {
  secretName: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  service: string;
  namespace: string;
}

/** The webhook's parsed options. */
export interface WebhookOptions {
  certFile: string;
  keyFile: string;
  port: number;
  settings?: string;
  /** Present with --manage-certificates. */
  certificates?: ManagedCertificates;
}

const MANAGED_FLAGS = {
  secretName: "certificate-secret",
  mutatingWebhook: "mutating-webhook",
  validatingWebhook: "validating-webhook",
  service: "service",
  namespace: "namespace",
} as const;

function managedCertificates(values: Record<string, string | boolean | undefined>): ManagedCertificates {
  const missing = Object.values(MANAGED_FLAGS).filter((flag) => typeof values[flag] !== "string");
  if (missing.length > 0) {
    throw new Error(`--manage-certificates needs ${missing.map((flag) => `--${flag}`).join(", ")}`);
  }
  const pick = (flag: string) => String(values[flag]);
  return {
    secretName: pick(MANAGED_FLAGS.secretName),
    mutatingWebhook: pick(MANAGED_FLAGS.mutatingWebhook),
    validatingWebhook: pick(MANAGED_FLAGS.validatingWebhook),
    service: pick(MANAGED_FLAGS.service),
    namespace: pick(MANAGED_FLAGS.namespace),
  };
}

const text = { type: "string" } as const;
const OPTIONS = {
  "tls-cert": text,
  "tls-key": text,
  port: text,
  settings: text,
  "manage-certificates": { type: "boolean" },
  "certificate-secret": text,
  "mutating-webhook": text,
  "validating-webhook": text,
  service: text,
  namespace: text,
} as const;

/** Parses the webhook's options; throws on a missing file, a bad port or an incomplete --manage-certificates. */
export function parseWebhookOptions(argv: string[]): WebhookOptions {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if (typeof certFile !== "string" || typeof keyFile !== "string")
    throw new Error("--tls-cert and --tls-key are required");
  const port = Number(values.port ?? "8443");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: expected a port number, got ${values.port}`);
  const options: WebhookOptions = { certFile, keyFile, port };
  if (typeof values.settings === "string") options.settings = values.settings;
  if (values["manage-certificates"] === true) options.certificates = managedCertificates(values);
  return options;
}

/** With --manage-certificates: sets up the certificates before the server reads them, then checks hourly. */
async function manageCertificates(
  options: WebhookOptions,
  kubeConfig: () => KubeConfig,
  logger: Logger,
): Promise<() => void> {
  if (options.certificates === undefined) return () => undefined;
  const certificates: CertificateOptions = {
    ...options.certificates,
    kubeConfig: kubeConfig(),
    certFile: options.certFile,
    keyFile: options.keyFile,
    logger,
  };
  await ensureCertificates(certificates);
  return scheduleCertificateChecks(certificates);
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

/** `podgate webhook`: runs until SIGTERM or SIGINT; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options: WebhookOptions;
  try {
    options = parseWebhookOptions(argv);
  } catch (error) {
    process.stderr.write(`podgate webhook: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const settings = loadSettings(options.settings);
  const logger = createWebhookLogger(settings);
  let kubeConfig: KubeConfig | undefined;
  const kube = () => {
    if (kubeConfig === undefined) {
      kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
    }
    return kubeConfig;
  };
  const nativeSidecars = await resolveNativeSidecars(settings, kube);
  const stopCertificateChecks = await manageCertificates(options, kube, logger);
  // Before the server: the metrics API has no proxy provider, so instruments bind to what is global now.
  const telemetry = startWebhookTelemetry(process.env);
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
  const signal = await untilSignal();
  logger.info({ signal }, "shutting down");
  stopCertificateChecks();
  await server.close();
  await telemetry?.shutdown();
  return 0;
}
