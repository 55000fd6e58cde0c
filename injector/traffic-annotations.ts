/**
 * The access and traffic annotations: rate limits, quotas, concurrency, IP rules, CORS and header
 * edits. Each sets one field of the sidecar config's `policies` section.
 */
import {
  type HeaderEdits,
  parseHeaderEdits,
  parseHeaderNames,
  parseMethodTokens,
  parseOrigins,
  parseSeconds,
} from "./access-parsers.ts";
import { type Annotation, BOOLEAN, configDefault } from "./annotation-row.ts";
import { formatSeconds } from "./option-syntax.ts";
import { parseCidrList } from "./parsers.ts";
import {
  type ConcurrencyDraft,
  formatConcurrency,
  formatQuotas,
  formatRateLimits,
  parseConcurrency,
  parseQuotas,
  parseRateLimits,
  type QuotaConfig,
  type RateLimitConfig,
} from "./traffic-parsers.ts";

const KEYS = "ip|identity|global|header:<name>";

export const RATE_LIMIT: Annotation<RateLimitConfig[]> = {
  name: "podgate.io/rate-limit",
  type: "rate limits",
  noun: "a rate",
  expected: `<count>/<s|m|h|d> [burst=<count>] [by=${KEYS}]`,
  parse: parseRateLimits,
  format: formatRateLimits,
  configPath: "policies.rateLimits",
  default: "unset (no rate limit)",
  description:
    'Rate limits (GCRA), answered with 429 and RateLimit headers. Several limits are separated by ";" (or "," before the next count), e.g. "10/s burst=20, 1000/h". Each limit takes its own options: burst= (default the count), by= the key (default ip), routes= and methods= (comma lists) to apply it to part of the API. Limits with the same key and routes share one policy named after the key (ip, identity, global, header-<name>).',
  example: "100/s burst=200 by=ip",
};

export const QUOTA: Annotation<QuotaConfig[]> = {
  name: "podgate.io/quota",
  type: "quotas",
  noun: "a quota",
  expected: `<count>/<minute|hour|day|month> [by=${KEYS}]`,
  parse: parseQuotas,
  format: formatQuotas,
  configPath: "policies.quotas",
  default: "unset (no quota)",
  description:
    'Requests per calendar period (UTC), keyed by identity unless by= says otherwise; 429 quota-exceeded when spent. Several are separated by ";"; routes= and methods= narrow one. Named <key>-<period>.',
  example: "10000/day by=identity",
};

export const CONCURRENCY: Annotation<ConcurrencyDraft> = {
  name: "podgate.io/concurrency",
  type: "concurrency",
  noun: "a concurrency limit",
  expected:
    "<max in flight> [queue=<count>] [timeout=<duration>] [adaptive] [target=<duration>] [min=<count>]",
  parse: parseConcurrency,
  format: formatConcurrency,
  configPath: "policies.concurrency",
  default: "unset (no limit)",
  description:
    "At most this many requests in flight to the app; queue= more may wait up to timeout=, the rest get 503 with Retry-After. adaptive lowers the limit (down to min=) while the app's latency is above target=. Options left out take the sidecar's defaults.",
  example: "100 queue=50 timeout=1s adaptive",
};

const CIDRS = {
  type: "CIDR list",
  noun: "a CIDR list",
  expected: "comma-separated CIDRs or addresses",
  parse: parseCidrList,
  format: (value: string[]) => value.join(","),
  default: "none",
};

const HEADER_EDITS = {
  type: "header edits",
  noun: "a list of header edits",
  expected:
    '"set <name>=<value>", "add <name>=<value>" or "remove <name>[,<name>...]" entries separated by ";"',
  parse: parseHeaderEdits,
  default: "none",
};

const HEADER_LIST = {
  type: "list",
  noun: "a header list",
  expected: "comma-separated header names",
  parse: parseHeaderNames,
  format: (value: string[]) => value.join(","),
};

