/**
 * podgate's errors as data: each code has one class, an HTTP status and a stable RFC 9457 problem
 * `type`. Codes never change meaning; the README lists them all and a test fails on drift.
 */

/** Base of every podgate error: a stable `code`, the HTTP `statusCode` it maps to, an optional `cause`. */
export class PodgateError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** The problem `type` slug, appended to PROBLEM_TYPE_BASE. */
  readonly slug: string;
  /** A short, fixed human title for the problem. */
  readonly title: string;
  /** Response headers that belong with this error, e.g. `allow` on a 405. */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(spec: ErrorSpec, message: string, options?: ErrorOptions) {
    // Errors are data here: a denial is an expected outcome, built on the request path (a flood of
    // rate-limited requests builds one each), and a stack trace costs more than the rest of the
    // denial. The stack of an unexpected failure is kept on its `cause`.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = stackTraceLimit;
    this.headers = options?.headers;
    this.name = spec.code;
    this.code = spec.code;
    this.statusCode = spec.statusCode;
    this.slug = spec.slug;
    this.title = spec.title;
  }
}

/** Options of an error: its cause and the response headers that go with it. */
export interface ErrorOptions {
  cause?: unknown;
  headers?: Record<string, string>;
}

/** What defines an error code. */
export interface ErrorSpec {
  code: string;
  statusCode: number;
  slug: string;
  title: string;
}

/** Problem `type` URIs are this base plus the slug; they are identifiers, not fetched. */
export const PROBLEM_TYPE_BASE = "https://podgate.io/problems/";

/** Every error code podgate uses, in one table. */
export const ERROR_SPECS = {
  PODGATE_CONFIG_INVALID: { statusCode: 500, slug: "config-invalid", title: "Invalid configuration" },
  PODGATE_CONFIG_UNREADABLE: {
    statusCode: 500,
    slug: "config-unreadable",
    title: "Unreadable configuration",
  },
  PODGATE_REQUEST_MALFORMED: { statusCode: 400, slug: "bad-request", title: "Malformed request" },
  PODGATE_REQUEST_BAD_PATH: { statusCode: 400, slug: "bad-path", title: "Path cannot be made canonical" },
  PODGATE_REQUEST_TIMEOUT: {
    statusCode: 408,
    slug: "request-timeout",
    title: "Request not received in time",
  },
  PODGATE_REQUEST_HEADERS_TOO_LARGE: {
    statusCode: 431,
    slug: "headers-too-large",
    title: "Request header fields too large",
  },
  PODGATE_BODY_TOO_LARGE: { statusCode: 413, slug: "body-too-large", title: "Request body too large" },
  PODGATE_ROUTE_NOT_FOUND: { statusCode: 404, slug: "route-not-found", title: "No route allows this path" },
  PODGATE_METHOD_NOT_ALLOWED: {
    statusCode: 405,
    slug: "method-not-allowed",
    title: "Method not allowed on this route",
  },
  PODGATE_POLICY_FAILED: { statusCode: 500, slug: "policy-failed", title: "A policy could not be evaluated" },
  PODGATE_AUTH_MISSING: {
    statusCode: 401,
    slug: "authentication-required",
    title: "Authentication required",
  },
  PODGATE_AUTH_INVALID: {
    statusCode: 401,
    slug: "invalid-credentials",
    title: "The credentials are not valid",
  },
  PODGATE_AUTH_LOCKED: { statusCode: 429, slug: "locked-out", title: "Too many failed authentications" },
  PODGATE_AUTH_UNAVAILABLE: {
    statusCode: 503,
    slug: "authentication-unavailable",
    title: "Credentials cannot be verified right now",
  },
  PODGATE_ACCESS_FORBIDDEN: {
    statusCode: 403,
    slug: "forbidden",
    title: "This caller may not use this route",
  },
  PODGATE_ACCESS_IP_DENIED: {
    statusCode: 403,
    slug: "ip-denied",
    title: "The client address is not allowed",
  },
  PODGATE_CORS_REJECTED: {
    statusCode: 403,
    slug: "cors-rejected",
    title: "The origin or request is not allowed",
  },
  PODGATE_TRAFFIC_RATE_LIMITED: { statusCode: 429, slug: "rate-limited", title: "Rate limit exceeded" },
  PODGATE_TRAFFIC_QUOTA_EXCEEDED: { statusCode: 429, slug: "quota-exceeded", title: "Quota exceeded" },
  PODGATE_TRAFFIC_OVERLOADED: {
    statusCode: 503,
    slug: "overloaded",
    title: "The app is at its concurrency limit",
  },
  PODGATE_UPSTREAM_UNAVAILABLE: {
    statusCode: 503,
    slug: "upstream-unavailable",
    title: "The app is not reachable",
  },
  PODGATE_UPSTREAM_TIMEOUT: {
    statusCode: 504,
    slug: "upstream-timeout",
    title: "The app did not answer in time",
  },
  PODGATE_UPSTREAM_RESET: { statusCode: 502, slug: "upstream-reset", title: "The app reset the connection" },
} as const satisfies Record<string, Omit<ErrorSpec, "code">>;

