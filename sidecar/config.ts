import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Ajv, type ErrorObject } from "ajv";
import ipaddr from "ipaddr.js";
import { ConfigInvalidError } from "./errors.ts";
import { PoliciesSchema, policyProblems, TlsSchema } from "./policy-config.ts";
import { patternProblem } from "./redact.ts";

/**
 * The sidecar's configuration: one JSON Schema (built with TypeBox) with defaults and
 * `additionalProperties: false` everywhere. It is validated once at startup, every problem is
 * reported at once, and the result is deep-frozen. The injector imports this module to render
 * the config it puts into `PODGATE_CONFIG`, so it does no I/O; `config-file.ts` reads files.
 *
 * Two annotation keywords extend the schema: `expected` is the phrase an error message uses
 * ("expected a positive integer"), and `secret: true` marks values that `/config` redacts.
 */

const positiveInt = (defaultValue: number, description: string) =>
  Type.Integer({ minimum: 1, default: defaultValue, description, expected: "a positive integer" });
const millis = (defaultValue: number, description: string) =>
  Type.Integer({
    minimum: 1,
    default: defaultValue,
    description,
    expected: "a positive integer of milliseconds",
  });
const port = (defaultValue: number, description: string) =>
  Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: defaultValue,
    description,
    expected: "a port number from 0 to 65535",
  });
const oneOf = <const T extends readonly string[]>(
  values: T,
  options: { default?: T[number]; expected?: string },
) =>
  Type.Unsafe<T[number]>({
    type: "string",
    enum: values,
    expected: options.expected ?? `one of ${values.join(", ")}`,
    ...(options.default === undefined ? {} : { default: options.default }),
  });
const section = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });

/** HTTP methods a route may name; `*` stands for all of them. */
export const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"] as const;

const Route = Type.Object(
  {
    path: Type.String({
      pattern: "^/",
      description: "Path pattern: `/exact`, `/users/*` (one segment), `/api/**` (the prefix and below).",
      expected: 'a path pattern starting with "/"',
    }),
    methods: Type.Array(oneOf(ROUTE_METHODS, {}), {
      minItems: 1,
      uniqueItems: true,
      default: ["*"],
      description: "Allowed methods; GET also allows HEAD. Default: all.",
      expected: `a list of methods from ${ROUTE_METHODS.join(", ")}`,
    }),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: "JWT scopes all required on this route." }),
    ),
    identities: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: "Only these identities (certificate SAN, API key id or JWT sub) may use this route.",
      }),
    ),
  },
  { additionalProperties: false },
);

