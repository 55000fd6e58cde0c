import type { HeaderEdits } from "./chain.ts";

/**
 * One pass over a request's raw headers: it drops hop-by-hop headers (RFC 9110 §7.6.1) and every
 * forwarding header a client could forge, notes what the gateway needs (Host, framing, the request
 * id, the incoming forwarding chain), and then appends the gateway's own forwarding headers.
 *
 * Strip first, then set: so `Connection: X-Forwarded-For` can remove only the client's copy, never ours.
 * http-proxy-3 does the opposite (it copies every header, appends to a client's X-Forwarded-For and
 * keeps a client's X-Forwarded-Host), which is why header handling is done here.
 */

const DROP = 1;
const CONNECTION = 2;
const TRANSFER_ENCODING = 3;
const HOST = 4;
const CONTENT_LENGTH = 5;
const FORWARDED_FOR = 6;
const FORWARDED_PROTO = 7;
const FORWARDED_HOST = 8;
const FORWARDED = 9;
const REQUEST_ID = 10;
const TRACEPARENT = 11;
const TRACESTATE = 12;

const ACTIONS: Record<string, number | undefined> = Object.assign(Object.create(null), {
  connection: CONNECTION,
  "keep-alive": DROP,
  "proxy-connection": DROP,
  "proxy-authorization": DROP,
  te: DROP,
  trailer: DROP,
  "transfer-encoding": TRANSFER_ENCODING,
  upgrade: DROP,
  expect: DROP,
  host: HOST,
  "content-length": CONTENT_LENGTH,
  "x-forwarded-for": FORWARDED_FOR,
  "x-forwarded-proto": FORWARDED_PROTO,
  "x-forwarded-host": FORWARDED_HOST,
  "x-forwarded-port": DROP,
  "x-real-ip": DROP,
  forwarded: FORWARDED,
  "x-request-id": REQUEST_ID,
  traceparent: TRACEPARENT,
  tracestate: TRACESTATE,
});

/** What the scan learned about a request's headers. */
export interface RequestHead {
  /** Headers to send upstream, as a flat [name, value, ...] list, before the gateway's own are added. */
  upstream: string[];
  host: string | undefined;
  hostCount: number;
  transferEncoding: string | undefined;
  contentLength: string | undefined;
  forwardedFor: string | undefined;
  forwardedProto: string | undefined;
  forwardedHost: string | undefined;
  forwarded: string | undefined;
  requestId: string | undefined;
  /** Header names the client's Connection header lists, beyond close/keep-alive/upgrade. */
  connectionNamed: string[] | undefined;
  /** The first W3C `traceparent` and `tracestate` (kept in `upstream` too: they are end-to-end). */
  traceparent: string | undefined;
  tracestate: string | undefined;
}

const join = (previous: string | undefined, value: string) =>
  previous === undefined ? value : `${previous}, ${value}`;

/** Scans `req.rawHeaders` once. */
export function scanRequestHeaders(raw: readonly string[]): RequestHead {
  const head: RequestHead = {
    upstream: [],
    host: undefined,
    hostCount: 0,
    transferEncoding: undefined,
    contentLength: undefined,
    forwardedFor: undefined,
    forwardedProto: undefined,
    forwardedHost: undefined,
    forwarded: undefined,
    requestId: undefined,
    connectionNamed: undefined,
    traceparent: undefined,
    tracestate: undefined,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const action = ACTIONS[name.toLowerCase()];
    if (action === undefined) {
      head.upstream.push(name, value);
      continue;
    }
    record(head, action, name, value);
  }
  if (head.connectionNamed !== undefined) removeNamed(head.upstream, head.connectionNamed);
  return head;
}

