import { type Static, Type } from "@sinclair/typebox";

/**
 * The config schemas of the identity, access and traffic policies (`policies` in the sidecar config)
 * and of the TLS listener. The policies are keyed by name rather than listed as a `type`-tagged
 * union: each appears at most once, the chain runs them in a fixed order whatever the config order,
 * and a zone floor compares them key by key. Rate limits and quotas hold their own lists.
 */

const strings = (options: { description: string; expected?: string; default?: string[] }) =>
  Type.Array(Type.String({ minLength: 1 }), { default: [], ...options });
const seconds = (defaultValue: number, description: string) =>
  Type.Integer({ minimum: 1, default: defaultValue, description, expected: "a positive integer of seconds" });
const object = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });
const oneOf = <const T extends readonly string[]>(
  values: T,
  defaultValue: T[number] | undefined,
  description: string,
) =>
  Type.Unsafe<T[number]>({
    type: "string",
    enum: values,
    description,
    expected: `one of ${values.join(", ")}`,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });

/** Which requests a rate limit or quota applies to; absent means every request. */
const RequestSelector = {
  routes: Type.Optional(
    Type.Array(Type.String({ pattern: "^/" }), {
      description: "Path patterns (as in `routes`) this applies to; default all.",
    }),
  ),
  methods: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: "Methods; default all." })),
};

/** What a counter is keyed by: the caller's identity, the client IP, a header's value, or one global key. */
const CounterKey = Type.String({
  pattern: "^(identity|ip|global|header:[A-Za-z0-9-]+)$",
  default: "ip",
  description: "`identity`, `ip`, `global` or `header:<name>`. Requests without the key share one bucket.",
  expected: "identity, ip, global or header:<name>",
});

export const IpRulesSchema = object(
  {
    allow: strings({ description: "When set, only these CIDRs may connect." }),
    deny: strings({ description: "These CIDRs are refused (checked before allow)." }),
  },
  "IP allow and deny lists, on the verified client address (IPv4, IPv6, IPv4-mapped IPv6).",
);

export const CorsSchema = object(
  {
    origins: strings({
      description: "Allowed origins (`https://app.example`), or `*` for any (not with credentials).",
    }),
    methods: strings({ description: "Allowed methods.", default: ["GET", "HEAD", "POST"] }),
    headers: strings({ description: "Allowed request headers." }),
    exposeHeaders: strings({ description: "Response headers the browser may read." }),
    credentials: Type.Boolean({ default: false, description: "Allow cookies and Authorization." }),
    maxAgeSeconds: Type.Integer({
      minimum: 0,
      default: 600,
      description: "How long browsers cache a preflight.",
    }),
  },
  "CORS: preflights answered at the gateway; CORS headers added to allowed origins' responses.",
);

export const ApiKeysSchema = object(
  {
    directory: Type.String({
      minLength: 1,
      description: "A mounted Secret folder: one file per key, the file name is the key id.",
    }),
    header: Type.String({ default: "x-api-key", minLength: 1, description: "Header that carries the key." }),
  },
  "API keys: held as SHA-256 hashes, compared in constant time; the key id becomes the identity.",
);

export const JwtSchema = object(
  {
    jwksUrl: Type.Optional(
      Type.String({
        pattern: "^https?://",
        description: "JWKS endpoint (cached, refetched on an unknown kid).",
      }),
    ),
    jwksFile: Type.Optional(
      Type.String({ minLength: 1, description: "A mounted JWKS file, reloaded when it changes." }),
    ),
    issuer: Type.String({ minLength: 1, description: "Required `iss`." }),
    audience: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: "Accepted `aud` values.",
    }),
    algorithms: Type.Array(
      oneOf(
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const,
        undefined,
        "algorithm",
      ),
      {
        minItems: 1,
        default: ["RS256", "ES256"],
        description: "Allowed `alg`; `none` and HMAC are never accepted.",
      },
    ),
    requireExp: Type.Boolean({ default: true, description: "Tokens without `exp` are refused." }),
    clockSkewSeconds: Type.Integer({
      minimum: 0,
      maximum: 300,
      default: 30,
      description: "Tolerance on exp and nbf.",
    }),
    maxLifetimeSeconds: seconds(86_400, "Tokens whose exp - iat (or exp - now) exceeds this are refused."),
    jwksCacheSeconds: seconds(600, "How long fetched keys are kept."),
    jwksCooldownSeconds: seconds(30, "At most one refetch for an unknown kid per this many seconds."),
    claimHeaders: Type.Record(
      Type.String({ pattern: "^[a-z][a-z0-9_.-]*$" }),
      Type.String({ pattern: "^[A-Za-z0-9-]+$" }),
      {
        default: {},
        description: "Verified claims forwarded to the app: `{sub: x-user-id}`; client copies are stripped.",
      },
    ),
    forwardToken: Type.Boolean({
      default: true,
      description: "Keep Authorization for the app, or strip it.",
    }),
  },
  "JWT bearer tokens verified with jose; `sub` becomes the identity.",
);

