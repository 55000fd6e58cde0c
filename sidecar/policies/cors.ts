import { editsOf, type Policy, type PolicyResponse, type RequestContext } from "../chain.ts";
import { CorsRejectedError, type PodgateError } from "../errors.ts";
import type { CorsConfig } from "../policy-config.ts";

/**
 * CORS (https://fetch.spec.whatwg.org/#http-cors-protocol), enforced at the gateway.
 *
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) never reaches the app: an
 * allowed one is answered 204 with the Access-Control-Allow-* fields, and one whose origin, method
 * or a requested header is not allowed is refused with a 403 `cors-rejected` problem.
 *
 * Any other request is forwarded. From an allowed origin, its response (the app's, or a later
 * policy's problem) gets Access-Control-Allow-Origin, plus Allow-Credentials and Expose-Headers when
 * configured. From another origin it is forwarded without CORS fields and the browser withholds the
 * response from the page: that is standard CORS, which protects browsers' readers, not the app
 * (use IP rules and authentication for that). The gateway owns the CORS response fields: copies
 * the app sends are removed, so the app cannot widen the policy. With listed origins every
 * response carries `Vary: Origin`, so a cache never serves one origin's answer to another.
 */

/** Response fields the gateway owns when CORS is configured. */
const CORS_RESPONSE_FIELDS = [
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-expose-headers",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-max-age",
];

const PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface CorsRules {
  readonly anyOrigin: boolean;
  readonly origins: ReadonlySet<string>;
  readonly methods: ReadonlySet<string>;
  /** `*` in `headers`: any request header except Authorization, which must be listed (Fetch §3.2.5). */
  readonly anyHeader: boolean;
  readonly headers: ReadonlySet<string>;
  /** The preflight answer's fields that do not depend on the request. */
  readonly preflight: Readonly<Record<string, string>>;
  /** Fields set on allowed actual responses, besides Access-Control-Allow-Origin: [name, value, ...]. */
  readonly actualSet: readonly string[];
}

/**
 * Compiles the CORS policy. Origins compare case-insensitively, without a trailing slash; `*` allows
 * any origin (answered `Access-Control-Allow-Origin: *`; the config check refuses it with
 * credentials). Methods compare exactly (they are case-sensitive). Request headers compare
 * case-insensitively; `*` allows any but Authorization, and the preflight then echoes the requested
 * names (which browsers accept with credentials too). Defaults: methods GET, HEAD, POST; no headers;
 * no exposed headers; no credentials; preflights cached 600 s.
 * @example cors({ origins: ["https://app.example"], methods: ["GET", "POST"], headers: ["content-type"], exposeHeaders: ["x-request-id"], credentials: true, maxAgeSeconds: 600 })
 */
export function cors(config: CorsConfig): Policy {
  const rules = compileRules(config);
  return {
    name: "cors",
    evaluate: function corsCheck(context) {
      const head = corsHead(context.req.rawHeaders);
      if (context.method === "OPTIONS" && head.origin !== undefined && head.requestMethod !== undefined) {
        return answerPreflight(rules, head);
      }
      decorateActual(rules, context, head.ambiguous ? undefined : head.origin);
      return undefined;
    },
  };
}

function compileRules(config: CorsConfig): CorsRules {
  const anyOrigin = config.origins.includes("*");
  const headers = new Set(config.headers.map((name) => name.toLowerCase()));
  const anyHeader = headers.delete("*");
  const preflight: Record<string, string> = {
    "access-control-allow-methods": config.methods.join(", "),
    "access-control-max-age": String(config.maxAgeSeconds),
    vary: PREFLIGHT_VARY,
  };
  if (config.credentials) preflight["access-control-allow-credentials"] = "true";
  if (!anyHeader && headers.size > 0) preflight["access-control-allow-headers"] = [...headers].join(", ");
  const actualSet: string[] = [];
  if (config.credentials) actualSet.push("Access-Control-Allow-Credentials", "true");
  if (config.exposeHeaders.length > 0) {
    actualSet.push("Access-Control-Expose-Headers", config.exposeHeaders.join(", "));
  }
  return Object.freeze({
    anyOrigin,
    origins: new Set(config.origins.map(normalOrigin)),
    methods: new Set(config.methods),
    anyHeader,
    headers,
    preflight: Object.freeze(preflight),
    actualSet: Object.freeze(actualSet),
  });
}