function record(head: RequestHead, action: number, name: string, value: string): void {
  switch (action) {
    case CONNECTION:
      head.connectionNamed = connectionTokens(value, head.connectionNamed);
      return;
    case TRANSFER_ENCODING:
      head.transferEncoding = join(head.transferEncoding, value);
      return;
    case HOST:
      head.hostCount++;
      head.host ??= value;
      head.upstream.push(name, value);
      return;
    case CONTENT_LENGTH:
      head.contentLength = value;
      head.upstream.push(name, value);
      return;
    case FORWARDED_FOR:
      head.forwardedFor = join(head.forwardedFor, value);
      return;
    case FORWARDED_PROTO:
      head.forwardedProto ??= value;
      return;
    case FORWARDED_HOST:
      head.forwardedHost ??= value;
      return;
    case FORWARDED:
      head.forwarded = join(head.forwarded, value);
      return;
    case REQUEST_ID:
      head.requestId = head.requestId === undefined ? value : "";
      return;
    case TRACEPARENT:
      head.traceparent ??= value;
      head.upstream.push(name, value);
      return;
    case TRACESTATE:
      head.tracestate ??= value;
      head.upstream.push(name, value);
      return;
  }
}

function connectionTokens(value: string, previous: string[] | undefined): string[] | undefined {
  let named = previous;
  for (const token of value.split(",")) {
    const lower = token.trim().toLowerCase();
    if (lower === "" || lower === "close" || lower === "keep-alive" || lower === "upgrade") continue;
    named ??= [];
    named.push(lower);
  }
  return named;
}

/** Removes, in place, the headers that Connection named (they are hop-by-hop too). */
function removeNamed(upstream: string[], named: readonly string[]): void {
  removeHeaders(
    upstream,
    named.filter((name) => name !== "host" && name !== "content-length"),
  );
}

/** Removes, in place, every header whose lower-case name is in `lowerNames`. */
export function removeHeaders(list: string[], lowerNames: readonly string[]): void {
  if (lowerNames.length === 0) return;
  let write = 0;
  for (let read = 0; read < list.length; read += 2) {
    const name = list[read] as string;
    if (lowerNames.includes(name.toLowerCase())) continue;
    list[write++] = name;
    list[write++] = list[read + 1] as string;
  }
  list.length = write;
}

/** A request id we keep: 1 to 128 characters of letters, digits and `._:-`. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Returns the client's x-request-id when it is a single valid value, else undefined. */
export function validRequestId(candidate: string | undefined): string | undefined {
  return candidate !== undefined && VALID_REQUEST_ID.test(candidate) ? candidate : undefined;
}

/** The gateway's view of the hop it received a request on. */
export interface ForwardingFacts {
  /** The socket peer, IPv4-mapped addresses unwrapped. */
  peer: string;
  /** True when the peer is a trusted proxy, whose forwarding headers are extended rather than replaced. */
  peerTrusted: boolean;
  proto: "http" | "https";
  requestId: string;
}

/** Appends X-Forwarded-For/-Proto/-Host, Forwarded (RFC 7239) and x-request-id to `head.upstream`. */
export function appendForwardingHeaders(head: RequestHead, facts: ForwardingFacts): void {
  const keep = facts.peerTrusted;
  const host = head.host ?? "";
  const out = head.upstream;
  out.push("x-forwarded-for", keep && head.forwardedFor ? `${head.forwardedFor}, ${facts.peer}` : facts.peer);
  out.push("x-forwarded-proto", keep && head.forwardedProto ? head.forwardedProto : facts.proto);
  out.push("x-forwarded-host", keep && head.forwardedHost ? head.forwardedHost : host);
  const element = `for=${forwardedNode(facts.peer)};host=${quoted(host)};proto=${facts.proto}`;
  out.push("forwarded", keep && head.forwarded ? `${head.forwarded}, ${element}` : element);
  out.push("x-request-id", facts.requestId);
}

/** RFC 7239 §6: IPv6 nodes are bracketed and quoted. */
function forwardedNode(address: string): string {
  return address.includes(":") ? `"[${address}]"` : address;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function quoted(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** Applies policy edits to a flat header list, in place: remove, then set (replace), then add. */
export function applyEdits(list: string[], edits: HeaderEdits): void {
  const replaced = edits.remove.map((name) => name.toLowerCase());
  for (let i = 0; i < edits.set.length; i += 2) replaced.push((edits.set[i] as string).toLowerCase());
  removeHeaders(list, replaced);
  list.push(...edits.set, ...edits.add);
}
