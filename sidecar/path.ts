/**
 * The one path normalizer that every path-based rule shares. It decides the canonical path once:
 * rules match the decoded `path`, and the app receives exactly `forward` (the same path, encoded
 * canonically, plus the raw query). What cannot be made canonical is rejected, never guessed at.
 *
 * Why not let the proxy library do it: http-proxy-3 re-parses `req.url` with the WHATWG URL parser,
 * which resolves dot segments, turns `\` into `/` and drops fragments *after* our rules ran, so the
 * app could receive another path than the one that was authorized.
 */

/** A canonical request target. */
export interface CanonicalPath {
  /** Decoded path that rules match, e.g. `/files/a b`. */
  path: string;
  /** What is sent to the app: the canonically encoded path plus the query as received, e.g. `/files/a%20b?x=1`. */
  forward: string;
}

/** Why a request target was rejected; the message is safe to show a client. */
export interface PathRejection {
  rejected: string;
}

/** Options of the normalizer. */
export interface PathOptions {
  /** Merge repeated slashes (`/a//b` becomes `/a/b`). Default false: empty segments are kept. */
  mergeSlashes: boolean;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const HASH = 0x23;
const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Normalizes a request target (`req.url`).
 * @example normalizePath("/a/%7Euser?x=1", { mergeSlashes: false }) // { path: "/a/~user", forward: "/a/~user?x=1" }
 * @example normalizePath("/a/%2e%2e/admin", { mergeSlashes: false }) // { rejected: "dot segment ..." }
 */
export function normalizePath(target: string, options: PathOptions): CanonicalPath | PathRejection {
  if (target.charCodeAt(0) !== SLASH) {
    return {
      rejected: "the request target must be a path starting with / (absolute-form and * are not accepted)",
    };
  }
  const queryAt = target.indexOf("?");
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  let slowPath = false;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === PERCENT) slowPath = true;
    else if (c === BACKSLASH) return { rejected: "a backslash is not allowed in the path" };
    else if (c === HASH) return { rejected: "a fragment (#) is not allowed in the request target" };
    else if (c <= 0x20 || c >= 0x7f)
      return { rejected: "control characters, spaces and raw non-ASCII are not allowed" };
    else if (c === SLASH) {
      const next = rawPath.charCodeAt(i + 1);
      if (next === SLASH || next === DOT) slowPath = true;
    }
  }
  if (queryAt !== -1 && target.indexOf("#", queryAt) !== -1) {
    return { rejected: "a fragment (#) is not allowed in the request target" };
  }
  if (!slowPath) return { path: rawPath, forward: target };
  return canonicalize(rawPath, queryAt === -1 ? "" : target.slice(queryAt), options);
}

function canonicalize(rawPath: string, query: string, options: PathOptions): CanonicalPath | PathRejection {
  const rawSegments = rawPath.split("/");
  const decoded: string[] = [];
  const encoded: string[] = [];
  for (let i = 1; i < rawSegments.length; i++) {
    const segment = decodeSegment(rawSegments[i] ?? "");
    if (typeof segment !== "string") return segment;
    if (segment === "." || segment === ".." || segment.startsWith("..;") || segment.startsWith(".;")) {
      return { rejected: `dot segment ${JSON.stringify(segment)} is not allowed in the path` };
    }
    const isLast = i === rawSegments.length - 1;
    if (segment === "" && options.mergeSlashes && !isLast) continue;
    decoded.push(segment);
    encoded.push(encodeSegment(segment));
  }
  return { path: `/${decoded.join("/")}`, forward: `/${encoded.join("/")}${query}` };
}

/** Decodes one segment's percent-escapes once; rejects encoded `/`, `\`, NUL and control characters. */
function decodeSegment(segment: string): string | PathRejection {
  if (!segment.includes("%")) return segment;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c !== PERCENT) {
      bytes.push(c);
      continue;
    }
    const hex = segment.slice(i + 1, i + 3);
    if (!HEX_PAIR.test(hex)) return { rejected: "invalid percent-encoding in the path" };
    const byte = Number.parseInt(hex, 16);
    if (byte === SLASH) return { rejected: "an encoded slash (%2F) is not allowed in the path" };
    if (byte === BACKSLASH) return { rejected: "an encoded backslash (%5C) is not allowed in the path" };
    if (byte < 0x20 || byte === 0x7f)
      return { rejected: "an encoded NUL or control character is not allowed" };
    bytes.push(byte);
    i += 2;
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return { rejected: "the decoded path is not valid UTF-8" };
  }
}

/** Encodes a decoded segment canonically: everything outside RFC 3986 `pchar` is percent-encoded. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(3A|40|24|26|2B|2C|3B|3D)/g, (match) =>
    String.fromCharCode(Number.parseInt(match.slice(1), 16)),
  );
}