/** The JSON Schema of the sidecar config. */
export const SidecarConfigSchema = Type.Object(
  {
    listener: section(
      {
        host: Type.String({ default: "0.0.0.0", minLength: 1, description: "Data-plane listen address." }),
        port: port(8080, "Data-plane listen port; 0 picks a free port."),
        tls: Type.Optional(TlsSchema),
      },
      "Where the gateway accepts traffic.",
    ),
    admin: section(
      {
        host: Type.String({ default: "0.0.0.0", minLength: 1, description: "Admin-plane listen address." }),
        port: port(9901, "Admin-plane port (/healthz, /readyz, /config); 0 picks a free port."),
      },
      "The admin plane: probes and the effective config.",
    ),
    upstream: section(
      {
        url: Type.String({
          default: "http://127.0.0.1:8081",
          pattern: "^http://",
          description: "The app, as http://host:port. Use 127.0.0.1 rather than localhost.",
          expected: "an http:// URL such as http://127.0.0.1:8081",
        }),
        connectTimeoutMs: millis(1000, "Connecting to the app longer than this answers 503."),
        responseTimeoutMs: millis(
          30_000,
          "Waiting for the app's response headers longer than this answers 504.",
        ),
        bodyIdleTimeoutMs: millis(300_000, "The app's response body may stall this long between chunks."),
        idleTimeoutMs: millis(
          4000,
          "Pooled app connections idle longer than this are closed; keep it below the app's own keep-alive timeout.",
        ),
        maxConnections: positiveInt(64, "Connections to the app at most."),
      },
      "The application container the gateway forwards to.",
    ),
    limits: section(
      {
        maxHeaderBytes: positiveInt(16_384, "Request line and headers larger than this answer 431."),
        maxHeaderCount: positiveInt(100, "More request headers than this answer 431."),
        maxBodyBytes: positiveInt(
          10_485_760,
          "Request bodies larger than this answer 413 (Content-Length or counted).",
        ),
        headerReadTimeoutMs: millis(
          10_000,
          "A client that takes longer to send its headers gets 408 (slowloris).",
        ),
        requestTimeoutMs: millis(300_000, "A client that takes longer to send its whole request gets 408."),
        keepAliveTimeoutMs: millis(65_000, "Idle client connections are closed after this."),
      },
      "Limits on what clients may send.",
    ),
    forwarding: section(
      {
        trustedProxies: Type.Array(Type.String({ expected: "a CIDR such as 10.0.0.0/8 or fd00::/8" }), {
          default: [],
          description:
            "Peers whose X-Forwarded-For is believed: the client is the right-most untrusted entry. Default: none.",
        }),
      },
      "Forwarding headers and who may set them.",
    ),
    paths: section(
      {
        mergeSlashes: Type.Boolean({
          default: false,
          description: "Merge repeated slashes (`//`) before rules match and before forwarding.",
        }),
      },
      "Path normalization, shared by every path-based rule.",
    ),
    routes: Type.Optional(
      Type.Array(Route, {
        description: "Route allowlist: when set, anything else answers 404 (path) or 405 (method).",
      }),
    ),
    policies: PoliciesSchema,
    drain: section(
      {
        delayMs: Type.Integer({
          minimum: 0,
          default: 5000,
          description: "After SIGTERM, keep serving this long so endpoints can update.",
          expected: "an integer of milliseconds, 0 or more",
        }),
        timeoutMs: millis(25_000, "Then wait this long at most for in-flight requests."),
      },
      "Graceful shutdown.",
    ),
    log: section(
      {
        level: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { default: "info" }),
        accessLog: Type.Boolean({ default: true, description: "One JSON line per request." }),
      },
      "Logging.",
    ),
    // --- issue 7: observability (telemetry, audit, redaction) ---
    telemetry: section(
      {
        metrics: Type.Boolean({
          default: true,
          description:
            "Metrics: Prometheus text at GET /metrics on the admin port, and OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.",
        }),
        tracing: Type.Boolean({
          default: true,
          description:
            "Traces over OTLP/HTTP, only when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set; sampler from OTEL_TRACES_SAMPLER, default parentbased_traceidratio at 0.01.",
        }),
      },
      "OpenTelemetry, configured by the standard OTEL_* environment variables; loaded only when something is on.",
    ),
    audit: section(
      {
        enabled: Type.Boolean({ default: false, description: "One hash-chained JSON record per request." }),
        file: Type.String({
          default: "/var/log/podgate/audit.jsonl",
          minLength: 1,
          description:
            "Where audit records are appended; `stderr` writes them to fd 2, apart from the access log on stdout.",
        }),
      },
      "The audit log: who did what, which policy decided, chained so edits and deletions are detectable.",
    ),
    redact: section(
      {
        patterns: Type.Array(
          Type.Object(
            {
              name: Type.String({ pattern: "^[a-z0-9-]+$", description: "Shown as `[redacted:<name>]`." }),
              pattern: Type.String({ minLength: 1, description: "A JavaScript regular expression." }),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            description:
              "Extra patterns replaced in every log stream (card numbers and credentials always are), e.g. a US SSN `\\b\\d{3}-\\d{2}-\\d{4}\\b`.",
          },
        ),
      },
      "Redaction of logged paths and header values.",
    ),
  },
  { additionalProperties: false },
);

/** The validated, defaulted and frozen sidecar config. */
export type SidecarConfig = Static<typeof SidecarConfigSchema>;
/** One entry of the route allowlist. */
export type RouteConfig = Static<typeof Route>;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
ajv.addKeyword({ keyword: "expected", schemaType: "string" });
ajv.addKeyword({ keyword: "secret", schemaType: "boolean" });
const validateSchema = ajv.compile(SidecarConfigSchema);

/** Turns an ajv instance path (`/limits/maxBodyBytes`, `/routes/0/path`) into `limits.maxBodyBytes`, `routes[0].path`. */
function dotPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split("/").slice(1);
  if (extra !== undefined) parts.push(extra);
  let out = "";
  for (const part of parts) out += /^\d+$/.test(part) ? `[${part}]` : out === "" ? part : `.${part}`;
  return out === "" ? "(root)" : out;
}

