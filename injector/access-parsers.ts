/**
 * Parsers for the identity and access annotations: Secret references, JWT settings, CORS lists and
 * header edits. Each returns a value in the sidecar config's shape, or an Invalid result.
 */
import type { SidecarConfig } from "../sidecar/config.ts";
import { invalid, isInvalid, type ParseResult, parseDuration } from "./parsers.ts";

/** A Secret an annotation names, optionally with the key (file) to read from it. */
export interface SecretRef {
  secretName: string;
  key?: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** A Secret's name: a lowercase DNS subdomain of at most 253 characters. */
export function parseSecretName(raw: string): ParseResult<SecretRef> {
  if (raw.length > 253 || !DNS_SUBDOMAIN.test(raw)) return invalid();
  return { secretName: raw };
}

/** `<secret-name>[/<key>]`: a Secret and the key inside it to read. */
export function parseSecretKeyRef(raw: string): ParseResult<SecretRef> {
  const [name = "", key, ...rest] = raw.split("/");
  const secret = parseSecretName(name);
  if ("invalid" in secret || rest.length > 0) return invalid();
  if (key === undefined) return secret;
  if (!SECRET_KEY.test(key) || key === "." || key === ".." || key.length > 253) {
    return invalid(`${JSON.stringify(key)} is not a Secret key`);
  }
  return { secretName: name, key };
}

/** A comma list whose items each pass `check` (which returns a problem or undefined); no repeats. */
export function parseList(
  check: (item: string) => string | undefined,
  options: { lowercase?: boolean } = {},
): (raw: string) => ParseResult<string[]> {
  return function parseItems(raw) {
    const items = raw.split(",").map((item) => (options.lowercase ? item.trim().toLowerCase() : item.trim()));
    if (items.length === 0 || items.includes("")) return invalid("it has an empty item");
    for (const item of items) {
      const problem = check(item);
      if (problem !== undefined) return invalid(problem);
    }
    if (new Set(items).size !== items.length) return invalid("it repeats an item");
    return items;
  };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An HTTP header name (an RFC 9110 token), or a problem. */
export function headerNameProblem(name: string): string | undefined {
  return TOKEN.test(name) ? undefined : `${JSON.stringify(name)} is not a header name`;
}

/** A comma list of header names, lowercased. */
export const parseHeaderNames = parseList(headerNameProblem, { lowercase: true });

/** A comma list of words without spaces (JWT audiences). */
export const parseWords = parseList((item) =>
  /\s/.test(item) ? `${JSON.stringify(item)} contains a space` : undefined,
);

/** A comma list of HTTP method tokens, uppercase (CORS methods may name any method). */
export const parseMethodTokens = parseList((item) =>
  /^[A-Z]+$/.test(item) ? undefined : `${JSON.stringify(item)} is not an uppercase method name`,
);

/** A comma list of origins (`https://app.example[:port]`, no path), or `*`. */
export const parseOrigins = parseList((item) =>
  item === "*" || /^https?:\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$/.test(item)
    ? undefined
    : `${JSON.stringify(item)} is not an origin such as https://app.example.com (lowercase, no path)`,
);

/** A string without spaces (a JWT issuer). */
export function parseWord(raw: string): ParseResult<string> {
  return raw !== "" && !/\s/.test(raw) ? raw : invalid();
}

/** An http:// or https:// URL. */
export function parseHttpUrl(raw: string): ParseResult<string> {
  return /^https?:\/\/\S+$/.test(raw) && URL.canParse(raw) ? raw : invalid();
}

/** A duration of whole seconds, as seconds (`1h` → 3600). */
export function parseSeconds(options: { allowZero?: boolean } = {}): (raw: string) => ParseResult<number> {
  return function parseWholeSeconds(raw) {
    const ms = parseDuration(raw, options);
    if (isInvalid(ms)) return ms;
    return ms % 1000 === 0 ? ms / 1000 : invalid("it must be whole seconds");
  };
}

/** JWT algorithms the sidecar accepts. */
export const JWT_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
type Jwt = NonNullable<SidecarConfig["policies"]["jwt"]>;

function algorithmProblem(item: string): string | undefined {
  if ((JWT_ALGORITHMS as readonly string[]).includes(item)) return undefined;
  if (item.toLowerCase() === "none") return '"none" is never accepted';
  if (/^HS/i.test(item)) return `${item}: HMAC algorithms are never accepted (keys are public)`;
  return `${JSON.stringify(item)} is not one of ${JWT_ALGORITHMS.join(", ")}`;
}

/** A comma list of JWT algorithms; `none` and HMAC are refused with a reason. */
export const parseAlgorithms = parseList(algorithmProblem) as (raw: string) => ParseResult<Jwt["algorithms"]>;

/** `<claim>=<header>` pairs separated by `,`: verified claims forwarded to the app. */
export function parseClaimHeaders(raw: string): ParseResult<Record<string, string>> {
  const map: Record<string, string> = {};
  const headers = new Set<string>();
  for (const pair of raw.split(",").map((item) => item.trim())) {
    const match = /^([a-z][a-z0-9_.-]*)=([A-Za-z0-9-]+)$/.exec(pair);
    if (match === null) return invalid(`${JSON.stringify(pair)} is not <claim>=<header>`);
    const [, claim = "", header = ""] = match;
    if (Object.hasOwn(map, claim)) return invalid(`claim ${claim} is mapped twice`);
    if (headers.has(header.toLowerCase())) return invalid(`header ${header.toLowerCase()} is used twice`);
    map[claim] = header.toLowerCase();
    headers.add(header.toLowerCase());
  }
  return map;
}

/** Header edits for one direction, as `policies.headers.request` takes them. */
export interface HeaderEdits {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

/** Control characters other than tab cannot appear in a field value (RFC 9110 section 5.5). */
function hasControlCharacter(value: string): boolean {
  return [...value].some((char) => {
    const code = char.charCodeAt(0);
    return (code < 0x20 && code !== 0x09) || code === 0x7f;
  });
}

function applyEdit(edits: HeaderEdits, entry: string): string | undefined {
  const match = /^(set|add|remove)\s+(.+)$/.exec(entry);
  if (match === null) return `${JSON.stringify(entry)} does not start with set, add or remove`;
  const [, verb = "", rest = ""] = match;
  if (verb === "remove") {
    const names = parseHeaderNames(rest);
    if ("invalid" in names) return names.detail;
    edits.remove = [...(edits.remove ?? []), ...names];
    return undefined;
  }
  const equals = rest.indexOf("=");
  if (equals < 0) return `${JSON.stringify(entry)} is not ${verb} <name>=<value>`;
  const name = rest.slice(0, equals).trim().toLowerCase();
  const value = rest.slice(equals + 1).trim();
  const problem = headerNameProblem(name);
  if (problem !== undefined) return problem;
  if (hasControlCharacter(value)) return `the value of ${name} contains a control character`;
  const map = (verb === "set" ? edits.set : edits.add) ?? {};
  if (Object.hasOwn(map, name)) return `${verb} ${name} is given twice`;
  map[name] = value;
  if (verb === "set") edits.set = map;
  else edits.add = map;
  return undefined;
}

/**
 * Header edits: `set <name>=<value>`, `add <name>=<value>` and `remove <name>[,<name>…]` entries
 * separated by `;`. Values run to the next `;` and are trimmed.
 * @example parseHeaderEdits("set x-env=prod; remove x-debug") // { set: { "x-env": "prod" }, remove: ["x-debug"] }
 */
export function parseHeaderEdits(raw: string): ParseResult<HeaderEdits> {
  const entries = raw
    .split(";")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return invalid("it lists no edits");
  const edits: HeaderEdits = {};
  for (const entry of entries) {
    const problem = applyEdit(edits, entry);
    if (problem !== undefined) return invalid(problem);
  }
  return edits;
}