/** One of podgate's error codes. */
export type ErrorCode = keyof typeof ERROR_SPECS;

function spec(code: ErrorCode): ErrorSpec {
  return { code, ...ERROR_SPECS[code] };
}

/** Defines the class of one error code. */
function errorClass(code: ErrorCode) {
  const s = spec(code);
  return class extends PodgateError {
    constructor(message: string = s.title, options?: ErrorOptions) {
      super(s, message, options);
    }
  };
}

/** The config failed validation; `problems` lists every problem, each with its path. */
export class ConfigInvalidError extends PodgateError {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(spec("PODGATE_CONFIG_INVALID"), `invalid config:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

export const ConfigUnreadableError = errorClass("PODGATE_CONFIG_UNREADABLE");
export const RequestMalformedError = errorClass("PODGATE_REQUEST_MALFORMED");
export const BadPathError = errorClass("PODGATE_REQUEST_BAD_PATH");
export const RequestTimeoutError = errorClass("PODGATE_REQUEST_TIMEOUT");
export const HeadersTooLargeError = errorClass("PODGATE_REQUEST_HEADERS_TOO_LARGE");
export const BodyTooLargeError = errorClass("PODGATE_BODY_TOO_LARGE");
export const RouteNotFoundError = errorClass("PODGATE_ROUTE_NOT_FOUND");
export const MethodNotAllowedError = errorClass("PODGATE_METHOD_NOT_ALLOWED");
export const PolicyFailedError = errorClass("PODGATE_POLICY_FAILED");
export const AuthMissingError = errorClass("PODGATE_AUTH_MISSING");
export const AuthInvalidError = errorClass("PODGATE_AUTH_INVALID");
export const AuthLockedError = errorClass("PODGATE_AUTH_LOCKED");
export const AuthUnavailableError = errorClass("PODGATE_AUTH_UNAVAILABLE");
export const AccessForbiddenError = errorClass("PODGATE_ACCESS_FORBIDDEN");
export const IpDeniedError = errorClass("PODGATE_ACCESS_IP_DENIED");
export const CorsRejectedError = errorClass("PODGATE_CORS_REJECTED");
export const RateLimitedError = errorClass("PODGATE_TRAFFIC_RATE_LIMITED");
export const QuotaExceededError = errorClass("PODGATE_TRAFFIC_QUOTA_EXCEEDED");
export const OverloadedError = errorClass("PODGATE_TRAFFIC_OVERLOADED");
export const UpstreamUnavailableError = errorClass("PODGATE_UPSTREAM_UNAVAILABLE");
export const UpstreamTimeoutError = errorClass("PODGATE_UPSTREAM_TIMEOUT");
export const UpstreamResetError = errorClass("PODGATE_UPSTREAM_RESET");
