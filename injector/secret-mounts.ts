/**
 * Where the Secrets that annotations name are mounted in the sidecar. Each kind has a fixed volume
 * name (a DNS label, so injection is deterministic and re-invocation finds it) and a fixed folder
 * under /var/run/podgate/secrets, which the rendered config points at.
 */
import type { V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { SecretRef } from "./access-parsers.ts";
import type { SecretMount } from "./annotation-row.ts";

/** The folder every mounted Secret sits under. */
export const SECRET_ROOT = "/var/run/podgate/secrets";

/**
 * The files' mode. Kubelet makes Secret files owned by root (group: the pod's fsGroup, when set), and
 * the sidecar runs as a non-root user without assuming an fsGroup, so 0440 would leave them
 * unreadable; 0444 lets the sidecar read them. Only the sidecar mounts these volumes, so no other
 * container sees the files. https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod
 */
export const SECRET_FILE_MODE = 0o444;

/** The Secret mounts, one per kind. */
export const SECRET_MOUNTS = {
  apiKeys: {
    volume: "podgate-api-keys",
    directory: `${SECRET_ROOT}/api-keys`,
    files: "every key: one file per API key, named by its key id",
  },
  jwks: {
    volume: "podgate-jwks",
    directory: `${SECRET_ROOT}/jwks`,
    defaultKey: "jwks.json",
    files: "the named key, default `jwks.json`",
  },
  tls: { volume: "podgate-tls", directory: `${SECRET_ROOT}/tls`, files: "`tls.crt` and `tls.key`" },
  clientCa: {
    volume: "podgate-client-ca",
    directory: `${SECRET_ROOT}/client-ca`,
    defaultKey: "ca.crt",
    files: "the named key, default `ca.crt`",
  },
} as const satisfies Record<string, SecretMount>;

/** The path of the file a Secret reference reads: its key, else the mount's default key. */
export function secretFile(mount: SecretMount, ref: SecretRef): string {
  return `${mount.directory}/${ref.key ?? mount.defaultKey ?? ""}`;
}

/** The pod volume for a Secret: required (the pod waits for it rather than start without keys). */
export function secretVolume(mount: SecretMount, ref: SecretRef): V1Volume {
  return {
    name: mount.volume,
    secret: { secretName: ref.secretName, defaultMode: SECRET_FILE_MODE, optional: false },
  };
}

/** The sidecar's read-only mount of that volume. */
export function secretVolumeMount(mount: SecretMount): V1VolumeMount {
  return { name: mount.volume, mountPath: mount.directory, readOnly: true };
}

/** The emptyDir that holds the audit log: the sidecar's root filesystem is read-only. */
export const AUDIT_VOLUME = "podgate-audit";

/**
 * The writable volume and sidecar mount for an audit log file (none for `stderr`), mounted on the
 * file's directory so the sidecar can create it and continue its chain across container restarts.
 */
export function auditMount(file: string): { volume: V1Volume; mount: V1VolumeMount } | undefined {
  if (file === "stderr") return undefined;
  const directory = file.slice(0, file.lastIndexOf("/")) || "/";
  return {
    volume: { name: AUDIT_VOLUME, emptyDir: {} },
    mount: { name: AUDIT_VOLUME, mountPath: directory },
  };
}
