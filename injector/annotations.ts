/**
 * The one table of podgate's pod annotations: name, type, default, parser, description and example.
 * Mutate, validate, `podgate inject`, `podgate lint` and the README's annotation reference all read
 * it, so they can never disagree. A row with a `configPath` sets that field of the sidecar config;
 * the other rows steer the injection itself. The policy rows live in auth-annotations.ts and
 * traffic-annotations.ts; this file lists them in docs order.
 */
import type { RouteConfig } from "../sidecar/config.ts";
import {
  type Annotation,
  BOOLEAN,
  booleanRow,
  configDefault,
  DURATION,
  durationRow,
  resourceRow,
  sizeRow,
} from "./annotation-row.ts";
import { AUTH_ANNOTATIONS } from "./auth-annotations.ts";
import {
  formatRoutes,
  parseCidrList,
  parseDuration,
  parseEnvName,
  parseOneOf,
  parsePortRef,
  parsePositiveInt,
  parseRoutes,
} from "./parsers.ts";
import { TRAFFIC_ANNOTATIONS } from "./traffic-annotations.ts";

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
  expected: '"<path> [METHOD,...] [scopes=<scope>,...] [identities=<id>,...]" entries separated by ";"',
  parse: parseRoutes,
  format: formatRoutes,
  configPath: "routes",
  description:
    "Route allowlist; anything else answers 404 (path) or 405 (method). Paths: /exact, /users/* (one segment), /api/** (prefix). No methods means all. scopes= lists JWT scopes all required on the route (403 otherwise); identities= lists the only callers allowed (API key id, JWT sub or certificate SAN).",
  example: "/api/** GET,POST; /admin/** GET,POST scopes=admin; /healthz GET",
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
  ...AUTH_ANNOTATIONS,
  ...TRAFFIC_ANNOTATIONS,
  sizeRow(
    {
      name: "podgate.io/max-body-size",
      description: "Request bodies larger than this answer 413.",
      example: "1Mi",
    },
    "limits.maxBodyBytes",
  ),
  sizeRow(
    {
      name: "podgate.io/max-header-size",
      description: "Request headers larger than this answer 431.",
      example: "8Ki",
    },
    "limits.maxHeaderBytes",
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
    {
      name: "podgate.io/header-timeout",
      description: "A client slower than this to send its headers gets 408.",
      example: "5s",
    },
    "limits.headerReadTimeoutMs",
  ),
  durationRow(
    {
      name: "podgate.io/request-timeout",
      description: "A client slower than this to send its whole request gets 408.",
      example: "30s",
    },
    "limits.requestTimeoutMs",
  ),
  durationRow(
    {
      name: "podgate.io/upstream-timeout",
      description: "Waiting longer than this for the app's response headers answers 504.",
      example: "10s",
    },
    "upstream.responseTimeoutMs",
  ),
  durationRow(
    {
      name: "podgate.io/connect-timeout",
      description: "Connecting to the app longer than this answers 503.",
      example: "500ms",
    },
    "upstream.connectTimeoutMs",
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
  booleanRow(
    {
      name: "podgate.io/merge-slashes",
      description: "Merge repeated slashes in paths before rules match and before forwarding.",
      example: "true",
    },
    "paths.mergeSlashes",
  ),
  booleanRow(
    {
      name: "podgate.io/access-log",
      description: "One JSON line per request (the audit log zones require).",
      example: "true",
    },
    "log.accessLog",
  ),
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
  resourceRow({ name: "podgate.io/cpu-request", description: "The sidecar's CPU request.", example: "100m" }),
  resourceRow({ name: "podgate.io/cpu-limit", description: "The sidecar's CPU limit.", example: "500m" }),
  resourceRow({
    name: "podgate.io/memory-request",
    description: "The sidecar's memory request.",
    example: "64Mi",
  }),
  resourceRow({
    name: "podgate.io/memory-limit",
    description: "The sidecar's memory limit.",
    example: "256Mi",
  }),
];

/**
 * The row behind a config path: the row that sets exactly this path, else the row that sets an
 * object containing it (`policies.lockout.maxFailures` → podgate.io/lockout).
 */
export function annotationForConfigPath(path: string): Annotation<unknown> | undefined {
  const exact = ANNOTATIONS.find((row) => row.configPath === path);
  if (exact !== undefined) return exact;
  return ANNOTATIONS.filter(
    (row) => row.configPath !== undefined && path.startsWith(`${row.configPath}.`),
  ).sort((a, b) => (b.configPath?.length ?? 0) - (a.configPath?.length ?? 0))[0];
}
