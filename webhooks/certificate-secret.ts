/**
 * The Secret that holds the webhook's CA, serving certificate and key: read it, decide whether it
 * is still good, renew what is not, and write it back with optimistic concurrency. Every webhook
 * replica runs this at start; when two race, the API server accepts one write (create, or update at
 * the resourceVersion read) and answers the other 409, which then reads the winner's Secret again.
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
 */
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import {
  CA_RENEW_DAYS,
  createCertificateAuthority,
  expiresWithin,
  issueServingCertificate,
  type KeyPairPem,
  keyMatches,
  parseCertificate,
  SERVING_RENEW_DAYS,
  servingProblem,
} from "./pki.ts";

/** The Secret's data keys. `tls.crt` and `tls.key` are what a `kubernetes.io/tls` Secret requires. */
export const SECRET_KEYS = {
  ca: "ca.crt",
  caKey: "ca.key",
  previousCa: "previous-ca.crt",
  cert: "tls.crt",
  key: "tls.key",
} as const;

/** What the Secret holds: the CA, the serving pair, and the CA it replaced (kept in the caBundle until it expires). */
export interface CertificateMaterial {
  ca: KeyPairPem;
  serving: KeyPairPem;
  previousCa?: string;
}

/** What to do with the stored material: keep it, issue a new serving certificate, rotate the CA, or start over. */
export type Renewal = "keep" | "issue" | "rotate" | "create";

/** A renewal and the sentence that says why. */
export interface RenewalPlan {
  renewal: Renewal;
  reason: string;
}

/** Where the Secret lives and what the serving certificate must name. */
export interface SecretTarget {
  api: CoreV1Api;
  namespace: string;
  name: string;
  dnsNames: string[];
  now: Date;
  /** Called when another writer won a race and the Secret is read again. */
  onConflict?: (attempt: number) => void;
}

/** How often a write that lost a race (409) is retried after reading the Secret again. */
export const MAX_ATTEMPTS = 5;

function decode(secret: V1Secret, key: string): string {
  const value = secret.data?.[key];
  return value === undefined ? "" : Buffer.from(value, "base64").toString("utf8");
}

