/**
 * POST /mutate: injects podgate's sidecar into Pods on CREATE. Other kinds and operations are
 * allowed unchanged. A skip is data: allowed, with a warning in an opted-in namespace. A denial
 * (invalid annotations, a broken zone floor) lists every problem. dryRun requests get the same
 * answer: the webhook has no side effects (sideEffects: None), and the log line marks them.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { injectPod } from "../injector/index.ts";
import { type AdmissionRequest, allow, deny, podgateWarnings } from "./admission.ts";
import { type AdmissionDeps, type DecisionLog, injectContext, logBase, type Outcome } from "./context.ts";

const DECISION_WORDS = { inject: "injected", skip: "skipped", deny: "denied" } as const;

function isPodCreate(request: AdmissionRequest): boolean {
  return (
    request.kind.group === "" &&
    request.kind.kind === "Pod" &&
    request.operation === "CREATE" &&
    (request.subResource === undefined || request.subResource === "")
  );
}

/** Answers one mutating AdmissionReview request. */
export async function mutate(request: AdmissionRequest, deps: AdmissionDeps): Promise<Outcome> {
  const base = logBase("mutate", request);
  if (!isPodCreate(request)) return { review: allow(request.uid), log: { ...base, decision: "ignored" } };
  const context = await injectContext(deps, request);
  const result = injectPod(request.object as V1Pod, context);
  const { decision } = result;
  const warnings = podgateWarnings(result.warnings);
  const log: DecisionLog = {
    ...base,
    decision: DECISION_WORDS[decision.action],
    reason: decision.reason,
    message: decision.message,
  };
  if (decision.action === "deny") {
    const message = `podgate: ${decision.problems.join("; ")}`;
    return { review: deny(request.uid, message, warnings), log: { ...log, problems: decision.problems } };
  }
  return { review: allow(request.uid, { patch: result.patch, warnings }), log };
}
