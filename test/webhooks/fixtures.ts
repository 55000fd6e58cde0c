/** Test fixtures for the webhooks: an openssl-generated CA and serving certificate, and AdmissionReviews shaped like the API server's. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { capturingStream } from "../helpers/log-lines.ts";

/** An AdmissionReview response body as the tests read it. */
export interface ReviewBody {
  apiVersion?: string;
  kind?: string;
  response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    warnings?: string[];
    status?: { code: number; message: string };
  };
}

/** Decodes a response's base64 JSON Patch. */
export function decodePatch(
  response: ReviewBody["response"],
): { op: "add" | "replace" | "remove"; path: string; value?: unknown }[] {
  return JSON.parse(Buffer.from(response.patch ?? "", "base64").toString("utf8"));
}

/** A CA and a serving certificate for 127.0.0.1 and localhost, in a temporary directory. */
export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  /** Issues a fresh serving certificate (new key and serial) into certFile and keyFile. */
  reissue(): void;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

function issue(dir: string, serial: number): void {
  openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "next.key",
    "-subj",
    "/CN=podgate-webhook.podgate-system.svc",
    "-out",
    "server.csr",
  ]);
  writeFileSync(
    join(dir, "san.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:podgate-webhook.podgate-system.svc\n",
  );
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-set_serial",
    String(serial),
    "-days",
    "2",
    "-sha256",
    "-extfile",
    "san.ext",
    "-out",
    "next.crt",
  ]);
  // Write key then certificate in place, as a Secret update does; the server reloads the pair.
  writeFileSync(join(dir, "tls.key"), readFileSync(join(dir, "next.key")));
  writeFileSync(join(dir, "tls.crt"), readFileSync(join(dir, "next.crt")));
}

/** Generates a CA and a serving certificate with the openssl CLI. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "podgate-pki-"));
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=podgate test CA",
  ]);
  let serial = 1000;
  issue(dir, serial);
  return {
    dir,
    caFile: join(dir, "ca.crt"),
    certFile: join(dir, "tls.crt"),
    keyFile: join(dir, "tls.key"),
    ca: readFileSync(join(dir, "ca.crt")),
    reissue: () => issue(dir, ++serial),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const RESOURCES: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets" },
  Job: { group: "batch", version: "v1", resource: "jobs" },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs" },
  ConfigMap: { group: "", version: "v1", resource: "configmaps" },
};

/** Options of admissionReview. */
export interface ReviewOptions {
  uid?: string;
  operation?: "CREATE" | "UPDATE" | "DELETE";
  dryRun?: boolean;
  namespace?: string;
}

/** An admission.k8s.io/v1 AdmissionReview as the API server sends it. */
export function admissionReview(
  object: Record<string, unknown>,
  options: ReviewOptions = {},
): Record<string, unknown> {
  const kind = String(object.kind);
  const resource = RESOURCES[kind] ?? {
    group: "example.com",
    version: "v1",
    resource: `${kind.toLowerCase()}s`,
  };
  const metadata = (object.metadata ?? {}) as { name?: string; namespace?: string };
  const gvk = { group: resource.group, version: resource.version, kind };
  const operation = options.operation ?? "CREATE";
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: options.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: gvk,
      resource,
      requestKind: gvk,
      requestResource: resource,
      ...(metadata.name === undefined ? {} : { name: metadata.name }),
      namespace: options.namespace ?? metadata.namespace ?? "default",
      operation,
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        uid: "014fbff9a07c",
        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
      },
      object,
      oldObject: operation === "UPDATE" ? object : null,
      dryRun: options.dryRun ?? false,
      options: {
        apiVersion: "meta.k8s.io/v1",
        kind: operation === "UPDATE" ? "UpdateOptions" : "CreateOptions",
      },
    },
  };
}

/** A pod in `namespace` serving HTTP on a named port. */
export function webPod(namespace: string, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "web-7d9c8-", namespace, labels: { app: "web" }, annotations },
    spec: {
      containers: [{ name: "web", image: "example/web:1", ports: [{ name: "http", containerPort: 8080 }] }],
    },
  };
}

/** A pino logger whose JSON lines land in `lines`. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const { stream, lines } = capturingStream();
  return { logger: pino({ level: "info" }, stream), lines };
}