/** Scheme and host are case-insensitive (RFC 6454 §4); a configured trailing slash is forgiven. */
function normalOrigin(origin: string): string {
  const lower = origin.toLowerCase();
  return lower.endsWith("/") ? lower.slice(0, -1) : lower;
}

/** The CORS request fields; a repeated Origin or Access-Control-Request-Method is ambiguous. */
interface CorsHead {
  origin: string | undefined;
  requestMethod: string | undefined;
  requestHeaders: string | undefined;
  ambiguous: boolean;
}

/** One pass over the raw headers; names are lower-cased only when their length matches. */
function corsHead(raw: readonly string[]): CorsHead {
  const head: CorsHead = {
    origin: undefined,
    requestMethod: undefined,
    requestHeaders: undefined,
    ambiguous: false,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 6 && name.length !== 29 && name.length !== 30) continue;
    const lower = name.toLowerCase();
    const value = raw[i + 1] as string;
    if (lower === "origin") {
      head.ambiguous ||= head.origin !== undefined;
      head.origin = value;
    } else if (lower === "access-control-request-method") {
      head.ambiguous ||= head.requestMethod !== undefined;
      head.requestMethod = value;
    } else if (lower === "access-control-request-headers") {
      head.requestHeaders = head.requestHeaders === undefined ? value : `${head.requestHeaders}, ${value}`;
    }
  }
  return head;
}

function originAllowed(rules: CorsRules, origin: string): boolean {
  return rules.anyOrigin || rules.origins.has(origin.toLowerCase());
}

function answerPreflight(rules: CorsRules, head: CorsHead): PolicyResponse | PodgateError {
  const origin = head.origin as string;
  if (head.ambiguous) return new CorsRejectedError("the preflight repeats Origin or its requested method");
  if (!originAllowed(rules, origin)) return new CorsRejectedError("the origin is not allowed");
  if (!rules.methods.has(head.requestMethod as string)) {
    return new CorsRejectedError("the requested method is not allowed");
  }
  const requested = requestedHeaders(rules, head.requestHeaders);
  if (!Array.isArray(requested)) return requested;
  const headers: Record<string, string> = {
    ...rules.preflight,
    "access-control-allow-origin": rules.anyOrigin ? "*" : origin,
  };
  if (rules.anyHeader && requested.length > 0) headers["access-control-allow-headers"] = requested.join(", ");
  return { respond: { status: 204, headers } };
}

/** The names in Access-Control-Request-Headers, each checked; browsers send them lower-cased. */
function requestedHeaders(rules: CorsRules, value: string | undefined): string[] | PodgateError {
  const names: string[] = [];
  if (value === undefined) return names;
  for (const part of value.split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "") continue;
    if (!TOKEN.test(name)) return new CorsRejectedError("a requested header name is not a valid token");
    const allowed = rules.headers.has(name) || (rules.anyHeader && name !== "authorization");
    if (!allowed) return new CorsRejectedError(`the requested header ${name} is not allowed`);
    names.push(name);
  }
  return names;
}

/** Response edits for a forwarded request: the gateway's CORS fields replace any the app sent. */
function decorateActual(rules: CorsRules, context: RequestContext, origin: string | undefined): void {
  const edits = editsOf(context, "response");
  for (const name of CORS_RESPONSE_FIELDS) edits.remove.push(name);
  if (!rules.anyOrigin) edits.add.push("Vary", "Origin");
  if (origin === undefined || !originAllowed(rules, origin)) return;
  edits.set.push("Access-Control-Allow-Origin", rules.anyOrigin ? "*" : origin);
  for (const field of rules.actualSet) edits.set.push(field);
}
