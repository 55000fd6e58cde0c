import ipaddr from "ipaddr.js";
import { ConfigInvalidError } from "./errors.ts";

/**
 * CIDR sets compiled once into 32-bit word masks, so matching an address is a few integer
 * comparisons per rule. IPv4-mapped IPv6 (`::ffff:10.0.0.1`, `::ffff:a00:1`, RFC 4291 §2.5.5.2) is
 * IPv4 on both sides: in rules and in addresses. Non-canonical IPv4 forms (`127.1`, `0x7f.0.0.1`)
 * mean what ipaddr.js says they mean, as in the config check and the client-address resolver.
 */

/** A parsed address: one unsigned 32-bit word for IPv4, four for IPv6. IPv4-mapped IPv6 is IPv4. */
export interface ParsedAddress {
  readonly family: 4 | 6;
  readonly words: readonly number[];
}

/** A compiled set of CIDRs. */
export interface CidrSet {
  /** Number of compiled ranges (an IPv6 range that covers all IPv4-mapped addresses counts twice). */
  readonly size: number;
  /** True when `address` is in one of the ranges. */
  has(address: ParsedAddress): boolean;
}

interface Range {
  /** The network's words, already masked, as signed 32-bit integers (what `&` yields). */
  readonly network: readonly number[];
  readonly masks: readonly number[];
}

/** `::ffff:0:0`, the start of the IPv4-mapped block. */
const MAPPED_BLOCK = ipaddr.parse("::ffff:0:0");

/**
 * Compiles CIDRs (`10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104`) and bare addresses (a /32 or
 * /128) into a set. An IPv6 range that contains the whole IPv4-mapped block (`::/0`, `::ffff:0:0/96`)
 * also contains every IPv4 address, since a dual-stack socket reports IPv4 clients in that block.
 * Throws ConfigInvalidError, naming `path[i]`, on an entry that does not parse.
 * @example cidrSet(["10.0.0.0/8", "fd00::/8"]).has(parseAddress("::ffff:10.1.2.3") as ParsedAddress) // true
 */
export function cidrSet(cidrs: readonly string[], path = "cidrs"): CidrSet {
  const v4: Range[] = [];
  const v6: Range[] = [];
  const problems: string[] = [];
  cidrs.forEach((cidr, i) => {
    const parsed = parseCidr(cidr);
    if (parsed === undefined) {
      problems.push(
        `${path}[${i}]: expected a CIDR such as 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(cidr)}`,
      );
      return;
    }
    const [address, bits] = parsed;
    if (address.kind() === "ipv4") {
      v4.push(range(wordsOf(address), bits));
      return;
    }
    v6.push(range(wordsOf(address), bits));
    if (bits <= 96 && MAPPED_BLOCK.match(address, bits)) v4.push(range([0], 0));
  });
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return {
    size: v4.length + v6.length,
    has: function inCidrSet(address) {
      return matchesAny(address.family === 4 ? v4 : v6, address.words);
    },
  };
}

function matchesAny(ranges: readonly Range[], words: readonly number[]): boolean {
  for (const { network, masks } of ranges) {
    let inside = true;
    for (let w = 0; w < network.length && inside; w++) {
      inside = ((words[w] as number) & (masks[w] as number)) === network[w];
    }
    if (inside) return true;
  }
  return false;
}

