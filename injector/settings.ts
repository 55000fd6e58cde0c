/**
 * The cluster settings: what the webhook and `podgate inject --settings FILE` are configured with.
 * Every field has a default, so `parseSettings({})` is a working setup. Validated once, every
 * problem reported, then deep-frozen. The injector may not import ajv, so this is a small
 * hand-written checker; zone floors are partial sidecar configs and the sidecar's schema checks them.
 */
import { parseConfig } from "../sidecar/config.ts";
import { SettingsInvalidError } from "./errors.ts";
import { checkFloorFields, type ZoneFloor } from "./zones.ts";

/** Sidecar container settings. */
export interface SidecarSettings {
  image: string;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  /** The non-root UID and GID the sidecar runs as. */
  user: number;
  /** The sidecar's data port in named-port and iptables capture. */
  dataPort: number;
  /** The sidecar's admin port (probes). */
  adminPort: number;
  /** The port the app is moved to in port-env capture. */
  appPort: number;
}

/** The cluster settings, defaulted and frozen. */
export interface ClusterSettings {
  /** The webhook's own namespace, never injected. */
  webhookNamespace: string;
  /** Native sidecars (init containers with restartPolicy Always, Kubernetes 1.29+): auto asks the API server. */
  nativeSidecars: "auto" | "always" | "never";
  /** Whether a pod may opt in with podgate.io/inject: "true" from a namespace that is not enabled. */
  allowPodOptIn: boolean;
  /** Whether iptables capture (an init container with NET_ADMIN) is allowed. */
  allowIptables: boolean;
  /** The image of the iptables init container; it must contain `sh` and `iptables`. */
  captureImage: string;
  sidecar: SidecarSettings;
  /** Zone name → its floor. `pci` and `hipaa` ship by default; settings may replace or add zones. */
  zones: Record<string, ZoneFloor>;
}

const IMAGE = "ghcr.io/podgate/podgate:0.1.0";
/** The sidecar image has no shell (distroless); iptables capture runs from images/capture.Dockerfile. */
const CAPTURE_IMAGE = "ghcr.io/podgate/podgate-capture:0.1.0";

/**
 * The floors shipped for the `pci` and `hipaa` zones. pci: mTLS, authentication, and a lockout of at
 * most 10 failures and at least 30 minutes (PCI DSS 4.0 requirement 8.3.4). hipaa: TLS and
 * authentication (45 CFR 164.312(d) and (e)); HIPAA names no lockout numbers, so its floor takes the
 * same failure count with a 15-minute lock. Both keep a hash-chained audit log (PCI DSS 10.2,
 * 45 CFR 164.312(b)); hipaa also redacts US social security numbers from every log stream.
 */
export const DEFAULT_ZONES: Record<string, ZoneFloor> = {
  pci: {
    allowOptOut: false,
    requireRoutes: true,
    tls: "mtls",
    authentication: "required",
    config: {
      limits: {
        maxBodyBytes: 1_048_576,
        maxHeaderBytes: 8192,
        maxHeaderCount: 50,
        headerReadTimeoutMs: 5000,
        requestTimeoutMs: 30_000,
      },
      upstream: { responseTimeoutMs: 15_000 },
      log: { accessLog: true },
      audit: { enabled: true },
      policies: { lockout: { maxFailures: 10, windowSeconds: 900, lockSeconds: 1800 } },
    },
  },
  hipaa: {
    allowOptOut: false,
    requireRoutes: true,
    tls: "tls",
    authentication: "required",
    config: {
      limits: {
        maxBodyBytes: 10_485_760,
        maxHeaderBytes: 16_384,
        maxHeaderCount: 100,
        headerReadTimeoutMs: 10_000,
        requestTimeoutMs: 60_000,
      },
      log: { accessLog: true },
      audit: { enabled: true },
      redact: { patterns: [{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }] },
      policies: { lockout: { maxFailures: 10, windowSeconds: 900, lockSeconds: 900 } },
    },
  },
};

/** The defaults of every field. */
export const DEFAULT_SETTINGS: ClusterSettings = {
  webhookNamespace: "podgate-system",
  nativeSidecars: "auto",
  allowPodOptIn: false,
  allowIptables: false,
  captureImage: CAPTURE_IMAGE,
  sidecar: {
    image: IMAGE,
    imagePullPolicy: "IfNotPresent",
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    user: 65532,
    dataPort: 15080,
    adminPort: 15901,
    appPort: 15081,
  },
  zones: DEFAULT_ZONES,
};

type Problems = string[];
type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(value: Json, known: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      problems.push(`${path}${key}: unknown key; expected one of ${known.join(", ")}`);
  }
}

function pick<T>(options: {
  input: Json;
  key: string;
  path: string;
  fallback: T;
  check: (value: unknown) => string | undefined;
  problems: Problems;
}): T {
  const { input, key, path, fallback, check, problems } = options;
  const value = input[key];
  if (value === undefined) return fallback;
  const expected = check(value);
  if (expected === undefined) return value as T;
  problems.push(`${path}${key}: expected ${expected}, got ${JSON.stringify(value)}`);
  return fallback;
}

const isString = (value: unknown) =>
  typeof value === "string" && value !== "" ? undefined : "a non-empty string";
const isBool = (value: unknown) => (typeof value === "boolean" ? undefined : "true or false");
const isPort = (value: unknown) =>
  Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535
    ? undefined
    : "a port from 1 to 65535";
const isUser = (value: unknown) =>
  Number.isInteger(value) && (value as number) >= 1 ? undefined : "a non-root UID";