/** Reads the material out of a Secret; undefined when the Secret is missing or holds no CA. */
export function materialOf(secret: V1Secret | undefined): CertificateMaterial | undefined {
  if (secret === undefined) return undefined;
  const ca = { cert: decode(secret, SECRET_KEYS.ca), key: decode(secret, SECRET_KEYS.caKey) };
  if (ca.cert === "" || ca.key === "") return undefined;
  const serving = { cert: decode(secret, SECRET_KEYS.cert), key: decode(secret, SECRET_KEYS.key) };
  const previousCa = decode(secret, SECRET_KEYS.previousCa);
  return previousCa === "" ? { ca, serving } : { ca, serving, previousCa };
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Decides what the stored material needs: a new CA when it is missing, invalid or expires within
 * CA_RENEW_DAYS; a new serving certificate when it is invalid, does not name the Service or expires
 * within SERVING_RENEW_DAYS; otherwise nothing.
 */
export function planRenewal(
  material: CertificateMaterial | undefined,
  target: { dnsName: string; now: Date },
): RenewalPlan {
  if (material === undefined) return { renewal: "create", reason: "the Secret is missing or holds no CA" };
  const ca = parseCertificate(material.ca.cert);
  if (ca === undefined || !ca.ca || !keyMatches(ca, material.ca.key)) {
    return { renewal: "create", reason: "the stored CA or its key is invalid" };
  }
  if (expiresWithin(ca, target.now, CA_RENEW_DAYS)) {
    return { renewal: "rotate", reason: `the CA expires on ${day(ca.validToDate)}` };
  }
  const problem = servingProblem({ serving: material.serving, ca, dnsName: target.dnsName, now: target.now });
  if (problem !== undefined) return { renewal: "issue", reason: problem };
  const serving = parseCertificate(material.serving.cert);
  if (serving !== undefined && expiresWithin(serving, target.now, SERVING_RENEW_DAYS)) {
    return { renewal: "issue", reason: `tls.crt expires on ${day(serving.validToDate)}` };
  }
  return { renewal: "keep", reason: "the stored certificates are valid" };
}

/** Makes the material a renewal calls for. A rotated CA stays in the material as `previousCa`. */
export async function renewMaterial(
  renewal: Exclude<Renewal, "keep">,
  current: CertificateMaterial | undefined,
  target: { dnsNames: string[]; now: Date },
): Promise<CertificateMaterial> {
  const { now, dnsNames } = target;
  const reuseCa = renewal === "issue" && current !== undefined;
  const ca = reuseCa ? current.ca : await createCertificateAuthority({ now });
  const serving = await issueServingCertificate({ ca, dnsNames, now });
  const previousCa = renewal === "rotate" ? current?.ca.cert : reuseCa ? current.previousCa : undefined;
  return previousCa === undefined ? { ca, serving } : { ca, serving, previousCa };
}

/** The Secret's data (base64) for some material. */
export function secretData(material: CertificateMaterial): Record<string, string> {
  const encode = (text: string) => Buffer.from(text, "utf8").toString("base64");
  const data: Record<string, string> = {
    [SECRET_KEYS.ca]: encode(material.ca.cert),
    [SECRET_KEYS.caKey]: encode(material.ca.key),
    [SECRET_KEYS.cert]: encode(material.serving.cert),
    [SECRET_KEYS.key]: encode(material.serving.key),
  };
  if (material.previousCa !== undefined) data[SECRET_KEYS.previousCa] = encode(material.previousCa);
  return data;
}

function hasStatus(error: unknown, code: number): boolean {
  return (error as { code?: unknown }).code === code;
}

async function readSecret(target: SecretTarget): Promise<V1Secret | undefined> {
  try {
    return await target.api.readNamespacedSecret({ name: target.name, namespace: target.namespace });
  } catch (error) {
    if (hasStatus(error, 404)) return undefined;
    throw error;
  }
}

/** Creates the Secret, or replaces it at the resourceVersion it was read at; false when another writer won (409). */
async function writeSecret(
  target: SecretTarget,
  existing: V1Secret | undefined,
  material: CertificateMaterial,
): Promise<boolean> {
  const { api, namespace, name } = target;
  try {
    if (existing === undefined) {
      const body: V1Secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": "podgate-webhook" } },
        type: "kubernetes.io/tls",
        data: secretData(material),
      };
      await api.createNamespacedSecret({ namespace, body });
    } else {
      await api.replaceNamespacedSecret({
        name,
        namespace,
        body: { ...existing, data: secretData(material) },
      });
    }
    return true;
  } catch (error) {
    if (hasStatus(error, 409)) return false;
    throw error;
  }
}

/**
 * Reads the Secret and keeps, renews or creates its material, re-reading after a lost race, up to
 * MAX_ATTEMPTS times. Returns the material now stored and the renewal that was made.
 */
export async function reconcileSecret(
  target: SecretTarget,
): Promise<RenewalPlan & { material: CertificateMaterial }> {
  const dnsName = target.dnsNames[2] ?? target.dnsNames[0] ?? "";
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const secret = await readSecret(target);
    const current = materialOf(secret);
    const plan = planRenewal(current, { dnsName, now: target.now });
    if (plan.renewal === "keep" && current !== undefined) return { ...plan, material: current };
    const material = await renewMaterial(plan.renewal === "keep" ? "create" : plan.renewal, current, target);
    if (await writeSecret(target, secret, material)) return { ...plan, material };
    target.onConflict?.(attempt);
  }
  throw new Error(`Secret ${target.namespace}/${target.name} kept changing under ${MAX_ATTEMPTS} attempts`);
}