/** Parses a rule: a CIDR or a bare address; IPv4-mapped IPv6 ranges of /96 or longer become IPv4. */
function parseCidr(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  try {
    if (!cidr.includes("/")) {
      const address = ipaddr.process(cidr);
      return [address, address.kind() === "ipv4" ? 32 : 128];
    }
    const [address, bits] = ipaddr.parseCIDR(cidr);
    if (address.kind() === "ipv6" && bits >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [address, bits];
  } catch {
    return undefined;
  }
}

function range(words: readonly number[], bits: number): Range {
  const masks = words.map((_, w) => wordMask(bits - 32 * w));
  return { network: words.map((word, w) => word & (masks[w] as number)), masks };
}

/** The mask of one 32-bit word that has `bits` prefix bits (clamped to 0..32). */
function wordMask(bits: number): number {
  if (bits <= 0) return 0;
  return bits >= 32 ? -1 : -1 << (32 - bits);
}

function wordsOf(address: ipaddr.IPv4 | ipaddr.IPv6): number[] {
  if (address.kind() === "ipv4") {
    const [a = 0, b = 0, c = 0, d = 0] = (address as ipaddr.IPv4).octets;
    return [((a << 24) | (b << 16) | (c << 8) | d) >>> 0];
  }
  const parts = (address as ipaddr.IPv6).parts;
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push((((parts[i] ?? 0) << 16) | (parts[i + 1] ?? 0)) >>> 0);
  return words;
}

/**
 * Parses an address once, for any number of CidrSet lookups. Plain IPv4 and IPv6 (with `::` and a
 * trailing dotted quad) take a fast path; other forms (zone ids, `127.1`) go to ipaddr.js.
 * Returns undefined when the text is not an address.
 * @example parseAddress("::ffff:192.0.2.1") // { family: 4, words: [3221225985] }
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = dottedQuad(text);
  if (v4 !== undefined) return { family: 4, words: [v4] };
  const groups = text.includes(":") ? ipv6Groups(text) : undefined;
  if (groups !== undefined) return fromGroups(groups);
  try {
    const address = ipaddr.process(text);
    return { family: address.kind() === "ipv4" ? 4 : 6, words: wordsOf(address) };
  } catch {
    return undefined;
  }
}

/** Eight 16-bit groups as an address; `::ffff:0:0/96` is IPv4 (RFC 4291 §2.5.5.2). */
function fromGroups(groups: readonly number[]): ParsedAddress {
  const g = (i: number) => groups[i] as number;
  if (g(0) === 0 && g(1) === 0 && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0xffff) {
    return { family: 4, words: [((g(6) << 16) | g(7)) >>> 0] };
  }
  return {
    family: 6,
    words: [0, 2, 4, 6].map((i) => ((g(i) << 16) | g(i + 1)) >>> 0),
  };
}

/** The eight groups of a plain IPv6 address, or undefined (then ipaddr.js decides). */
function ipv6Groups(text: string): number[] | undefined {
  // ipaddr.js, and so the resolver and the rules, reads the deprecated `::a.b.c.d` as IPv4-mapped.
  const compatible = text.startsWith("::") ? dottedQuad(text.slice(2)) : undefined;
  if (compatible !== undefined) return [0, 0, 0, 0, 0, 0xffff, compatible >>> 16, compatible & 0xffff];
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  const head: number[] = [];
  const tail: number[] = [];
  if (!hexGroups(halves[0] as string, !compressed, head)) return undefined;
  if (compressed && !hexGroups(halves[1] as string, true, tail)) return undefined;
  if (!compressed) return head.length === 8 ? head : undefined;
  const zeros = 8 - head.length - tail.length;
  if (zeros < 1) return undefined;
  return [...head, ...new Array<number>(zeros).fill(0), ...tail];
}

const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** Appends the groups of one side of `::`; a dotted quad may end the address (two groups). */
function hexGroups(part: string, quadLast: boolean, into: number[]): boolean {
  if (part === "") return true;
  const pieces = part.split(":");
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as string;
    if (HEX_GROUP.test(piece)) {
      into.push(Number.parseInt(piece, 16));
      continue;
    }
    const quad = quadLast && i === pieces.length - 1 ? dottedQuad(piece) : undefined;
    if (quad === undefined) return false;
    into.push(quad >>> 16, quad & 0xffff);
  }
  return true;
}

/** Canonical `a.b.c.d` (decimal, no leading zeros) as an unsigned word; anything else is undefined. */
function dottedQuad(text: string): number | undefined {
  let word = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 && digits > 0 && dots < 3) {
      word = word * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57 && !(digits === 1 && part === 0)) {
      part = part * 10 + (code - 48);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return dots === 3 && digits > 0 ? word * 256 + part : undefined;
}
