import { writeSync } from "node:fs";
import pino, { type Logger } from "pino";
import { jsonStringRoom, writeJsonString, writeMilliseconds, writeRaw, writeUint } from "./json-bytes.ts";

/** One access-log entry. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  /** Logged rounded to the microsecond. */
  durationMs: number;
  bytes: number;
  requestId: string;
  client: string;
  identity: string | undefined;
  decision: string;
}

/** Writes access-log lines. */
export interface AccessLogWriter {
  write(entry: AccessEntry): void;
  /** Writes the lines held for batching (at shutdown). */
  flush(): void;
}

/** The most a held line waits before it is written. */
const ACCESS_LOG_BATCH_MS = 250;

/** Held lines are written once they fill this many bytes: a write(2) per ~50 lines. */
const BATCH_BYTES = 16 * 1024;

/** Lines held while the destination accepts nothing (EAGAIN); more are dropped and counted. */
const MAX_HELD_BYTES = 1024 * 1024;

/** The bytes a line can need beyond its strings: keys, punctuation and four numbers. */
const LINE_FIXED_BYTES = 256;

/** What the writer needs of pino's destination: sonic-boom, or any stream. */
interface Destination {
  write(chunk: string): unknown;
  /** sonic-boom: the file descriptor it writes to, and whether it writes synchronously. */
  fd?: number;
  sync?: boolean;
  /** sonic-boom: bytes it may hold before writing; 0 or absent when it writes at once. */
  minLength?: number;
}

const NO_ACCESS_LOG: AccessLogWriter = { write: () => undefined, flush: () => undefined };

/**
 * The access log: one JSON line per request, in the same shape as the logger's own lines (level 30,
 * time, the logger's bindings, `msg: "access"`). Lines are encoded into a reused byte buffer
 * (json-bytes.ts) rather than built as strings, and held until BATCH_BYTES or ACCESS_LOG_BATCH_MS.
 *
 * When the logger writes synchronously to a file descriptor (sonic-boom with `sync: true`, as
 * `podgate sidecar` sets up stdout), held lines go to that descriptor with one write(2), on this
 * thread, so they never interleave with the logger's own lines. An asynchronous write instead
 * goes through libuv's thread pool and wakes two threads per batch: on a one-core sidecar that
 * cost more than encoding the lines. Any other destination gets the lines as strings, batched to
 * its `minLength`.
 * @example accessLogWriter(log).write({ method: "GET", path: "/", status: 200, ... })
 */
export function accessLogWriter(log: Logger): AccessLogWriter {
  if (!log.isLevelEnabled("info")) return NO_ACCESS_LOG;
  const stream = (log as unknown as Record<symbol, Destination | undefined>)[pino.symbols.streamSym];
  if (stream === undefined) {
    return {
      write: (entry) =>
        log.info({ msg: "access", ...entry, durationMs: Math.round(entry.durationMs * 1000) / 1000 }),
      flush: () => undefined,
    };
  }
  const encoder = lineEncoder(log.bindings());
  const output =
    stream.sync === true && typeof stream.fd === "number" && stream.fd >= 0 && !(stream.minLength ?? 0)
      ? descriptorOutput(stream.fd, log)
      : streamOutput(stream);
  return heldLines(encoder, output, log);
}

/** Encodes entries as pino-shaped JSON lines. */
interface LineEncoder {
  /** The most bytes this entry's line can take. */
  room(entry: AccessEntry): number;
  /** Writes the line at `position`; returns the position after its newline. */
  encode(buffer: Buffer, position: number, entry: AccessEntry): number;
}

function lineEncoder(bindings: Record<string, unknown>): LineEncoder {
  const bound = JSON.stringify(bindings).slice(1, -1);
  const part = (text: string) => Buffer.from(text, "utf8");
  const head = part(`{"level":30,"time":`);
  // The method, the status and the decision take few values: each is written with the keys around
  // it as one fragment, made once per value, so a line is eight copies and six values.
  const methodFragment = fragments((method: string) =>
    part(`${bound === "" ? "" : `,${bound}`},"msg":"access","method":${JSON.stringify(method)},"path":`),
  );
  const statusFragment = fragments((status: number) => part(`,"status":${status},"durationMs":`));
  const decisionFragment = fragments((decision: string) =>
    part(`,"decision":${JSON.stringify(decision)}}\n`),
  );
  const bytes = part(`,"bytes":`);
  const requestId = part(`,"requestId":`);
  const client = part(`,"client":`);
  const identity = part(`,"identity":`);
  const fixed = LINE_FIXED_BYTES + bound.length;
  return {
    room: (entry) =>
      fixed +
      jsonStringRoom(entry.method) +
      jsonStringRoom(entry.path) +
      jsonStringRoom(entry.requestId) +
      jsonStringRoom(entry.client) +
      (entry.identity === undefined ? 0 : jsonStringRoom(entry.identity)) +
      jsonStringRoom(entry.decision),
    encode(buffer, position, entry) {
      let at = writeUint(buffer, writeRaw(buffer, position, head), Date.now());
      at = writeJsonString(buffer, writeRaw(buffer, at, methodFragment(entry.method)), entry.path);
      at = writeMilliseconds(buffer, writeRaw(buffer, at, statusFragment(entry.status)), entry.durationMs);
      at = writeUint(buffer, writeRaw(buffer, at, bytes), entry.bytes);
      at = writeJsonString(buffer, writeRaw(buffer, at, requestId), entry.requestId);
      at = writeJsonString(buffer, writeRaw(buffer, at, client), entry.client);
      if (entry.identity !== undefined) {
        at = writeJsonString(buffer, writeRaw(buffer, at, identity), entry.identity);
      }
      return writeRaw(buffer, at, decisionFragment(entry.decision));
    },
  };
}

