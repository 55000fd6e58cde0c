/**
 * The containers the injector adds: the podgate sidecar and, for iptables capture, the init
 * container that installs the redirect.
 */
import type {
  V1Container,
  V1ContainerPort,
  V1EnvVar,
  V1ResourceRequirements,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { SecretRef } from "./access-parsers.ts";
import type { ParsedAnnotations } from "./annotation-values.ts";
import { ANNOTATIONS } from "./annotations.ts";
import { secretVolume, secretVolumeMount } from "./secret-mounts.ts";
import type { ClusterSettings } from "./settings.ts";

/** The sidecar container's name; a pod that already has a container by this name is not injected. */
export const SIDECAR_NAME = "podgate";
/** The iptables init container's name. */
export const CAPTURE_NAME = "podgate-capture";
/** The name of the sidecar's admin port. */
export const ADMIN_PORT_NAME = "podgate-admin";

/** What the sidecar container is built from. */
export interface SidecarOptions {
  settings: ClusterSettings;
  annotations: ParsedAnnotations;
  /** The sidecar's data port entry (number and, in port-env or named-port capture, the app's port name). */
  dataPort: V1ContainerPort;
  /** PODGATE_CONFIG's JSON text. */
  configJson: string;
  /** Native sidecar (init container with restartPolicy Always) or first regular container. */
  native: boolean;
  /** Read-only mounts of the Secrets the annotations name. */
  mounts: V1VolumeMount[];
}

/** The Secret volumes a pod's annotations ask for, and the sidecar's mounts of them. */
export interface PodSecrets {
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
}

/** Collects the Secrets the annotations name (API keys, JWKS, TLS certificate, client CA), in table order. */
export function podSecrets(annotations: ParsedAnnotations): PodSecrets {
  const secrets: PodSecrets = { volumes: [], mounts: [] };
  for (const row of ANNOTATIONS) {
    const ref = annotations.get(row) as SecretRef | undefined;
    if (row.secret === undefined || ref === undefined) continue;
    secrets.volumes.push(secretVolume(row.secret, ref));
    secrets.mounts.push(secretVolumeMount(row.secret));
  }
  return secrets;
}

const RESOURCE_ANNOTATIONS = [
  ["podgate.io/cpu-request", "requests", "cpu"],
  ["podgate.io/cpu-limit", "limits", "cpu"],
  ["podgate.io/memory-request", "requests", "memory"],
  ["podgate.io/memory-limit", "limits", "memory"],
] as const;

function resources(settings: ClusterSettings, annotations: ParsedAnnotations): V1ResourceRequirements {
  const result = {
    requests: { ...settings.sidecar.resources.requests },
    limits: { ...settings.sidecar.resources.limits },
  };
  for (const [name, kind, resource] of RESOURCE_ANNOTATIONS) {
    const row = ANNOTATIONS.find((candidate) => candidate.name === name);
    const value = row === undefined ? undefined : annotations.get(row);
    if (typeof value === "string") result[kind][resource] = value;
  }
  return result;
}

function downwardEnv(): V1EnvVar[] {
  const field = (name: string, fieldPath: string): V1EnvVar => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });
  return [
    field("POD_NAME", "metadata.name"),
    field("POD_NAMESPACE", "metadata.namespace"),
    field("NODE_NAME", "spec.nodeName"),
  ];
}

/**
 * Blocks until the sidecar answers /healthz, so the kubelet (which starts containers in order and
 * waits for a postStart hook) starts the app only after the gateway listens. Used without native
 * sidecars; gives up after two minutes, which fails the container and lets the kubelet retry.
 * Not /readyz: that also needs the app to accept connections, and the app has not started yet.
 */
export function waitReadyScript(adminPort: number): string {
  return [
    'const http = require("node:http");',
    "const end = Date.now() + 120000;",
    "function retry() { if (Date.now() > end) process.exit(1); setTimeout(poll, 250); }",
    `function poll() { http.get("http://127.0.0.1:${adminPort}/healthz", (res) => { res.resume(); if (res.statusCode === 200) process.exit(0); else retry(); }).on("error", retry); }`,
    "poll();",
  ].join("\n");
}

/** A securityContext that meets the Pod Security "restricted" profile. https://kubernetes.io/docs/concepts/security/pod-security-standards/ */
function restrictedSecurityContext(user: number): V1Container["securityContext"] {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsGroup: user,
    runAsNonRoot: true,
    runAsUser: user,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Builds the sidecar container. */
export function sidecarContainer(options: SidecarOptions): V1Container {
  const { settings, native } = options;
  const adminPort = settings.sidecar.adminPort;
  const probe = (path: string) => ({ httpGet: { path, port: adminPort } });
  const container: V1Container = {
    name: SIDECAR_NAME,
    image: settings.sidecar.image,
    imagePullPolicy: settings.sidecar.imagePullPolicy,
    args: ["sidecar"],
    ports: [
      { ...options.dataPort, protocol: "TCP" },
      { name: ADMIN_PORT_NAME, containerPort: adminPort, protocol: "TCP" },
    ],
    env: [{ name: "PODGATE_CONFIG", value: options.configJson }, ...downwardEnv()],
    resources: resources(settings, options.annotations),
    securityContext: restrictedSecurityContext(settings.sidecar.user),
    readinessProbe: { ...probe("/readyz"), periodSeconds: 5, failureThreshold: 3 },
  };
  if (options.mounts.length > 0) container.volumeMounts = options.mounts;
  if (native) {
    container.restartPolicy = "Always";
    // The app starts only once this probe passes, so it must not wait for the app: /healthz
    // answers as soon as the gateway listens (its data port opens before its admin port).
    container.startupProbe = { ...probe("/healthz"), periodSeconds: 1, failureThreshold: 120 };
  } else {
    container.lifecycle = { postStart: { exec: { command: ["node", "-e", waitReadyScript(adminPort)] } } };
  }
  return container;
}

/**
 * The iptables init container. It needs NET_ADMIN and NET_RAW and runs as root, which Pod Security
 * baseline and restricted forbid; it exists only where the cluster settings allow iptables capture.
 */
export function captureContainer(settings: ClusterSettings, script: string): V1Container {
  return {
    name: CAPTURE_NAME,
    image: settings.captureImage,
    imagePullPolicy: settings.sidecar.imagePullPolicy,
    command: ["sh", "-c", script],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
      privileged: false,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}
