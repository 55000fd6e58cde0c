import { createHash } from "node:crypto";
import { editsOf, type RequestContext } from "../chain.ts";
import { pathMatcher } from "./route-allowlist.ts";

/**
 * What the traffic policies (rate limits, quotas) share: which requests a limit applies to, which
 * counter a request is charged to, and the RateLimit header fields they all add to.
 */

/**
 * The response fields of draft-ietf-httpapi-ratelimit-headers-11 (May 2026), §3 and §4: each is a
 * Structured Field List (RFC 9651) of one Item per policy, the Item a String naming the policy:
 * `RateLimit-Policy: "burst";q=100;w=60` and `RateLimit: "burst";r=50;t=30`.
 */
export const RATELIMIT_POLICY = "ratelimit-policy";
export const RATELIMIT = "ratelimit";

/** Decides whether a request is one a limit applies to. */
export type RequestSelector = (context: RequestContext) => boolean;

/**
 * Compiles `routes` (path patterns, as in the route allowlist) and `methods` into a selector, or
 * undefined when both are absent (every request). GET also selects HEAD, as in the allowlist.
 * @example requestSelector(["/api/**"], ["POST"]) // selects POST /api/orders, not GET /api/orders
 */
export function requestSelector(
  routes: readonly string[] | undefined,
  methods: readonly string[] | undefined,
): RequestSelector | undefined {
  const matchers = routes?.map(pathMatcher);
  const methodSet = methods === undefined || methods.includes("*") ? undefined : new Set(methods);
  if (methodSet?.has("GET")) methodSet.add("HEAD");
  if (matchers === undefined && methodSet === undefined) return undefined;
  return function selected(context) {
    if (methodSet !== undefined && !methodSet.has(context.method)) return false;
    if (matchers === undefined) return true;
    for (let i = 0; i < matchers.length; i++) {
      if ((matchers[i] as (path: string) => boolean)(context.path)) return true;
    }
    return false;
  };
}

/** Builds the counter key a request is charged to. */
export type KeyOf = (context: RequestContext) => string;

/** Values longer than this are hashed, so a client cannot make one key cost kilobytes. */
const MAX_VALUE_LENGTH = 128;

/**
 * Compiles a counter key spec (`identity`, `ip`, `global` or `header:<name>`) into a key builder.
 * Keys are `<prefix>=<value>`, `<prefix>#<sha256 of a long value>`, `<prefix>*` for the global
 * counter, and `<prefix>-` for every request that lacks the value (no identity, no such header):
 * those share one counter, which keeps a missing value from becoming a way around the limit.
 * Header values are chosen by the client: key on a header only when a trusted hop sets it.
 * @example counterKey("header:x-tenant", "rate:api:")(context) // "rate:api:=acme"
 */
export function counterKey(spec: string, prefix: string): KeyOf {
  const missing = `${prefix}-`;
  if (spec === "global") {
    const global = `${prefix}*`;
    return function globalKey() {
      return global;
    };
  }
  if (spec === "identity") {
    return function identityKey(context) {
      const id = context.identity?.id;
      return id === undefined || id === "" ? missing : valueKey(prefix, id);
    };
  }
  if (spec === "ip") {
    return function ipKey(context) {
      return context.clientAddress === "" ? missing : valueKey(prefix, context.clientAddress);
    };
  }
  const name = spec.slice("header:".length).toLowerCase();
  return function headerKey(context) {
    const value = headerValue(context.req.rawHeaders, name);
    return value === undefined || value === "" ? missing : valueKey(prefix, value);
  };
}

function valueKey(prefix: string, value: string): string {
  if (value.length <= MAX_VALUE_LENGTH) return `${prefix}=${value}`;
  return `${prefix}#${createHash("sha256").update(value).digest("base64url")}`;
}

/** The first value of header `name` (lower case), read from rawHeaders: `req.headers` is built lazily, per request. */
function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const candidate = raw[i] as string;
    if (candidate.length === name.length && candidate.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

/**
 * Adds one member to a List-valued response field, joining it to members other policies added (one
 * field line; RFC 9651 §3.1 allows splitting too, but one line reads better and costs less).
 */
export function appendField(context: RequestContext, name: string, member: string): void {
  const set = editsOf(context, "response").set;
  for (let i = 0; i < set.length; i += 2) {
    if (set[i] === name) {
      set[i + 1] = `${set[i + 1]}, ${member}`;
      return;
    }
  }
  set.push(name, member);
}

/** Whole seconds, rounded up: RateLimit `t` and Retry-After are delay-seconds (RFC 9110 §10.2.3). */
export function ceilSeconds(ms: number): number {
  // The slack keeps float noise (3600000.0000001 ms) from adding a second.
  return ms <= 0 ? 0 : Math.ceil(ms / 1000 - 1e-9);
}
