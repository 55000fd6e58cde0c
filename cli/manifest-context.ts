/** The injector context `podgate inject` and `podgate lint` use: explicit injection, an optional zone. */

import { ZONE_LABEL } from "../injector/annotations.ts";
import type { InjectContext } from "../injector/index.ts";
import type { ClusterSettings } from "../injector/settings.ts";
import type { KubeObject } from "../injector/workloads.ts";
import { VERSION } from "./version.ts";

/** Options shared by inject and lint. */
export interface ManifestOptions {
  settings: ClusterSettings;
  zone: string | undefined;
  /** The namespace for objects that name none; default "default". */
  namespace: string;
}

/**
 * The context for one object. The user asked for injection, so it is explicit (no namespace label
 * needed). The CLI cannot ask a cluster its version, so `nativeSidecars: auto` means native
 * sidecars (Kubernetes 1.29+); set `never` in the settings file for older clusters.
 */
export function contextFor(object: KubeObject, options: ManifestOptions): InjectContext {
  return {
    settings: options.settings,
    namespace: {
      name: object.metadata?.namespace ?? options.namespace,
      labels: options.zone === undefined ? {} : { [ZONE_LABEL]: options.zone },
    },
    nativeSidecars: options.settings.nativeSidecars !== "never",
    injectorVersion: VERSION,
    explicit: true,
  };
}
