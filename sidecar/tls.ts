import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Server as HttpsServer, ServerOptions } from "node:https";
import type { Logger } from "pino";
import type { TlsConfig } from "./policy-config.ts";

/**
 * TLS on the data plane: the serving certificate and key, and for mTLS the CA bundle that client
 * certificates must chain to, read from mounted files and reloaded when they change. TLS 1.2 is the
 * lowest version accepted. With `clientCertificates: required` the handshake itself refuses a client
 * without a valid certificate; with `optional` an unverified one reaches the authentication policy,
 * which refuses it.
 */

/** Reads the files and returns the https server options. Throws with the file that failed. */
export function tlsServerOptions(tls: TlsConfig): ServerOptions {
  const wantsClientCertificates = tls.clientCertificates !== "none";
  return {
    ...keyMaterial(tls),
    minVersion: tls.minVersion,
    requestCert: wantsClientCertificates,
    rejectUnauthorized: tls.clientCertificates === "required",
  };
}

function keyMaterial(tls: TlsConfig): Pick<ServerOptions, "cert" | "key" | "ca"> {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} at ${file}: ${(error as Error).message}`);
    }
  };
  return {
    cert: read(tls.certFile, "certificate"),
    key: read(tls.keyFile, "key"),
    ...(tls.clientCaFile === undefined ? {} : { ca: read(tls.clientCaFile, "client CA bundle") }),
  };
}

/**
 * Reloads the certificate, key and CA when a file changes. Secret volumes update by swapping a
 * symlink, which fs.watch misses; polling the files' stat sees it
 * (https://kubernetes.io/docs/concepts/configuration/secret/#mounted-secrets-are-updated-automatically).
 * A reload that fails (say, the key and certificate are mid-rotation and do not match) keeps the
 * previous context and tries again on the next change. Returns a function that stops watching.
 */
export function watchTlsFiles(
  server: HttpsServer,
  tls: TlsConfig,
  log: Logger,
  intervalMs: number,
): () => void {
  const files = [tls.certFile, tls.keyFile, ...(tls.clientCaFile === undefined ? [] : [tls.clientCaFile])];
  const onChange = (current: { mtimeMs: number }, previous: { mtimeMs: number }) => {
    if (current.mtimeMs === previous.mtimeMs) return;
    try {
      server.setSecureContext({ ...keyMaterial(tls), minVersion: tls.minVersion });
      log.info({ certFile: tls.certFile }, "TLS certificate reloaded");
    } catch (error) {
      log.error({ err: error }, "TLS reload failed; keeping the previous certificate");
    }
  };
  for (const file of files) watchFile(file, { interval: intervalMs, persistent: false }, onChange);
  return () => {
    for (const file of files) unwatchFile(file, onChange);
  };
}
