/**
 * JSON values written straight into a byte buffer, for the access log's hot path. Building a line
 * as a string cost a cons string per piece, a flattening copy, a UTF-8 length scan and a final
 * encoding (about 2 µs a line and most of the access log's garbage); here each value is written
 * byte by byte into a reused Buffer. Every function takes the buffer and the position to write at,
 * and returns the position after what it wrote; the caller makes sure there is room (see
 * {@link jsonStringRoom}).
 */

/** The most bytes a JSON string of `text` can take: every UTF-16 unit escaped as `\u00XX`, plus the quotes. */
export function jsonStringRoom(text: string): number {
  return text.length * 6 + 2;
}

/**
 * Writes `text` as a JSON string. Printable ASCII other than `"` and `\` is copied byte by byte;
 * anything else (control characters, non-ASCII) takes JSON.stringify and UTF-8, so the escaping
 * is exactly JSON's.
 * @example writeJsonString(buffer, 0, 'a"b') // writes "a\"b" (with the quotes), returns 6
 */
export function writeJsonString(buffer: Buffer, position: number, text: string): number {
  let at = position;
  buffer[at++] = 0x22;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) {
      return position + buffer.write(JSON.stringify(text), position, "utf8");
    }
    buffer[at++] = code;
  }
  buffer[at++] = 0x22;
  return at;
}

/** Writes bytes that are already JSON (a constant part of a line). */
export function writeRaw(buffer: Buffer, position: number, bytes: Uint8Array): number {
  buffer.set(bytes, position);
  return position + bytes.length;
}

/**
 * Writes a non-negative integer (up to 2^53) in decimal, as JSON writes it. A value past 2^31 (the
 * log's epoch milliseconds) is split at 10^8 so every digit comes from 32-bit integer arithmetic:
 * the same digits from floating-point division took nearly four times as long.
 * @example writeUint(buffer, 0, 200) // "200", returns 3
 */
export function writeUint(buffer: Buffer, position: number, value: number): number {
  if (value <= INT32_MAX) return writeInt32(buffer, position, value);
  const high = Math.floor(value / 1e8);
  const at = writeInt32(buffer, position, high);
  writeDigits(buffer, at, value - high * 1e8, 8);
  return at + 8;
}

const INT32_MAX = 0x7fffffff;

/** Writes a value in [0, 2^31) without leading zeros. */
function writeInt32(buffer: Buffer, position: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = (rest / 10) | 0) digits++;
  writeDigits(buffer, position, value, digits);
  return position + digits;
}

/** Writes the last `digits` decimal digits of a value in [0, 2^31), zero-padded. */
function writeDigits(buffer: Buffer, position: number, value: number, digits: number): void {
  let rest = value | 0;
  for (let at = position + digits - 1; at >= position; at--) {
    const quotient = (rest / 10) | 0;
    buffer[at] = 0x30 + rest - quotient * 10;
    rest = quotient;
  }
}

/**
 * Writes a duration in milliseconds rounded to the microsecond, the way JSON.stringify writes
 * `Math.round(ms * 1000) / 1000` (no trailing zeros, no decimal point for whole milliseconds).
 * @example writeMilliseconds(buffer, 0, 1.25) // "1.25"
 */
export function writeMilliseconds(buffer: Buffer, position: number, milliseconds: number): number {
  const micros = Math.round(milliseconds * 1000);
  let at = writeUint(buffer, position, Math.floor(micros / 1000));
  let fraction = micros % 1000;
  if (fraction === 0) return at;
  buffer[at++] = 0x2e;
  buffer[at++] = 0x30 + Math.floor(fraction / 100);
  fraction %= 100;
  if (fraction === 0) return at;
  buffer[at++] = 0x30 + Math.floor(fraction / 10);
  fraction %= 10;
  if (fraction === 0) return at;
  buffer[at++] = 0x30 + fraction;
  return at;
}
