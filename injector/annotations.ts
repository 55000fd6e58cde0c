/**
 * The one table of podgate's pod annotations: name, type, default, parser, description and example.
 * Mutate, validate, `podgate inject`, `podgate lint` and the README's annotation reference all read
 * it, so they can never disagree. A row with a `configPath` sets that field of the sidecar config;
 * the other rows steer the injection itself. Policy annotations (rate limits, API keys, JWT, mTLS)
 * become rows here once the sidecar's config schema has those policies.
 */
import { type RouteConfig, SidecarConfigSchema } from "../sidecar/config.ts";
import {
  formatDuration,
  formatRoutes,
  formatSize,
  type ParseResult,
  parseBoolean,
  parseCidrList,
  parseDuration,
  parseEnvName,
  parseOneOf,
  parsePortRef,
  parsePositiveInt,
  parseQuantity,
  parseRoutes,
  parseSize,
} from "./parsers.ts";

/** The prefix every podgate annotation and label shares. */
export const PREFIX = "podgate.io/";
/** Set by the injector (not by users): the injector version and a hash of the effective policy. */
export const STATUS_ANNOTATION = "podgate.io/status";
/** Set by the injector on injected pods, so NetworkPolicies can select them. */
export const INJECTED_LABEL = "podgate.io/injected";
/** Namespace label that opts a namespace in (`enabled`). */
export const NAMESPACE_INJECT_LABEL = "podgate.io/inject";
/** Namespace label naming the zone whose floor applies. */
export const ZONE_LABEL = "podgate.io/zone";

/** One annotation: how to parse it, what it means and, for policy rows, which config field it sets. */
export interface Annotation<T> {
  readonly name: string;
  /** The value's type as the docs name it. */
  readonly type: string;
  /** The default, in annotation syntax, or a sentence. */
  readonly default: string;
  readonly description: string;
  readonly example: string;
  /** What a value must be, for error messages: `is not ${noun}; expected ${expected}`. */
  readonly noun: string;
  readonly expected: string;
  parse(raw: string): ParseResult<T>;
  /** The sidecar config field this sets, as a dotted path (`limits.maxBodyBytes`). */
  readonly configPath?: string;
  /** Formats a config value back in annotation syntax (for zone floor messages). */
  format?(value: T): string;
}

/** Reads a default from the sidecar's JSON Schema, so the docs follow the schema. */
function schemaDefault(path: string): unknown {
  let schema: unknown = SidecarConfigSchema;
  for (const key of path.split(".")) {
    schema = (schema as { properties?: Record<string, unknown> }).properties?.[key];
  }
  return (schema as { default?: unknown } | undefined)?.default;
}

function configDefault<T>(path: string, format: (value: T) => string): string {
  const value = schemaDefault(path);
  return value === undefined ? "unset" : format(value as T);
}

const SIZE = {
  type: "size",
  noun: "a size",
  expected: "<bytes>[Ki|Mi|Gi|k|M|G]",
  parse: parseSize,
  format: formatSize,
};
const DURATION = {
  type: "duration",
  noun: "a duration",
  expected: "<number><ms|s|m|h>",
  parse: (raw: string) => parseDuration(raw),
  format: formatDuration,
};
const BOOLEAN = {
  type: "boolean",
  noun: "a boolean",
  expected: '"true" or "false"',
  parse: parseBoolean,
  format: String,
};
const QUANTITY = {
  type: "quantity",
  noun: "a quantity",
  expected: "a Kubernetes quantity",
  parse: parseQuantity,
};

function sizeRow(name: string, configPath: string, description: string, example: string): Annotation<number> {
  return { ...SIZE, name, configPath, description, example, default: configDefault(configPath, formatSize) };
}
function durationRow(
  name: string,
  configPath: string,
  description: string,
  example: string,
): Annotation<number> {
  return {
    ...DURATION,
    name,
    configPath,
    description,
    example,
    default: configDefault(configPath, formatDuration),
  };
}
function resourceRow(name: string, description: string, example: string): Annotation<string> {
  return { ...QUANTITY, name, description, example, default: "the cluster settings' sidecar resources" };
}

/** The capture modes `podgate.io/capture` accepts. */
export const CAPTURE_MODES = ["auto", "port-env", "named-port", "iptables"] as const;
/** One of CAPTURE_MODES. */
export type CaptureMode = (typeof CAPTURE_MODES)[number];

