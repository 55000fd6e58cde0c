/**
 * admission.k8s.io/v1 AdmissionReview: the request shape the API server sends and the response
 * builders. https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request
 */
import type { PatchOperation } from "../injector/index.ts";
import { ReviewMalformedError } from "./errors.ts";

/** Group, version and kind (or resource) as the API server names them. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The `request` of an AdmissionReview (the fields podgate reads). */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
}

/** The `response` of an AdmissionReview. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  /** base64 of the JSON Patch text, as the API requires for `patch` (a []byte field). */
  patch?: string;
  warnings?: string[];
  status?: { code: number; message: string; reason?: string };
}

/** The review podgate answers with. */
export interface AdmissionReviewResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requestProblems(request: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof request.uid !== "string" || request.uid === "")
    problems.push("request.uid: expected a non-empty string");
  const kind = request.kind;
  if (
    !isObject(kind) ||
    typeof kind.kind !== "string" ||
    typeof kind.version !== "string" ||
    typeof kind.group !== "string"
  ) {
    problems.push("request.kind: expected {group, version, kind}");
  }
  if (!OPERATIONS.includes(request.operation as string))
    problems.push(`request.operation: expected one of ${OPERATIONS.join(", ")}`);
  const needsObject = request.operation === "CREATE" || request.operation === "UPDATE";
  if (needsObject && !isObject(request.object))
    problems.push("request.object: expected an object for CREATE and UPDATE");
  if (request.dryRun !== undefined && typeof request.dryRun !== "boolean")
    problems.push("request.dryRun: expected a boolean");
  return problems;
}

/** Checks a request body is an admission.k8s.io/v1 AdmissionReview; throws ReviewMalformedError (HTTP 400) listing why not. */
export function parseReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new ReviewMalformedError(["body: expected a JSON object"]);
  const problems: string[] = [];
  if (body.apiVersion !== "admission.k8s.io/v1") problems.push('apiVersion: expected "admission.k8s.io/v1"');
  if (body.kind !== "AdmissionReview") problems.push('kind: expected "AdmissionReview"');
  if (!isObject(body.request)) problems.push("request: expected an object");
  else problems.push(...requestProblems(body.request));
  if (problems.length > 0) throw new ReviewMalformedError(problems);
  return body.request as unknown as AdmissionRequest;
}

function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

/** Allows the object, with an optional RFC 6902 patch and warnings. */
export function allow(
  uid: string,
  options: { patch?: PatchOperation[]; warnings?: string[] } = {},
): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (options.patch !== undefined && options.patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(options.patch)).toString("base64");
  }
  if (options.warnings !== undefined && options.warnings.length > 0) response.warnings = options.warnings;
  return review(response);
}

/** Denies the object with a 403 and a message `kubectl` shows the user. */
export function deny(uid: string, message: string, warnings: string[] = []): AdmissionReviewResponse {
  const response: AdmissionResponse = {
    uid,
    allowed: false,
    status: { code: 403, reason: "Forbidden", message },
  };
  if (warnings.length > 0) response.warnings = warnings;
  return review(response);
}

/** The warning text kubectl prints: each prefixed with "podgate: " so users know who said it. */
export function podgateWarnings(warnings: readonly string[]): string[] {
  return warnings.map((warning) => `podgate: ${warning}`);
}
