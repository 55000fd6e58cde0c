/**
 * The webhook's own small PKI: a CA and a serving certificate for its Service, made with
 * @peculiar/x509 (node:crypto can parse certificates but not issue them) and checked with
 * node:crypto's X509Certificate. ECDSA P-256 keys: quick to make, and every API server accepts them.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
// loaded before it. https://github.com/microsoft/tsyringe#installation
import "reflect-metadata";
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

/** How long a new CA is valid (default 365 days). */
export const CA_VALIDITY_DAYS = 365;
/** How long a new serving certificate is valid (default 90 days, never past its CA). */
export const SERVING_VALIDITY_DAYS = 90;
/** Issue a new serving certificate when the current one expires within this many days. */
export const SERVING_RENEW_DAYS = 30;
/** Rotate the CA when it expires within this many days. */
export const CA_RENEW_DAYS = 60;

const DAY_MS = 86_400_000;
/** Certificates start an hour back, so a node whose clock runs behind still accepts them. */
const BACKDATE_MS = 3_600_000;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const KEY_IMPORT = { name: "ECDSA", namedCurve: "P-256" } as const;

function serialNumber(): string {
  const bytes = randomBytes(16);
  // A positive INTEGER: the top bit clear (RFC 5280 section 4.1.2.2).
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

/**
 * Makes a self-signed CA (basicConstraints cA, path length 0, keyCertSign) valid for `days`.
 * @example const ca = await createCertificateAuthority({ now: new Date() });
 */
export async function createCertificateAuthority(options: {
  now: Date;
  days?: number;
  commonName?: string;
}): Promise<KeyPairPem> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${options.commonName ?? "podgate-webhook-ca"}`,
    notBefore: new Date(options.now.getTime() - BACKDATE_MS),
    notAfter: new Date(options.now.getTime() + (options.days ?? CA_VALIDITY_DAYS) * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: `${cert.toString("pem")}\n`, key: await keyPem(keys.privateKey) };
}

/** The names a Service is reached by from inside the cluster; the API server uses `<svc>.<ns>.svc`. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  const svc = `${service}.${namespace}.svc`;
  return [service, `${service}.${namespace}`, svc, `${svc}.cluster.local`];
}

/**
 * Issues a serving certificate (serverAuth) for `dnsNames`, signed by `ca`, valid for `days` but never
 * past the CA's own expiry.
 * @example await issueServingCertificate({ ca, dnsNames: serviceDnsNames("podgate", "podgate-system"), now: new Date() });
 */
export async function issueServingCertificate(options: {
  ca: KeyPairPem;
  dnsNames: string[];
  now: Date;
  days?: number;
}): Promise<KeyPairPem> {
  const { now, dnsNames } = options;
  const caCert = new x509.X509Certificate(options.ca.cert);
  const caDer = createPrivateKey(options.ca.key).export({ format: "der", type: "pkcs8" });
  const signingKey = await webcrypto.subtle.importKey("pkcs8", caDer, KEY_IMPORT, false, ["sign"]);
  const keys = await newKeys();
  const wanted = now.getTime() + (options.days ?? SERVING_VALIDITY_DAYS) * DAY_MS;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${dnsNames[2] ?? dnsNames[0] ?? "podgate-webhook"}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(Math.min(wanted, caCert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: "dns" as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: `${cert.toString("pem")}\n`, key: await keyPem(keys.privateKey) };
}

/** Parses one PEM certificate; undefined when it is not one. */
export function parseCertificate(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined || pem.trim() === "") return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Splits a PEM bundle (a caBundle) into its certificates, skipping anything that does not parse. */
export function splitBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => parseCertificate(block) ?? []);
}

/** Whether a certificate expires within `days` of `now` (or has already expired). */
export function expiresWithin(cert: X509Certificate, now: Date, days: number): boolean {
  return cert.validToDate.getTime() - now.getTime() < days * DAY_MS;
}

/** Whether `cert` was issued and signed by `ca`. */
export function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** Whether `keyPemText` is the private key of `cert`. */
export function keyMatches(cert: X509Certificate, keyPemText: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPemText));
  } catch {
    return false;
  }
}

/**
 * What is wrong with a serving certificate for `dnsName` under `ca` at `now`, or undefined when it is
 * usable: it parses, the CA signed it, its key matches, it names `dnsName` and has not expired.
 */
export function servingProblem(options: {
  serving: KeyPairPem;
  ca: X509Certificate;
  dnsName: string;
  now: Date;
}): string | undefined {
  const cert = parseCertificate(options.serving.cert);
  if (cert === undefined) return "tls.crt is not a PEM certificate";
  if (!issuedBy(cert, options.ca)) return "tls.crt is not signed by the CA";
  if (!keyMatches(cert, options.serving.key)) return "tls.key does not match tls.crt";
  if (cert.checkHost(options.dnsName) === undefined) return `tls.crt does not name ${options.dnsName}`;
  if (expiresWithin(cert, options.now, 0)) return "tls.crt has expired";
  return undefined;
}