export const INJECT: Annotation<boolean> = {
  ...BOOLEAN,
  name: "podgate.io/inject",
  default: "the namespace's label",
  description:
    '"false" opts the pod out (not allowed in zones without opt-out); "true" opts it in from an unlabelled namespace where the cluster settings allow pod opt-in.',
  example: "false",
};
export const CAPTURE: Annotation<CaptureMode> = {
  name: "podgate.io/capture",
  type: "enum",
  default: "auto",
  noun: "a capture mode",
  expected: CAPTURE_MODES.join(", "),
  parse: parseOneOf(CAPTURE_MODES),
  description:
    "How traffic reaches the gateway. auto picks port-env when the app sets its port variable to the serving port, else named-port when the port has a name, else iptables when the cluster allows it.",
  example: "named-port",
};
export const PORT: Annotation<number | string> = {
  name: "podgate.io/port",
  type: "port",
  default: "the only declared port, else the port named http",
  noun: "a port",
  expected: "a port number from 1 to 65535 or a port name",
  parse: parsePortRef,
  description: "The app's serving port (number or name) that the gateway fronts.",
  example: "http",
};
export const APP_PORT_ENV: Annotation<string> = {
  name: "podgate.io/app-port-env",
  type: "string",
  default: "PORT",
  noun: "an environment variable name",
  expected: "a name such as PORT or HTTP_PORT",
  parse: parseEnvName,
  description: "The environment variable the app reads its port from (port-env capture).",
  example: "HTTP_PORT",
};
export const ROUTES: Annotation<RouteConfig[]> = {
  name: "podgate.io/routes",
  type: "routes",
  default: "unset (every path and method)",
  noun: "a route list",
  expected: '"<path> [METHOD,...]" entries separated by ";"',
  parse: parseRoutes,
  format: formatRoutes,
  configPath: "routes",
  description:
    "Route allowlist; anything else answers 404 (path) or 405 (method). Paths: /exact, /users/* (one segment), /api/** (prefix). No methods means all.",
  example: "/api/** GET,POST; /healthz GET",
};

export const DRAIN_DELAY: Annotation<number> = {
  ...DURATION,
  parse: (raw: string) => parseDuration(raw, { allowZero: true }),
  name: "podgate.io/drain-delay",
  default: "5s, shortened to fit terminationGracePeriodSeconds",
  description:
    "After SIGTERM, keep serving this long so endpoints can update; the rest of the grace period drains.",
  example: "3s",
};

/** Every annotation podgate reads, in docs order. */
export const ANNOTATIONS: readonly Annotation<unknown>[] = [
  INJECT,
  CAPTURE,
  PORT,
  APP_PORT_ENV,
  ROUTES,
  sizeRow(
    "podgate.io/max-body-size",
    "limits.maxBodyBytes",
    "Request bodies larger than this answer 413.",
    "1Mi",
  ),
  sizeRow(
    "podgate.io/max-header-size",
    "limits.maxHeaderBytes",
    "Request headers larger than this answer 431.",
    "8Ki",
  ),
  {
    name: "podgate.io/max-header-count",
    type: "integer",
    noun: "a positive integer",
    expected: "a whole number of 1 or more",
    parse: parsePositiveInt,
    format: String,
    configPath: "limits.maxHeaderCount",
    default: configDefault("limits.maxHeaderCount", String),
    description: "More request headers than this answer 431.",
    example: "50",
  },
  durationRow(
    "podgate.io/header-timeout",
    "limits.headerReadTimeoutMs",
    "A client slower than this to send its headers gets 408.",
    "5s",
  ),
  durationRow(
    "podgate.io/request-timeout",
    "limits.requestTimeoutMs",
    "A client slower than this to send its whole request gets 408.",
    "30s",
  ),
  durationRow(
    "podgate.io/upstream-timeout",
    "upstream.responseTimeoutMs",
    "Waiting longer than this for the app's response headers answers 504.",
    "10s",
  ),
  durationRow(
    "podgate.io/connect-timeout",
    "upstream.connectTimeoutMs",
    "Connecting to the app longer than this answers 503.",
    "500ms",
  ),
  {
    name: "podgate.io/trusted-proxies",
    type: "CIDR list",
    noun: "a CIDR list",
    expected: "comma-separated CIDRs or addresses",
    parse: parseCidrList,
    format: (value) => value.join(","),
    configPath: "forwarding.trustedProxies",
    default: "none",
    description: "Peers whose X-Forwarded-For is believed.",
    example: "10.0.0.0/8,fd00::/8",
  } satisfies Annotation<string[]>,
  {
    ...BOOLEAN,
    name: "podgate.io/merge-slashes",
    configPath: "paths.mergeSlashes",
    default: configDefault("paths.mergeSlashes", String),
    description: "Merge repeated slashes in paths before rules match and before forwarding.",
    example: "true",
  },
  {
    ...BOOLEAN,
    name: "podgate.io/access-log",
    configPath: "log.accessLog",
    default: configDefault("log.accessLog", String),
    description: "One JSON line per request (the audit log zones require).",
    example: "true",
  },
  {
    name: "podgate.io/log-level",
    type: "enum",
    noun: "a log level",
    expected: "fatal, error, warn, info, debug, trace or silent",
    parse: parseOneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
    format: String,
    configPath: "log.level",
    default: configDefault("log.level", String),
    description: "The sidecar's log level.",
    example: "debug",
  },
  DRAIN_DELAY,
  resourceRow("podgate.io/cpu-request", "The sidecar's CPU request.", "100m"),
  resourceRow("podgate.io/cpu-limit", "The sidecar's CPU limit.", "500m"),
  resourceRow("podgate.io/memory-request", "The sidecar's memory request.", "64Mi"),
  resourceRow("podgate.io/memory-limit", "The sidecar's memory limit.", "256Mi"),
];

/** Looks up the row that sets a config path. */
export function annotationForConfigPath(path: string): Annotation<unknown> | undefined {
  return ANNOTATIONS.find((row) => row.configPath === path);
}