export const AuthenticationSchema = object(
  {
    required: Type.Boolean({ default: true, description: "Requests with no valid credential get 401." }),
  },
  "Whether a verified identity (API key, JWT or client certificate) is required.",
);

export const LockoutSchema = object(
  {
    maxFailures: Type.Integer({
      minimum: 1,
      default: 10,
      description: "Failed authentications allowed per window.",
    }),
    windowSeconds: seconds(900, "The window failures are counted in."),
    lockSeconds: seconds(
      1800,
      "How long a principal or IP stays blocked (PCI DSS 8.3.4: at least 30 minutes).",
    ),
  },
  "Failed-authentication lockout, per principal and per client IP.",
);

const RateSpec = object(
  {
    requests: Type.Integer({
      minimum: 1,
      description: "Requests allowed per period.",
      expected: "a positive integer",
    }),
    per: oneOf(["second", "minute", "hour", "day"] as const, undefined, "The period."),
    burst: Type.Optional(
      Type.Integer({ minimum: 1, description: "Requests allowed at once; default `requests`." }),
    ),
  },
  "One rate: `requests` per `per`, with a burst.",
);

export const RateLimitSchema = object(
  {
    name: Type.String({ pattern: "^[a-z0-9-]+$", description: "Names the limit in RateLimit-Policy." }),
    key: CounterKey,
    limits: Type.Array(RateSpec, {
      minItems: 1,
      description: "Several rates at once, e.g. 10/s burst 20 and 1000/h.",
    }),
    ...RequestSelector,
  },
  "A rate limit (GCRA).",
);

export const QuotaSchema = object(
  {
    name: Type.String({ pattern: "^[a-z0-9-]+$", description: "Names the quota in RateLimit-Policy." }),
    key: { ...CounterKey, default: "identity" },
    requests: Type.Integer({ minimum: 1, description: "Requests per calendar period." }),
    period: oneOf(["minute", "hour", "day", "month"] as const, undefined, "Calendar period, UTC."),
    ...RequestSelector,
  },
  "A quota per calendar period.",
);

export const ConcurrencySchema = object(
  {
    maxInFlight: Type.Integer({
      minimum: 1,
      default: 100,
      description: "Requests in flight to the app at most.",
    }),
    queueSize: Type.Integer({ minimum: 0, default: 50, description: "Requests that may wait for a slot." }),
    queueTimeoutMs: Type.Integer({ minimum: 1, default: 1000, description: "How long a request may wait." }),
    adaptive: Type.Boolean({ default: false, description: "Lower the limit when the app's latency rises." }),
    targetLatencyMs: Type.Integer({
      minimum: 1,
      default: 250,
      description: "Adaptive mode: the latency to keep.",
    }),
    minInFlight: Type.Integer({
      minimum: 1,
      default: 4,
      description: "Adaptive mode: the limit never goes below this.",
    }),
  },
  "Concurrency limit and load shedding.",
);

const HeaderEdits = object(
  {
    add: Type.Record(Type.String(), Type.String(), { default: {}, description: "Appended." }),
    set: Type.Record(Type.String(), Type.String(), { default: {}, description: "Replaced." }),
    remove: strings({ description: "Removed." }),
  },
  "Header edits.",
);

export const HeaderRulesSchema = object(
  {
    request: Type.Optional(HeaderEdits),
    response: Type.Optional(HeaderEdits),
  },
  "Add, set and remove request and response headers.",
);

/** The `policies` section. */
export const PoliciesSchema = Type.Object(
  {
    ipRules: Type.Optional(IpRulesSchema),
    cors: Type.Optional(CorsSchema),
    apiKeys: Type.Optional(ApiKeysSchema),
    jwt: Type.Optional(JwtSchema),
    authentication: Type.Optional(AuthenticationSchema),
    lockout: Type.Optional(LockoutSchema),
    rateLimits: Type.Optional(Type.Array(RateLimitSchema, { description: "Rate limits, all applied." })),
    quotas: Type.Optional(Type.Array(QuotaSchema, { description: "Quotas, all applied." })),
    concurrency: Type.Optional(ConcurrencySchema),
    headers: Type.Optional(HeaderRulesSchema),
  },
  { additionalProperties: false, default: {}, description: "Identity, access and traffic policies." },
);

