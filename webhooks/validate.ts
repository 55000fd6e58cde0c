/**
 * POST /validate: rejects Pods and pod templates (Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * Job, CronJob) whose podgate annotations are invalid, or that loosen their zone's floor or opt out
 * in a zone, listing every problem. Checking templates makes a bad annotation fail at
 * `kubectl apply`, where the user sees it, rather than later in a controller's Events.
 */
import { TEMPLATE_PATHS, validateObject } from "../injector/workloads.ts";
import { type AdmissionRequest, allow, deny } from "./admission.ts";
import { type AdmissionDeps, injectContext, logBase, type Outcome } from "./context.ts";

const GROUPS: Record<string, string> = {
  Pod: "",
  Deployment: "apps",
  StatefulSet: "apps",
  DaemonSet: "apps",
  ReplicaSet: "apps",
  Job: "batch",
  CronJob: "batch",
};

function isChecked(request: AdmissionRequest): boolean {
  const kind = request.kind.kind;
  const known = kind === "Pod" || TEMPLATE_PATHS[kind] !== undefined;
  const operation = request.operation === "CREATE" || request.operation === "UPDATE";
  return known && GROUPS[kind] === request.kind.group && operation && (request.subResource ?? "") === "";
}

/** Answers one validating AdmissionReview request. */
export async function validate(request: AdmissionRequest, deps: AdmissionDeps): Promise<Outcome> {
  const base = logBase("validate", request);
  if (!isChecked(request)) return { review: allow(request.uid), log: { ...base, decision: "ignored" } };
  const context = await injectContext(deps, request);
  const object = { kind: request.kind.kind, ...(request.object ?? {}) };
  const problems = validateObject(object, context);
  if (problems.length === 0) return { review: allow(request.uid), log: { ...base, decision: "allowed" } };
  const message = `podgate: ${request.kind.kind} ${base.namespace}/${base.name}: ${problems.join("; ")}`;
  return {
    review: deny(request.uid, message),
    log: { ...base, decision: "denied", reason: "validation_failed", message, problems },
  };
}