const oneOf = (values: readonly string[]) => (value: unknown) =>
  values.includes(value as string) ? undefined : `one of ${values.join(", ")}`;
const isQuantities = (value: unknown) =>
  isObject(value) &&
  Object.values(value).every((v) => typeof v === "string" && /^[0-9]+(\.[0-9]+)?(m|k|M|G|Ki|Mi|Gi)?$/.test(v))
    ? undefined
    : "a map of resource names to quantities";

function parseSidecar(input: unknown, problems: Problems): SidecarSettings {
  const d = DEFAULT_SETTINGS.sidecar;
  if (input === undefined) return d;
  if (!isObject(input)) {
    problems.push("sidecar: expected an object");
    return d;
  }
  const keys = ["image", "imagePullPolicy", "resources", "user", "dataPort", "adminPort", "appPort"];
  checkKeys(input, keys, "sidecar.", problems);
  const at = <T>(key: string, fallback: T, check: (value: unknown) => string | undefined) =>
    pick({ input, key, path: "sidecar.", fallback, check, problems });
  const resources = isObject(input.resources) ? input.resources : {};
  checkKeys(resources, ["requests", "limits"], "sidecar.resources.", problems);
  const res = <T>(key: string, fallback: T) =>
    pick({ input: resources, key, path: "sidecar.resources.", fallback, check: isQuantities, problems });
  const settings: SidecarSettings = {
    image: at("image", d.image, isString),
    imagePullPolicy: at("imagePullPolicy", d.imagePullPolicy, oneOf(["Always", "IfNotPresent", "Never"])),
    resources: { requests: res("requests", d.resources.requests), limits: res("limits", d.resources.limits) },
    user: at("user", d.user, isUser),
    dataPort: at("dataPort", d.dataPort, isPort),
    adminPort: at("adminPort", d.adminPort, isPort),
    appPort: at("appPort", d.appPort, isPort),
  };
  if (new Set([settings.dataPort, settings.adminPort, settings.appPort]).size !== 3) {
    problems.push("sidecar: dataPort, adminPort and appPort must differ");
  }
  return settings;
}

function parseZone(name: string, input: unknown, problems: Problems): ZoneFloor {
  const path = `zones.${name}.`;
  const fallback: ZoneFloor = {
    allowOptOut: true,
    requireRoutes: false,
    tls: "none",
    authentication: "optional",
    config: {},
  };
  if (!isObject(input)) {
    problems.push(`zones.${name}: expected an object`);
    return fallback;
  }
  checkKeys(input, ["allowOptOut", "requireRoutes", "tls", "authentication", "config"], path, problems);
  const at = <T>(key: string, value: T, check: (value: unknown) => string | undefined) =>
    pick({ input, key, path, fallback: value, check, problems });
  const zone: ZoneFloor = {
    allowOptOut: at("allowOptOut", fallback.allowOptOut, isBool),
    requireRoutes: at("requireRoutes", fallback.requireRoutes, isBool),
    tls: at("tls", fallback.tls, oneOf(["none", "tls", "mtls"])),
    authentication: at("authentication", fallback.authentication, oneOf(["optional", "required"])),
    config: isObject(input.config) ? input.config : {},
  };
  try {
    parseConfig(zone.config);
  } catch (error) {
    const inner = (error as { problems?: string[] }).problems ?? [(error as Error).message];
    problems.push(...inner.map((problem) => `${path}config.${problem}`));
  }
  problems.push(...checkFloorFields(zone.config).map((problem) => `${path}config.${problem}`));
  return zone;
}

function parseZones(input: unknown, problems: Problems): Record<string, ZoneFloor> {
  if (input === undefined) return DEFAULT_ZONES;
  if (!isObject(input)) {
    problems.push("zones: expected a map of zone names to floors");
    return DEFAULT_ZONES;
  }
  const zones = { ...DEFAULT_ZONES };
  for (const [name, zone] of Object.entries(input)) zones[name] = parseZone(name, zone, problems);
  return zones;
}

/**
 * Validates cluster settings, fills in defaults and freezes the result. Zones given here replace the
 * shipped zone of the same name and add to the others. Throws SettingsInvalidError listing every problem.
 * @example parseSettings({ allowIptables: true }).sidecar.dataPort // 15080
 */
export function parseSettings(input: unknown): ClusterSettings {
  const problems: Problems = [];
  const source = input ?? {};
  if (!isObject(source)) throw new SettingsInvalidError(["(root): expected an object"]);
  const top = [
    "webhookNamespace",
    "nativeSidecars",
    "allowPodOptIn",
    "allowIptables",
    "captureImage",
    "sidecar",
    "zones",
  ];
  checkKeys(source, top, "", problems);
  const d = DEFAULT_SETTINGS;
  const at = <T>(key: string, fallback: T, check: (value: unknown) => string | undefined) =>
    pick({ input: source, key, path: "", fallback, check, problems });
  const settings: ClusterSettings = {
    webhookNamespace: at("webhookNamespace", d.webhookNamespace, isString),
    nativeSidecars: at("nativeSidecars", d.nativeSidecars, oneOf(["auto", "always", "never"])),
    allowPodOptIn: at("allowPodOptIn", d.allowPodOptIn, isBool),
    allowIptables: at("allowIptables", d.allowIptables, isBool),
    captureImage: at("captureImage", d.captureImage, isString),
    sidecar: parseSidecar(source.sidecar, problems),
    zones: parseZones(source.zones, problems),
  };
  if (problems.length > 0) throw new SettingsInvalidError(problems);
  return deepFreeze(structuredClone(settings));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