/** TLS on the data-plane listener, with optional client certificates (mTLS). */
export const TlsSchema = object(
  {
    certFile: Type.String({
      minLength: 1,
      description: "Serving certificate (PEM), reloaded when it changes.",
    }),
    keyFile: Type.String({ minLength: 1, description: "Its private key (PEM)." }),
    minVersion: oneOf(["TLSv1.2", "TLSv1.3"] as const, "TLSv1.2", "Lowest TLS version accepted."),
    clientCaFile: Type.Optional(
      Type.String({ minLength: 1, description: "CA bundle that client certificates must chain to." }),
    ),
    clientCertificates: oneOf(
      ["none", "optional", "required"] as const,
      "none",
      "Ask for client certificates.",
    ),
    identityFrom: oneOf(["uri", "dns"] as const, "uri", "Identity from the SAN URI (SPIFFE ID) or DNS name."),
  },
  "TLS on the data plane.",
);

export type PoliciesConfig = Static<typeof PoliciesSchema>;
export type IpRulesConfig = Static<typeof IpRulesSchema>;
export type CorsConfig = Static<typeof CorsSchema>;
export type ApiKeysConfig = Static<typeof ApiKeysSchema>;
export type JwtConfig = Static<typeof JwtSchema>;
export type LockoutConfig = Static<typeof LockoutSchema>;
export type RateLimitConfig = Static<typeof RateLimitSchema>;
export type QuotaConfig = Static<typeof QuotaSchema>;
export type ConcurrencyConfig = Static<typeof ConcurrencySchema>;
export type HeaderRulesConfig = Static<typeof HeaderRulesSchema>;
export type TlsConfig = Static<typeof TlsSchema>;

/** Headers the gateway owns: header rules may not edit them. */
const GATEWAY_HEADERS = new Set([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
  "x-request-id",
  "host",
]);

/** What JSON Schema cannot say about `policies` and `listener.tls`; input may be schema-invalid. */
export function policyProblems(
  policies: Partial<PoliciesConfig> | undefined,
  tls: Partial<TlsConfig> | undefined,
  isCidr: (text: string) => boolean,
): string[] {
  const problems: string[] = [];
  const p = policies ?? {};
  for (const side of ["allow", "deny"] as const) {
    const list = p.ipRules?.[side];
    if (!Array.isArray(list)) continue;
    list.forEach((cidr, i) => {
      if (typeof cidr === "string" && !isCidr(cidr)) {
        problems.push(
          `policies.ipRules.${side}[${i}]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(cidr)}`,
        );
      }
    });
  }
  if (p.jwt && (p.jwt.jwksUrl === undefined) === (p.jwt.jwksFile === undefined)) {
    problems.push("policies.jwt: expected exactly one of jwksUrl and jwksFile");
  }
  if (p.cors?.credentials === true && p.cors.origins?.includes("*")) {
    problems.push('policies.cors.origins: "*" cannot be combined with credentials: true; list the origins');
  }
  const certificates = tls?.clientCertificates;
  if (tls && certificates !== undefined && certificates !== "none" && tls.clientCaFile === undefined) {
    problems.push(
      `listener.tls.clientCaFile: required when clientCertificates is ${JSON.stringify(certificates)}`,
    );
  }
  const canAuthenticate =
    p.apiKeys !== undefined || p.jwt !== undefined || (certificates ?? "none") !== "none";
  if (p.authentication?.required !== false && p.authentication !== undefined && !canAuthenticate) {
    problems.push(
      "policies.authentication.required: no credential is configured (apiKeys, jwt or listener.tls client certificates)",
    );
  }
  problems.push(
    ...duplicateNames("policies.rateLimits", p.rateLimits),
    ...duplicateNames("policies.quotas", p.quotas),
  );
  for (const direction of ["request", "response"] as const) {
    const edits = p.headers?.[direction];
    const names = [
      ...Object.keys(edits?.add ?? {}),
      ...Object.keys(edits?.set ?? {}),
      ...(edits?.remove ?? []),
    ];
    for (const name of names) {
      if (GATEWAY_HEADERS.has(String(name).toLowerCase())) {
        problems.push(
          `policies.headers.${direction}: ${JSON.stringify(name)} is set by the gateway and cannot be edited`,
        );
      }
    }
  }
  return problems;
}

function duplicateNames(path: string, list: Array<{ name?: string }> | undefined): string[] {
  if (!Array.isArray(list)) return [];
  const seen = new Set<string>();
  const problems: string[] = [];
  list.forEach((item, i) => {
    if (typeof item?.name !== "string") return;
    if (seen.has(item.name))
      problems.push(`${path}[${i}].name: ${JSON.stringify(item.name)} is used twice; names must be unique`);
    seen.add(item.name);
  });
  return problems;
}
