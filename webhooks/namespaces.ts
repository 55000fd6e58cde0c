/**
 * Namespace labels (opt-in and zone) for the webhooks. An AdmissionReview carries the pod but not its
 * namespace's labels, so the webhook reads the Namespace through the API server, with a short cache
 * so a burst of pods costs one read.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { NamespaceUnavailableError } from "./errors.ts";

/** Returns a namespace's labels. */
export type NamespaceLookup = (name: string) => Promise<Record<string, string>>;

/** Options of kubeNamespaceLookup. */
export interface NamespaceLookupOptions {
  kubeConfig: KubeConfig;
  /** How long labels are reused; default 5000 ms. */
  ttlMs?: number;
}

/** A NamespaceLookup that reads Namespaces with @kubernetes/client-node and caches them for `ttlMs`. */
export function kubeNamespaceLookup(options: NamespaceLookupOptions): NamespaceLookup {
  const api = options.kubeConfig.makeApiClient(CoreV1Api);
  const ttlMs = options.ttlMs ?? 5000;
  const cache = new Map<string, { labels: Record<string, string>; expires: number }>();
  return async function lookupNamespace(name) {
    const cached = cache.get(name);
    if (cached !== undefined && cached.expires > Date.now()) return cached.labels;
    try {
      const namespace = await api.readNamespace({ name });
      const labels = namespace.metadata?.labels ?? {};
      cache.set(name, { labels, expires: Date.now() + ttlMs });
      return labels;
    } catch (error) {
      throw new NamespaceUnavailableError(`cannot read namespace ${name}`, { cause: error });
    }
  };
}

/** A fixed NamespaceLookup, for tests and offline use. */
export function staticNamespaceLookup(labels: Record<string, Record<string, string>>): NamespaceLookup {
  return async function lookupStatic(name) {
    return labels[name] ?? {};
  };
}
