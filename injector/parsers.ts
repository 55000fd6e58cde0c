/**
 * Parsers for annotation values. Each returns the parsed value, or `INVALID` (optionally with a
 * detail) so the caller can build one message shape for every annotation. Pure functions.
 */
import { ROUTE_METHODS, type RouteConfig, routePatternProblem } from "../sidecar/config.ts";

/** A failed parse, with an optional detail naming what exactly is wrong. */
export interface Invalid {
  invalid: true;
  detail?: string;
}

/** A parser's result: the value, or why it failed. */
export type ParseResult<T> = T | Invalid;

/** Builds an Invalid result. */
export function invalid(detail?: string): Invalid {
  return detail === undefined ? { invalid: true } : { invalid: true, detail };
}

/** Whether a parse result is a failure. */
export function isInvalid<T>(result: ParseResult<T>): result is Invalid {
  return typeof result === "object" && result !== null && (result as Partial<Invalid>).invalid === true;
}

/** `true` or `false`, exactly. */
export function parseBoolean(raw: string): ParseResult<boolean> {
  if (raw === "true") return true;
  if (raw === "false") return false;
  return invalid();
}

/** A positive decimal integer. */
export function parsePositiveInt(raw: string): ParseResult<number> {
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) return invalid();
  return Number(raw);
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** A byte size in Kubernetes quantity style: `1048576`, `512Ki`, `1Mi`, `10M`. */
export function parseSize(raw: string): ParseResult<number> {
  const match = /^([0-9]{1,12})(Ki|Mi|Gi|k|M|G)?$/.exec(raw);
  if (!match) return invalid();
  const bytes = Number(match[1]) * (SIZE_UNITS[match[2] ?? ""] ?? 1);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) return invalid("it must be at least 1 byte");
  return bytes;
}

/** Writes a byte count the way people write it: 1048576 → "1Mi", 1500 → "1500". */
export function formatSize(bytes: number): string {
  for (const unit of ["Gi", "Mi", "Ki"]) {
    const factor = SIZE_UNITS[unit] ?? 1;
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration with a unit: `500ms`, `30s`, `5m`, `1h`; `0s` only where zero is allowed. */
export function parseDuration(raw: string, options: { allowZero?: boolean } = {}): ParseResult<number> {
  const match = /^([0-9]{1,9})(ms|s|m|h)$/.exec(raw);
  if (!match) return invalid();
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? "ms"] ?? 1);
  if (ms === 0 && options.allowZero !== true) return invalid("it must be longer than zero");
  return ms;
}

/** Writes milliseconds as the largest whole unit: 30000 → "30s". */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"]) {
    const factor = DURATION_UNITS[unit] ?? 1;
    if (ms !== 0 && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

/** One of a fixed list of words. */
export function parseOneOf<const T extends readonly string[]>(
  values: T,
): (raw: string) => ParseResult<T[number]> {
  return function parseWord(raw) {
    return (values as readonly string[]).includes(raw) ? (raw as T[number]) : invalid();
  };
}

/** An IANA service name as Kubernetes port names use: 1-15 of a-z, 0-9, '-', with a letter. */
export function isPortName(text: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(text) && /[a-z]/.test(text) && !text.includes("--");
}

/** A container port: a number from 1 to 65535 or a port name. */
export function parsePortRef(raw: string): ParseResult<number | string> {
  if (/^[0-9]+$/.test(raw)) {
    const port = Number(raw);
    return port >= 1 && port <= 65535 ? port : invalid("port numbers run from 1 to 65535");
  }
  return isPortName(raw) ? raw : invalid();
}

/** An environment variable name (C identifier). */
export function parseEnvName(raw: string): ParseResult<string> {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw) ? raw : invalid();
}

/** A Kubernetes resource quantity such as `50m`, `0.5`, `64Mi`. */
export function parseQuantity(raw: string): ParseResult<string> {
  return /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(raw) ? raw : invalid();
}

/** A comma-separated list of CIDRs or addresses; the sidecar's schema checks each one. */
export function parseCidrList(raw: string): ParseResult<string[]> {
  const items = raw.split(",").map((item) => item.trim());
  if (items.some((item) => !/^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/.test(item))) return invalid();
  return items;
}

const METHODS: readonly string[] = ROUTE_METHODS;

/**
 * A route allowlist: entries `<path> [METHOD,...] [scopes=<scope>,...] [identities=<id>,...]`
 * separated by `;` or new lines, e.g. `/api/** GET,POST; /admin/** GET scopes=admin`. Without
 * methods, a route allows every method; scopes (all required, from the JWT) and identities (API key
 * id, JWT sub or certificate SAN) restrict who may use it.
 */
export function parseRoutes(raw: string): ParseResult<RouteConfig[]> {
  const entries = raw
    .split(/[;\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return invalid("it lists no routes");
  const routes: RouteConfig[] = [];
  for (const [index, entry] of entries.entries()) {
    const route = parseRoute(entry);
    if (typeof route === "string") return invalid(`route ${index + 1}: ${route}`);
    routes.push(route);
  }
  return routes;
}

function parseMethods(methodList: string): RouteConfig["methods"] | string {
  const methods = methodList.split(",");
  const unknown = methods.find((method) => !METHODS.includes(method));
  if (unknown !== undefined) return `${JSON.stringify(unknown)} is not one of ${METHODS.join(", ")}`;
  if (new Set(methods).size !== methods.length) return `${JSON.stringify(methodList)} repeats a method`;
  return methods as RouteConfig["methods"];
}

function parseNames(option: string, list: string): string[] | string {
  const names = list.split(",");
  if (names.includes("")) return `${option}= has an empty item`;
  if (new Set(names).size !== names.length) return `${option}= repeats an item`;
  return names;
}

function routeOption(route: RouteConfig, word: string, first: boolean): string | undefined {
  const option = /^(scopes|identities)=(.*)$/.exec(word);
  if (option === null) {
    if (!first)
      return `${JSON.stringify(word)} is neither a method list (which comes first) nor scopes= or identities=`;
    const methods = parseMethods(word);
    if (typeof methods === "string") return methods;
    route.methods = methods;
    return undefined;
  }
  const key = option[1] as "scopes" | "identities";
  if (route[key] !== undefined) return `${key}= is given twice`;
  const names = parseNames(key, option[2] ?? "");
  if (typeof names === "string") return names;
  route[key] = names;
  return undefined;
}

function parseRoute(entry: string): RouteConfig | string {
  const [path = "", ...words] = entry.split(/\s+/);
  if (!path.startsWith("/")) return `${JSON.stringify(path)} does not start with "/"`;
  const problem = routePatternProblem(path);
  if (problem !== undefined) return `${JSON.stringify(path)}: ${problem}`;
  const route: RouteConfig = { path, methods: ["*"] };
  for (const [index, word] of words.entries()) {
    const wrong = routeOption(route, word, index === 0);
    if (wrong !== undefined) return wrong;
  }
  return route;
}

/** Writes routes back in annotation syntax. */
export function formatRoutes(routes: readonly RouteConfig[]): string {
  return routes
    .map((route) => {
      const scopes = route.scopes === undefined ? "" : ` scopes=${route.scopes.join(",")}`;
      const identities = route.identities === undefined ? "" : ` identities=${route.identities.join(",")}`;
      return `${route.path} ${route.methods.join(",")}${scopes}${identities}`;
    })
    .join("; ");
}
