/** What both webhooks share: the injector's inputs and the one log line per decision. */
import type { InjectContext } from "../injector/index.ts";
import type { ClusterSettings } from "../injector/settings.ts";
import type { AdmissionRequest, AdmissionReviewResponse } from "./admission.ts";
import type { NamespaceLookup } from "./namespaces.ts";

/** The webhooks' dependencies, resolved once at start. */
export interface AdmissionDeps {
  settings: ClusterSettings;
  /** settings.nativeSidecars, resolved (auto asks the API server once at start). */
  nativeSidecars: boolean;
  injectorVersion: string;
  namespaces: NamespaceLookup;
}

/** The one log line each review produces. */
export interface DecisionLog {
  webhook: "mutate" | "validate";
  uid: string;
  kind: string;
  namespace: string;
  name: string;
  operation: string;
  dryRun: boolean;
  decision: "injected" | "skipped" | "denied" | "allowed" | "ignored";
  reason?: string;
  message?: string;
  problems?: string[];
}

/** A review's answer and its log line. */
export interface Outcome {
  review: AdmissionReviewResponse;
  log: DecisionLog;
}

/** The namespace of the object under review: the request's (pods created by controllers often have none of their own). */
export function namespaceOf(request: AdmissionRequest): string {
  const metadata = (request.object?.metadata ?? {}) as { namespace?: string };
  return request.namespace ?? metadata.namespace ?? "default";
}

/** The base of the log line for a request. */
export function logBase(
  webhook: DecisionLog["webhook"],
  request: AdmissionRequest,
): Omit<DecisionLog, "decision"> {
  const metadata = (request.object?.metadata ?? {}) as { name?: string; generateName?: string };
  return {
    webhook,
    uid: request.uid,
    kind: request.kind.kind,
    namespace: namespaceOf(request),
    name: request.name ?? metadata.name ?? `${metadata.generateName ?? ""}*`,
    operation: request.operation,
    dryRun: request.dryRun === true,
  };
}

/** Builds the injector's context for a request. */
export async function injectContext(deps: AdmissionDeps, request: AdmissionRequest): Promise<InjectContext> {
  const name = namespaceOf(request);
  return {
    settings: deps.settings,
    namespace: { name, labels: await deps.namespaces(name) },
    nativeSidecars: deps.nativeSidecars,
    injectorVersion: deps.injectorVersion,
  };
}
