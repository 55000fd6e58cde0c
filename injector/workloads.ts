/**
 * Pod templates inside workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob.
 * The validating webhook checks them at `kubectl apply`, and `podgate inject` injects them, with the
 * same code as pods.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { type InjectContext, type InjectResult, injectPod, validatePod } from "./index.ts";
import type { PatchOperation } from "./patch.ts";
import { pointer } from "./patch.ts";

/** Where each workload kind keeps its pod template. */
export const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

function templateAt(object: KubeObject, path: readonly string[]): V1Pod | undefined {
  let node: unknown = object;
  for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
  return typeof node === "object" && node !== null ? (node as V1Pod) : undefined;
}

/** The object's pod: the object itself for a Pod, its template for a workload, undefined for other kinds. */
export function podOf(object: KubeObject): { pod: V1Pod; path: readonly string[] } | undefined {
  if (object.kind === "Pod") return { pod: object as V1Pod, path: [] };
  const path = TEMPLATE_PATHS[object.kind ?? ""];
  if (path === undefined) return undefined;
  const pod = templateAt(object, path);
  return pod === undefined ? undefined : { pod, path };
}

/** The result of injecting one object: the changed object, the patch against it, the pod-level result. */
export interface ObjectResult {
  object: KubeObject;
  patch: PatchOperation[];
  /** Undefined for kinds that carry no pod. */
  pod: InjectResult | undefined;
}

/** Injects an object's pod or pod template; other kinds come back unchanged with an empty patch. */
export function injectObject(object: KubeObject, context: InjectContext): ObjectResult {
  const found = podOf(object);
  if (found === undefined) return { object, patch: [], pod: undefined };
  const result = injectPod(found.pod, context);
  if (result.patch.length === 0) return { object, patch: [], pod: result };
  const prefix = pointer(found.path);
  const patch = result.patch.map((operation) => ({ ...operation, path: `${prefix}${operation.path}` }));
  if (found.path.length === 0) return { object: result.pod as KubeObject, patch, pod: result };
  const copy = structuredClone(object);
  const parent = templateAt(copy, found.path.slice(0, -1)) as unknown as Record<string, unknown>;
  parent[found.path[found.path.length - 1] ?? "template"] = result.pod;
  return { object: copy, patch, pod: result };
}

/** The validating webhook's problems for an object's pod or pod template; empty for other kinds. */
export function validateObject(object: KubeObject, context: InjectContext): string[] {
  const found = podOf(object);
  return found === undefined ? [] : validatePod(found.pod, context);
}
