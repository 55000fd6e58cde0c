/**
 * Self-managed webhook TLS, as Kyverno and Gatekeeper do it: keep a CA and a serving certificate in a
 * Secret, set the caBundle of every entry in both webhook configurations, and write the serving pair
 * to the files the server reloads. Runs at start and then every hour; a serving certificate is
 * renewed 30 days before it expires and the CA 60 days before. While a CA is replaced, the caBundle
 * carries the new and the old CA, so a replica still serving the old certificate is trusted too.
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhook,
  type V1ValidatingWebhook,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { describeApiError } from "./api-errors.ts";
import { type CertificateMaterial, type Renewal, reconcileSecret } from "./certificate-secret.ts";
import { CertificatesUnavailableError } from "./errors.ts";
import { expiresWithin, parseCertificate, serviceDnsNames } from "./pki.ts";

/** Options of ensureCertificates and scheduleCertificateChecks. */
export interface CertificateOptions {
  kubeConfig: KubeConfig;
  /** The webhook's namespace: where the Secret and the Service live. */
  namespace: string;
  secretName: string;
  /** The webhook's Service; the certificate names `<service>.<namespace>.svc`. */
  service: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  /** The files the webhook server serves and reloads. */
  certFile: string;
  keyFile: string;
  /** Default: the system clock. */
  now?: () => Date;
  logger?: Logger;
  /**
   * How long to wait after a caBundle changed before serving a certificate from the new CA, so the
   * API server has seen the new bundle first; default 10000 ms. Skipped when nothing is served yet.
   */
  propagationDelayMs?: number;
}

/** What one check did. */
export interface CertificateResult {
  renewal: Renewal;
  reason: string;
  /** The PEM caBundle now set on the webhook configurations. */
  caBundle: string;
  /** The webhook configurations whose caBundle was patched ("mutating/NAME"). */
  patched: string[];
  /** Whether the certificate files were rewritten. */
  filesChanged: boolean;
}

/** How often the Secret is checked again; default one hour. */
export const CHECK_INTERVAL_MS = 3_600_000;

/** The caBundle: the current CA, then the previous one while it has not expired. */
export function caBundle(material: CertificateMaterial, now: Date): string {
  const previous = parseCertificate(material.previousCa);
  const keepPrevious = previous !== undefined && !expiresWithin(previous, now, 0);
  const pems = keepPrevious ? [material.ca.cert, material.previousCa ?? ""] : [material.ca.cert];
  return pems.map((pem) => `${pem.trim()}\n`).join("");
}

/** An RFC 6902 operation. */
export interface JsonPatchOperation {
  op: "add" | "test";
  path: string;
  value: unknown;
}

/**
 * The JSON patch that sets `caBundle` (base64) on every webhook entry that lacks it. Each `add` is
 * guarded by a `test` of the entry's name, so a configuration reordered since it was read (a helm
 * upgrade) makes the API server refuse the patch rather than set the wrong entry.
 */
export function caBundlePatch(
  webhooks: Array<V1MutatingWebhook | V1ValidatingWebhook>,
  caBundleBase64: string,
): JsonPatchOperation[] {
  return webhooks.flatMap((webhook, index) =>
    webhook.clientConfig.caBundle === caBundleBase64
      ? []
      : [
          { op: "test" as const, path: `/webhooks/${index}/name`, value: webhook.name },
          { op: "add" as const, path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundleBase64 },
        ],
  );
}

async function patchMutating(
  api: AdmissionregistrationV1Api,
  name: string,
  bundle: string,
): Promise<boolean> {
  const config = await api.readMutatingWebhookConfiguration({ name });
  const body = caBundlePatch(config.webhooks ?? [], bundle);
  if (body.length > 0) await api.patchMutatingWebhookConfiguration({ name, body });
  return body.length > 0;
}