function describeProblem(error: ErrorObject): string {
  const got = `got ${JSON.stringify(error.data)}`;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(error.params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      return `${dotPath(error.instancePath, key)}: unknown key; expected one of ${known.join(", ")}`;
    }
    case "required":
      return `${dotPath(error.instancePath, String(error.params.missingProperty))}: required`;
    default: {
      const expected = (error.parentSchema as { expected?: string }).expected;
      return `${dotPath(error.instancePath)}: expected ${expected ?? error.message ?? "a valid value"}, ${got}`;
    }
  }
}

/**
 * Checks what JSON Schema cannot say: CIDRs parse, route patterns are well-formed, the URL parses.
 * It runs on schema-invalid input too (so every problem is reported at once) and skips what has the wrong type.
 */
function semanticProblems(config: SidecarConfig): string[] {
  const problems: string[] = [];
  const list = <T>(value: T[] | undefined): T[] => (Array.isArray(value) ? value : []);
  list(config.forwarding?.trustedProxies).forEach((cidr, i) => {
    if (typeof cidr === "string" && !isCidr(cidr)) {
      problems.push(
        `forwarding.trustedProxies[${i}]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(cidr)}`,
      );
    }
  });
  list(config.routes).forEach((route, i) => {
    if (typeof route?.path !== "string") return;
    const problem = routePatternProblem(route.path);
    if (problem) problems.push(`routes[${i}].path: ${problem}, got ${JSON.stringify(route.path)}`);
  });
  const { headerReadTimeoutMs, requestTimeoutMs } = config.limits ?? {};
  if (
    typeof headerReadTimeoutMs === "number" &&
    typeof requestTimeoutMs === "number" &&
    headerReadTimeoutMs > requestTimeoutMs
  ) {
    problems.push(
      `limits.headerReadTimeoutMs: expected at most limits.requestTimeoutMs (${requestTimeoutMs}), got ${headerReadTimeoutMs}`,
    );
  }
  problems.push(...policyProblems(config.policies, config.listener?.tls, isCidr));
  list(config.redact?.patterns).forEach((entry, i) => {
    const problem = typeof entry?.pattern === "string" ? patternProblem(entry.pattern) : undefined;
    if (problem) problems.push(`redact.patterns[${i}].pattern: expected a regular expression, ${problem}`);
  });
  const url = config.upstream?.url;
  if (typeof url === "string" && (!URL.canParse(url) || new URL(url).pathname !== "/")) {
    problems.push(
      `upstream.url: expected an http:// URL with host and port and no path, got ${JSON.stringify(config.upstream.url)}`,
    );
  }
  return problems;
}

function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return ipaddr.isValid(text);
  }
}

/** Route patterns: segments of literal text, `*` for one segment, and `**` only as the last segment. */
export function routePatternProblem(pattern: string): string | undefined {
  const segments = pattern.split("/").slice(1);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? "";
    if (segment === "**" && i !== segments.length - 1) return "`**` may only be the last segment";
    if (segment !== "*" && segment !== "**" && segment.includes("*")) {
      return "`*` must be a whole segment";
    }
    if (segment === "." || segment === "..") return "dot segments are not allowed";
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a parsed config object, fills in defaults and freezes it.
 * Throws ConfigInvalidError listing every problem, each with its path.
 * @example parseConfig({ upstream: { url: "http://127.0.0.1:3000" } }).listener.port // 8080
 */
export function parseConfig(input: unknown): SidecarConfig {
  const candidate = structuredClone(input ?? {});
  const valid = validateSchema(candidate);
  const problems = valid ? [] : [...new Set((validateSchema.errors ?? []).map(describeProblem))];
  const config = candidate as SidecarConfig;
  problems.push(...semanticProblems(config));
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return deepFreeze(config);
}

/** Returns a copy of the config with every value the schema marks `secret` replaced by "[redacted]". */
export function redactConfig(config: SidecarConfig): unknown {
  return redactBySchema(config, SidecarConfigSchema);
}

/** Copies `value`, replacing whatever `schema` marks `secret: true` by "[redacted]". */
export function redactBySchema(value: unknown, schema: TSchema | undefined): unknown {
  if (schema?.secret === true) return "[redacted]";
  if (Array.isArray(value))
    return value.map((item) => redactBySchema(item, schema?.items as TSchema | undefined));
  if (value && typeof value === "object") {
    const properties = (schema?.properties ?? {}) as Record<string, TSchema>;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactBySchema(v, properties[k])]));
  }
  return value;
}