/** The traffic rows, in docs order. */
export const TRAFFIC_ANNOTATIONS: readonly Annotation<unknown>[] = [
  RATE_LIMIT,
  QUOTA,
  CONCURRENCY,
  {
    ...CIDRS,
    name: "podgate.io/ip-allow",
    configPath: "policies.ipRules.allow",
    description:
      "Only clients in these CIDRs may connect (403 otherwise); the client address is the one podgate.io/trusted-proxies lets through.",
    example: "10.0.0.0/8,192.168.0.0/16",
  } satisfies Annotation<string[]>,
  {
    ...CIDRS,
    name: "podgate.io/ip-deny",
    configPath: "policies.ipRules.deny",
    description:
      "Clients in these CIDRs are refused (checked before podgate.io/ip-allow; IPv4-mapped IPv6 included).",
    example: "203.0.113.0/24",
  } satisfies Annotation<string[]>,
  {
    name: "podgate.io/cors-origins",
    type: "list",
    noun: "an origin list",
    expected: "comma-separated origins such as https://app.example.com, or *",
    parse: parseOrigins,
    format: (value) => value.join(","),
    configPath: "policies.cors.origins",
    default: "unset (no CORS)",
    description:
      "Turns on CORS: preflights from these origins are answered at the gateway and their responses get CORS headers.",
    example: "https://shop.example.com",
  } satisfies Annotation<string[]>,
  {
    name: "podgate.io/cors-methods",
    type: "list",
    noun: "a method list",
    expected: "comma-separated uppercase methods",
    parse: parseMethodTokens,
    configPath: "policies.cors.methods",
    default: configDefault("policies.cors.methods", (value: string[]) => value.join(",")),
    description: "Methods a preflight may allow. Needs podgate.io/cors-origins.",
    example: "GET,POST,PUT",
  } satisfies Annotation<string[]>,
  {
    ...HEADER_LIST,
    name: "podgate.io/cors-headers",
    configPath: "policies.cors.headers",
    default: "none",
    description: "Request headers a preflight may allow. Needs podgate.io/cors-origins.",
    example: "content-type,authorization",
  },
  {
    ...HEADER_LIST,
    name: "podgate.io/cors-expose-headers",
    configPath: "policies.cors.exposeHeaders",
    default: "none",
    description: "Response headers the browser may read. Needs podgate.io/cors-origins.",
    example: "ratelimit,ratelimit-policy",
  },
  {
    ...BOOLEAN,
    name: "podgate.io/cors-credentials",
    configPath: "policies.cors.credentials",
    default: configDefault("policies.cors.credentials", String),
    description:
      'Allow cookies and Authorization on cross-origin requests (not with origin "*"). Needs podgate.io/cors-origins.',
    example: "true",
  },
  {
    name: "podgate.io/cors-max-age",
    type: "duration",
    noun: "a duration",
    expected: "whole seconds as <number><s|m|h>",
    parse: parseSeconds({ allowZero: true }),
    format: formatSeconds,
    configPath: "policies.cors.maxAgeSeconds",
    default: configDefault("policies.cors.maxAgeSeconds", formatSeconds),
    description: "How long browsers may cache a preflight. Needs podgate.io/cors-origins.",
    example: "1h",
  } satisfies Annotation<number>,
  {
    ...HEADER_EDITS,
    name: "podgate.io/request-headers",
    configPath: "policies.headers.request",
    description:
      'Edits to requests before they reach the app: set replaces, add appends, remove drops. Values run to the next ";". Forwarding headers (X-Forwarded-*, Forwarded, Host, X-Request-Id) cannot be edited.',
    example: "set x-env=prod; remove x-debug",
  } satisfies Annotation<HeaderEdits>,
  {
    ...HEADER_EDITS,
    name: "podgate.io/response-headers",
    configPath: "policies.headers.response",
    description: "Edits to the app's responses, in the same syntax as podgate.io/request-headers.",
    example: "set strict-transport-security=max-age=31536000; remove server,x-powered-by",
  } satisfies Annotation<HeaderEdits>,
];
