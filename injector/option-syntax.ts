/**
 * The small grammar the policy annotations share: entries separated by `;` (or by `,` before a new
 * count), each a head word followed by `key=value` options and bare flags, and comma lists inside
 * option values. Pure functions; errors come back as sentences for the parser's detail.
 */
import { ROUTE_METHODS, routePatternProblem } from "../sidecar/config.ts";
import { formatDuration, isInvalid, parseDuration } from "./parsers.ts";

/** Splits entries at `;` and at a `,` followed by a count (`10/s, 1000/h`), so option lists keep their commas. */
export function splitEntries(raw: string): string[] {
  return raw
    .split(/;|\n|,(?=\s*[0-9]+\/)/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/** One entry: its head (first word), its `key=value` options and its bare flags. */
export interface EntryWords {
  head: string;
  options: Map<string, string>;
  flags: string[];
}

/** Splits an entry into words; a problem sentence when an option repeats or is not allowed. */
export function entryWords(
  entry: string,
  allowed: { options: string[]; flags?: string[] },
): EntryWords | string {
  const [head = "", ...rest] = entry.split(/\s+/);
  const options = new Map<string, string>();
  const flags: string[] = [];
  for (const word of rest) {
    const equals = word.indexOf("=");
    const key = equals < 0 ? word : word.slice(0, equals);
    if (equals < 0 && (allowed.flags ?? []).includes(word)) flags.push(word);
    else if (equals > 0 && allowed.options.includes(key)) {
      if (options.has(key)) return `${key}= is given twice`;
      options.set(key, word.slice(equals + 1));
    } else return unknownWordProblem(word, allowed);
  }
  return { head, options, flags };
}

function unknownWordProblem(word: string, allowed: { options: string[]; flags?: string[] }): string {
  const known = [...allowed.options.map((option) => `${option}=`), ...(allowed.flags ?? [])];
  return `${JSON.stringify(word)} is not an option; options are ${known.join(", ")}`;
}

/** Prefixes a problem with its entry number when the value has several entries. */
export function entryProblem(count: number, index: number, problem: string): string {
  return count > 1 ? `entry ${index + 1}: ${problem}` : problem;
}

/** A positive whole number, as options write it. */
export function positiveCount(text: string, what: string): number | string {
  return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : `${what} must be a whole number of 1 or more`;
}

/** A counter key: `ip`, `identity`, `global` or `header:<name>` (the header name lowercased). */
export function counterKey(text: string): string | undefined {
  if (text === "ip" || text === "identity" || text === "global") return text;
  const header = /^header:([A-Za-z0-9-]+)$/.exec(text)?.[1];
  return header === undefined ? undefined : `header:${header.toLowerCase()}`;
}

/** The counter key as a name fragment (`header:x-tenant` → `header-x-tenant`). */
export function keyName(key: string): string {
  return key.replace(":", "-");
}

/** A comma list of route patterns, as in podgate.io/routes. */
export function routeList(text: string): string[] | string {
  const routes = text.split(",");
  for (const route of routes) {
    if (!route.startsWith("/")) return `route ${JSON.stringify(route)} does not start with "/"`;
    const problem = routePatternProblem(route);
    if (problem !== undefined) return `route ${JSON.stringify(route)}: ${problem}`;
  }
  return routes;
}

const METHODS = ROUTE_METHODS.filter((method) => method !== "*");

/** A comma list of HTTP methods from ROUTE_METHODS (without `*`). */
export function methodList(text: string): string[] | string {
  const methods = text.split(",");
  const unknown = methods.find((method) => !(METHODS as readonly string[]).includes(method));
  if (unknown !== undefined) return `${JSON.stringify(unknown)} is not one of ${METHODS.join(", ")}`;
  if (new Set(methods).size !== methods.length) return `${JSON.stringify(text)} repeats a method`;
  return methods;
}

/** The selector options (`routes=`, `methods=`) of a rate limit or quota entry, as config fields. */
export function selector(options: Map<string, string>): { routes?: string[]; methods?: string[] } | string {
  const out: { routes?: string[]; methods?: string[] } = {};
  const routes = options.get("routes");
  const methods = options.get("methods");
  if (routes !== undefined) {
    const parsed = routeList(routes);
    if (typeof parsed === "string") return parsed;
    out.routes = parsed;
  }
  if (methods !== undefined) {
    const parsed = methodList(methods);
    if (typeof parsed === "string") return parsed;
    out.methods = parsed;
  }
  return out;
}

/** Writes a selector back in option syntax. */
export function formatSelector(value: {
  routes?: string[] | undefined;
  methods?: string[] | undefined;
}): string {
  const routes = value.routes === undefined ? "" : ` routes=${value.routes.join(",")}`;
  const methods = value.methods === undefined ? "" : ` methods=${value.methods.join(",")}`;
  return `${routes}${methods}`;
}

/** A duration of whole seconds, as a number of seconds. */
export function wholeSeconds(text: string, options: { allowZero?: boolean } = {}): number | string {
  const ms = parseDuration(text, options);
  if (isInvalid(ms)) return `${JSON.stringify(text)} is not a duration such as 30s, 15m or 1h`;
  if (ms % 1000 !== 0) return `${JSON.stringify(text)} is not a whole number of seconds`;
  return ms / 1000;
}

/** Writes seconds as the largest whole unit: 1800 → "30m". */
export function formatSeconds(seconds: number): string {
  return seconds === 0 ? "0s" : formatDuration(seconds * 1000);
}

/** Gives numbered names to items that share a base name: ip, ip-2, ip-3. */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}
