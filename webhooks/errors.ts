/**
 * The webhook server's errors, following sidecar/errors.ts: one class per code with a stable `code`,
 * the HTTP `statusCode` it maps to and an optional `cause`. webhooks/ may not import sidecar
 * internals, so it keeps the same shape rather than extending sidecar's base class.
 */

/** Every error code the webhooks use. Codes never change meaning. */
export const WEBHOOK_ERROR_SPECS = {
  PODGATE_WEBHOOK_REVIEW_MALFORMED: { statusCode: 400, title: "Malformed AdmissionReview" },
  PODGATE_WEBHOOK_TLS_UNREADABLE: { statusCode: 500, title: "TLS certificate or key unreadable" },
  PODGATE_WEBHOOK_NAMESPACE_UNAVAILABLE: { statusCode: 500, title: "Namespace could not be read" },
  PODGATE_WEBHOOK_CLUSTER_VERSION_UNAVAILABLE: {
    statusCode: 500,
    title: "API server version could not be read",
  },
  PODGATE_WEBHOOK_CERTIFICATES_UNAVAILABLE: {
    statusCode: 500,
    title: "Webhook certificates could not be set up",
  },
} as const satisfies Record<string, { statusCode: number; title: string }>;

/** One of the webhook error codes. */
export type WebhookErrorCode = keyof typeof WEBHOOK_ERROR_SPECS;

/** Base of the webhook errors. */
export class WebhookError extends Error {
  readonly code: WebhookErrorCode;
  readonly statusCode: number;

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
    this.code = code;
    this.statusCode = WEBHOOK_ERROR_SPECS[code].statusCode;
  }
}

function errorClass(code: WebhookErrorCode) {
  return class extends WebhookError {
    constructor(message: string = WEBHOOK_ERROR_SPECS[code].title, options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
}

/** The request body is not an admission.k8s.io/v1 AdmissionReview; `problems` says why. */
export class ReviewMalformedError extends WebhookError {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super("PODGATE_WEBHOOK_REVIEW_MALFORMED", `malformed AdmissionReview: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

export const TlsUnreadableError = errorClass("PODGATE_WEBHOOK_TLS_UNREADABLE");
export const NamespaceUnavailableError = errorClass("PODGATE_WEBHOOK_NAMESPACE_UNAVAILABLE");
export const ClusterVersionUnavailableError = errorClass("PODGATE_WEBHOOK_CLUSTER_VERSION_UNAVAILABLE");
export const CertificatesUnavailableError = errorClass("PODGATE_WEBHOOK_CERTIFICATES_UNAVAILABLE");
