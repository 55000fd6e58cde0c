import type { SpanContext } from "@opentelemetry/api";

/**
 * The W3C `traceparent` header (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Parsed for every request that carries
 * one, and written for every request that does not: from request-ids.ts's pool when the data plane
 * made the request id, else minted here (unsampledTraceparent) into one reused byte buffer as one
 * string.
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** Parses a version-00 `traceparent`; undefined when it is malformed or has all-zero ids. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, traceId = "", spanId = "", flags = "00"] = match;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

/** The `traceparent` value for a span context (only the sampled flag is kept). */
export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;
}

/** Where the ids sit in a version-00 value, and its length. */
const TRACE_ID_AT = 3;
const SPAN_ID_AT = 36;
const LENGTH = 55;
const minted = Buffer.from(`00-${ZERO_TRACE}-${ZERO_SPAN}-00`, "latin1");
/** Character codes of "0"-"9", "a"-"f". */
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

/**
 * A new trace's `traceparent` with the sampled flag off, for a request id the data plane did not
 * make (its own come with one, request-ids.ts). The trace id is the request id's hex digits when
 * it is a lower-case UUID, so the access log's request id finds the trace; otherwise, and for the
 * span id, the digits come from Math.random, as in the OpenTelemetry SDK's own id generator (a
 * second crypto.randomUUID per request cost more than the rest of the tracing observer).
 * @example unsampledTraceparent("0af76519-16cd-43dd-8448-eb211c80319c") // "00-0af7651916cd43dd8448eb211c80319c-<16 random hex>-00"
 */
export function unsampledTraceparent(requestId: string): string {
  writeTraceId(requestId);
  writeRandomHex(SPAN_ID_AT, 16);
  return minted.toString("latin1", 0, LENGTH);
}

/** A new trace id, chosen as for unsampledTraceparent: the request id's UUID digits, else random. */
export function newTraceId(requestId: string): string {
  writeTraceId(requestId);
  return minted.toString("latin1", TRACE_ID_AT, TRACE_ID_AT + 32);
}

function writeTraceId(requestId: string): void {
  if (!copyUuidDigits(requestId)) writeRandomHex(TRACE_ID_AT, 32);
}

/** A new random span id (16 hex digits, never all zeros). */
export function newSpanId(): string {
  writeRandomHex(SPAN_ID_AT, 16);
  return minted.toString("latin1", SPAN_ID_AT, SPAN_ID_AT + 16);
}

/** Copies a lower-case, not all-zero UUID's 32 hex digits into the trace id; false for any other id. */
function copyUuidDigits(id: string): boolean {
  if (id.length !== 36 || id[8] !== "-" || id[13] !== "-" || id[18] !== "-" || id[23] !== "-") return false;
  let at = TRACE_ID_AT;
  let anyNonZero = 0;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const code = id.charCodeAt(i);
    if (!isLowerHex(code)) return false;
    anyNonZero |= code ^ 0x30;
    minted[at++] = code;
  }
  return anyNonZero !== 0;
}

/** "0"-"9" or "a"-"f". */
function isLowerHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66);
}

/** Writes `digits` random hex digits (a multiple of 4) at `offset`; never all zeros (W3C ids must not be). */
function writeRandomHex(offset: number, digits: number): void {
  for (let at = offset; at < offset + digits; at += 4) {
    let bits = Math.floor(Math.random() * 0x10000);
    if (at === offset + digits - 4) bits ||= 1;
    minted[at] = HEX_DIGITS[bits >> 12] as number;
    minted[at + 1] = HEX_DIGITS[(bits >> 8) & 0xf] as number;
    minted[at + 2] = HEX_DIGITS[(bits >> 4) & 0xf] as number;
    minted[at + 3] = HEX_DIGITS[bits & 0xf] as number;
  }
}
