/**
 * Native sidecars (init containers with restartPolicy: Always) are on by default from Kubernetes
 * 1.29. With `nativeSidecars: auto`, the webhook asks the API server's version once at start.
 * https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
 */
import { type KubeConfig, VersionApi } from "@kubernetes/client-node";
import type { ClusterSettings } from "../injector/settings.ts";
import { ClusterVersionUnavailableError } from "./errors.ts";

/** Whether a `/version` answer is 1.29 or later. Minor versions may carry a `+` (GKE, EKS: "29+"). */
export function supportsNativeSidecars(version: { major: string; minor: string }): boolean {
  const major = Number.parseInt(version.major, 10);
  const minor = Number.parseInt(version.minor, 10);
  if (Number.isNaN(major) || Number.isNaN(minor)) {
    throw new ClusterVersionUnavailableError(
      `cannot parse API server version ${version.major}.${version.minor}`,
    );
  }
  return major > 1 || (major === 1 && minor >= 29);
}

/** Resolves `settings.nativeSidecars`: always and never are answers; auto asks the API server's /version. */
export async function resolveNativeSidecars(
  settings: ClusterSettings,
  kubeConfig: () => KubeConfig,
): Promise<boolean> {
  if (settings.nativeSidecars !== "auto") return settings.nativeSidecars === "always";
  let version: { major: string; minor: string };
  try {
    version = await kubeConfig().makeApiClient(VersionApi).getCode();
  } catch (error) {
    const why = (error as Error).message;
    throw new ClusterVersionUnavailableError(
      `cannot read the API server version for nativeSidecars: auto: ${why}`,
      {
        cause: error,
      },
    );
  }
  return supportsNativeSidecars(version);
}