/** Fragments kept per value; a field with more values makes the rest per line. */
const MAX_FRAGMENTS = 64;

/** Makes a value's fragment once and keeps it (up to MAX_FRAGMENTS values). */
function fragments<Value>(make: (value: Value) => Buffer): (value: Value) => Buffer {
  const made = new Map<Value, Buffer>();
  return (value) => {
    let fragment = made.get(value);
    if (fragment === undefined) {
      fragment = make(value);
      if (made.size < MAX_FRAGMENTS) made.set(value, fragment);
    }
    return fragment;
  };
}

/** Where held lines go. */
interface LineOutput {
  /** Held lines are handed over once they reach this many bytes. */
  readonly batchBytes: number;
  /** Writes `length` bytes of whole lines; returns how many it could not write (kept for the next call). */
  write(bytes: Buffer, length: number): number;
}

/** Holds encoded lines until BATCH_BYTES (or the output's own size) or ACCESS_LOG_BATCH_MS. */
function heldLines(encoder: LineEncoder, output: LineOutput, log: Logger): AccessLogWriter {
  let buffer: Buffer = Buffer.allocUnsafe(4 * BATCH_BYTES);
  let length = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (length === 0) return;
    const left = output.write(buffer, length);
    if (left > 0) buffer.copyWithin(0, length - left, length);
    else if (dropped > 0) {
      log.warn({ dropped }, "access log: lines were dropped while the destination accepted no writes");
      dropped = 0;
    }
    length = left;
  };
  const onTimer = () => {
    timer = undefined;
    flush();
  };
  return {
    write(entry) {
      const room = encoder.room(entry);
      if (length + room > buffer.length) flush();
      if (length + room > buffer.length) {
        if (length + room > MAX_HELD_BYTES && length > 0) {
          dropped++;
          return;
        }
        buffer = grown(buffer, length, room);
      }
      length = encoder.encode(buffer, length, entry);
      if (length >= output.batchBytes) flush();
      if (length > 0 && timer === undefined) {
        timer = setTimeout(onTimer, ACCESS_LOG_BATCH_MS);
        timer.unref();
      }
    },
    flush,
  };
}

/** A larger buffer holding the first `length` bytes of `buffer` and room for `room` more. */
function grown(buffer: Buffer, length: number, room: number): Buffer {
  const larger = Buffer.allocUnsafe(Math.max(2 * buffer.length, length + room));
  buffer.copy(larger, 0, 0, length);
  return larger;
}

/**
 * Writes to a file descriptor with write(2). A descriptor that is non-blocking and full (EAGAIN)
 * keeps the rest for the next batch (possibly part of a line: a logger line written meanwhile can
 * then land inside it, the one case where lines mix); any other error drops the batch and is logged
 * once, as is the first write that succeeds again.
 */
function descriptorOutput(fd: number, log: Logger): LineOutput {
  let failing = false;
  return {
    batchBytes: BATCH_BYTES,
    write(bytes, length) {
      let written = 0;
      try {
        while (written < length) written += writeSync(fd, bytes, written, length - written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EAGAIN") return length - written;
        if (!failing) log.error({ err: error }, "access log: lines could not be written and were dropped");
        failing = true;
        return 0;
      }
      if (failing) log.warn("access log: writing again");
      failing = false;
      return 0;
    },
  };
}

/** Hands lines to a stream as strings, batched to the stream's own `minLength` (at once without one). */
function streamOutput(stream: Destination): LineOutput {
  return {
    batchBytes: stream.minLength ?? 0,
    write(bytes, length) {
      stream.write(bytes.toString("utf8", 0, length));
      return 0;
    },
  };
}