async function patchValidating(
  api: AdmissionregistrationV1Api,
  name: string,
  bundle: string,
): Promise<boolean> {
  const config = await api.readValidatingWebhookConfiguration({ name });
  const body = caBundlePatch(config.webhooks ?? [], bundle);
  if (body.length > 0) await api.patchValidatingWebhookConfiguration({ name, body });
  return body.length > 0;
}

async function patchCaBundles(options: CertificateOptions, bundle: string): Promise<string[]> {
  const api = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const base64 = Buffer.from(bundle, "utf8").toString("base64");
  const patched: string[] = [];
  if (await patchMutating(api, options.mutatingWebhook, base64))
    patched.push(`mutating/${options.mutatingWebhook}`);
  if (await patchValidating(api, options.validatingWebhook, base64)) {
    patched.push(`validating/${options.validatingWebhook}`);
  }
  return patched;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Replaces a file by renaming a complete copy over it, so the server never reads half a PEM. */
function writeIfChanged(file: string, content: string): boolean {
  if (readIfExists(file) === content) return false;
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, content, { mode: 0o600 });
  renameSync(partial, file);
  return true;
}

/** Writes the key, then the certificate (the server's reload of a mismatched pair fails and keeps the old one). */
function writeServingFiles(options: CertificateOptions, material: CertificateMaterial): boolean {
  const key = writeIfChanged(options.keyFile, material.serving.key);
  const cert = writeIfChanged(options.certFile, material.serving.cert);
  return key || cert;
}

async function reconcile(options: CertificateOptions): Promise<CertificateResult> {
  const now = options.now?.() ?? new Date();
  const log = options.logger;
  const secret = await reconcileSecret({
    api: options.kubeConfig.makeApiClient(CoreV1Api),
    namespace: options.namespace,
    name: options.secretName,
    dnsNames: serviceDnsNames(options.service, options.namespace),
    now,
    onConflict: (attempt) =>
      log?.info({ attempt }, "certificate Secret changed by another replica; reading it again"),
  });
  const bundle = caBundle(secret.material, now);
  const patched = await patchCaBundles(options, bundle);
  const serving = readIfExists(options.certFile) !== undefined;
  if (patched.length > 0 && serving) await sleep(options.propagationDelayMs ?? 10_000);
  const filesChanged = writeServingFiles(options, secret.material);
  return { renewal: secret.renewal, reason: secret.reason, caBundle: bundle, patched, filesChanged };
}

/**
 * Makes sure the Secret holds a valid CA and serving certificate for the Service, the webhook
 * configurations trust that CA, and the certificate files hold the serving pair. Throws
 * CertificatesUnavailableError when the API server refuses or cannot be reached.
 * @example await ensureCertificates({ kubeConfig, namespace: "podgate-system", secretName: "podgate-tls", service: "podgate-webhook", mutatingWebhook: "podgate", validatingWebhook: "podgate", certFile, keyFile });
 */
export async function ensureCertificates(options: CertificateOptions): Promise<CertificateResult> {
  let result: CertificateResult;
  try {
    result = await reconcile(options);
  } catch (error) {
    const what = `Secret ${options.namespace}/${options.secretName}, webhook configurations ${options.mutatingWebhook} and ${options.validatingWebhook}`;
    throw new CertificatesUnavailableError(
      `cannot manage webhook certificates (${what}): ${describeApiError(error)}`,
      {
        cause: error,
      },
    );
  }
  const { renewal, reason, patched, filesChanged } = result;
  const level = renewal === "keep" && patched.length === 0 ? "debug" : "info";
  options.logger?.[level]({ renewal, reason, patched, filesChanged }, `webhook certificates: ${renewal}`);
  return result;
}

/**
 * Runs ensureCertificates every `intervalMs` (default one hour) on an unref'd timer, one run at a
 * time; failures are logged and retried at the next tick. Returns a function that stops it.
 */
export function scheduleCertificateChecks(options: CertificateOptions & { intervalMs?: number }): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    ensureCertificates(options)
      .catch((error: unknown) => options.logger?.error({ err: error }, "webhook certificate check failed"))
      .finally(() => {
        running = false;
      });
  }, options.intervalMs ?? CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
