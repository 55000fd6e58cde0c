import { randomFillSync } from "node:crypto";

/**
 * Request ids for requests that arrive without one: random (version 4) UUIDs, made BATCH at a time
 * from one randomFillSync and written into one string, each handed out as a slice of it. Node's
 * crypto.randomUUID builds every id from 20 string pieces that the first reader must flatten; a
 * slice is one small object.
 *
 * Each id comes with the W3C `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header)
 * of a new, unsampled trace whose trace id is the id's 32 hex digits and whose parent id is 64 more
 * random bits, written beside it in the same string. A tracer takes it with {@link takeTraceparent}
 * instead of building one per request.
 */

/** Ids made at a time. */
const BATCH = 256;
/** Random bytes a slot needs: 16 for the UUID (and trace id), 8 for the parent (span) id. */
const RANDOM_BYTES = 24;
const UUID_TEMPLATE = "00000000-0000-4000-8000-000000000000";
const TRACEPARENT_TEMPLATE = `00-${"0".repeat(32)}-${"0".repeat(16)}-00`;
/** A slot: the UUID, then the traceparent. The dashes and fixed digits stay; refill writes the rest. */
const SLOT_TEMPLATE = `${UUID_TEMPLATE}${TRACEPARENT_TEMPLATE}`;
const UUID_LENGTH = UUID_TEMPLATE.length;
/** Where in a slot the two hex digits of each of the 16 UUID bytes go (around the dashes). */
const UUID_DIGITS_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** Where in a slot the traceparent's trace id and parent id start. */
const TRACE_ID_AT = UUID_LENGTH + 3;
const PARENT_ID_AT = TRACE_ID_AT + 33;

const random = Buffer.alloc(BATCH * RANDOM_BYTES);
const text = Buffer.from(SLOT_TEMPLATE.repeat(BATCH), "latin1");
const textView = new DataView(text.buffer, text.byteOffset, text.byteLength);
/** The two hex digits of each byte value, as a little-endian 16-bit value: one store a byte. */
const HEX_PAIRS = new Uint16Array(256);
const HEX_DIGITS = "0123456789abcdef";
for (let byte = 0; byte < 256; byte++) {
  HEX_PAIRS[byte] = HEX_DIGITS.charCodeAt(byte >> 4) | (HEX_DIGITS.charCodeAt(byte & 0x0f) << 8);
}

let batch = "";
let next = BATCH;
/** The id handed out last, while its traceparent has not been taken, and where its slot starts. */
let lastIssued: string | undefined;
let lastSlotAt = 0;

/**
 * A new random UUID (version 4, RFC 9562 §5.4), lower-case.
 * @example newRequestId() // "3f2c8a1e-9b4d-4c7a-8e21-5d6f7a8b9c0d"
 */
export function newRequestId(): string {
  if (next === BATCH) refill();
  lastSlotAt = next++ * SLOT_TEMPLATE.length;
  lastIssued = batch.slice(lastSlotAt, lastSlotAt + UUID_LENGTH);
  return lastIssued;
}

/**
 * The unsampled `traceparent` made with `requestId` when it is the id {@link newRequestId} returned
 * last, once; undefined for any other id (the caller builds one) and for a second call.
 * @example takeTraceparent(newRequestId()) // "00-3f2c8a1e9b4d4c7a8e215d6f7a8b9c0d-<16 hex>-00"
 */
export function takeTraceparent(requestId: string): string | undefined {
  if (requestId !== lastIssued) return undefined;
  lastIssued = undefined;
  // Sliced only when taken: with tracing off nothing asks, and the request allocates one string.
  return batch.slice(lastSlotAt + UUID_LENGTH, lastSlotAt + SLOT_TEMPLATE.length);
}

/** Writes the digits of the next BATCH slots from new random bytes. */
function refill(): void {
  randomFillSync(random);
  for (let slot = 0; slot < BATCH; slot++) writeSlot(slot);
  batch = text.toString("latin1");
  next = 0;
}

function writeSlot(slot: number): void {
  const from = slot * RANDOM_BYTES;
  const at = slot * SLOT_TEMPLATE.length;
  // Version 4 and the RFC 9562 variant (10xx), so the trace id carries them too.
  random[from + 6] = ((random[from + 6] as number) & 0x0f) | 0x40;
  random[from + 8] = ((random[from + 8] as number) & 0x3f) | 0x80;
  for (let i = 0; i < 16; i++) {
    const digits = HEX_PAIRS[random[from + i] as number] as number;
    textView.setUint16(at + (UUID_DIGITS_AT[i] as number), digits, true);
    textView.setUint16(at + TRACE_ID_AT + 2 * i, digits, true);
  }
  // A W3C parent id must not be all zeros (64 random bits are, once in 2^64).
  let any = 0;
  for (let i = 16; i < RANDOM_BYTES; i++) any |= random[from + i] as number;
  if (any === 0) random[from + 16] = 1;
  for (let i = 16; i < RANDOM_BYTES; i++) {
    textView.setUint16(
      at + PARENT_ID_AT + 2 * (i - 16),
      HEX_PAIRS[random[from + i] as number] as number,
      true,
    );
  }
}
