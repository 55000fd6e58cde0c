import { createHash } from "node:crypto";
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  type WriteStream,
} from "node:fs";
import path from "node:path";
import type { SidecarConfig } from "./config.ts";
import type { Redactor } from "./redact.ts";
import { type ExchangeObserver, type ObservedExchange, splitDecision } from "./telemetry/observer.ts";

/**
 * The audit log: one JSON line per request with who (identity id and source, never a credential),
 * from where (the verified client address), what (method, route, redacted path), the status, the
 * decision and the policy that made it, the request id and the hash of the effective config.
 *
 * Records are hash-chained: a record's `hash` is the SHA-256 (hex) of its line up to, not
 * including, `,"hash":"…"}`, and `prev` is the previous record's `hash` (64 zeros for the first).
 * Editing, deleting or reordering records breaks the chain at the first affected line; see
 * `verifyAuditChain` and `podgate audit verify`. Removing records at the end of the file is not
 * detectable from the file alone: ship it off the node.
 *
 * Lines go to a write stream, which buffers and writes asynchronously: the request path never waits.
 */

/** `prev` of the first record of a chain. */
export const GENESIS = "0".repeat(64);

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

/** SHA-256 of the effective config JSON, computed once: which rules were in force. */
export function policyHash(config: SidecarConfig): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex");
}

/** Options of auditLog. */
export interface AuditOptions {
  config: SidecarConfig;
  redact: Redactor;
  /** Default: `config.audit.file` (or fd 2 for `stderr`). */
  stream?: NodeJS.WritableStream;
  /** Clock, for tests; default Date.now. */
  now?: () => number;
}

/** The audit observer and how to flush and close it. */
export interface AuditLog {
  readonly observer: ExchangeObserver;
  /** Resolves when everything written so far has been handed to the OS; closes a file it opened. */
  close(): Promise<void>;
}

/** Creates the audit log; continues the chain of an existing file. */
export function auditLog(options: AuditOptions): AuditLog {
  const { config, redact } = options;
  const file = config.audit.file;
  const owned = options.stream === undefined && file !== "stderr";
  const stream = options.stream ?? (file === "stderr" ? process.stderr : openAuditFile(file));
  const routes = config.routes;
  const hash = policyHash(config);
  const now = options.now ?? Date.now;
  let prev = options.stream === undefined && owned ? lastHash(file) : GENESIS;

  const observer: ExchangeObserver = {
    onRequestEnd(exchange: ObservedExchange, status: number) {
      const { outcome, policy } = splitDecision(exchange.decision);
      const identity = exchange.identity;
      const body = JSON.stringify({
        time: new Date(now()).toISOString(),
        requestId: exchange.requestId,
        identity: identity === undefined ? null : { id: redact(identity.id), source: identity.source },
        client: exchange.clientAddress,
        method: exchange.method,
        route: routes?.[exchange.routeIndex]?.path ?? null,
        path: redact(exchange.path),
        status,
        decision: outcome,
        policy,
        policyHash: hash,
        prev,
      });
      const head = body.slice(0, -1);
      prev = createHash("sha256").update(head).digest("hex");
      stream.write(`${head},"hash":"${prev}"}\n`);
    },
  };
  return {
    observer,
    close: () =>
      new Promise<void>((resolve) => {
        if (owned) (stream as WriteStream).end(resolve);
        else stream.write("", () => resolve());
      }),
  };
}

function openAuditFile(file: string): WriteStream {
  mkdirSync(path.dirname(file), { recursive: true });
  return createWriteStream(file, { flags: "a", mode: 0o600 });
}

/** The `hash` of the last record in an existing file, so a restart continues the chain. */
function lastHash(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return GENESIS;
  }
  if (size === 0) return GENESIS;
  const length = Math.min(size, 64 * 1024);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const lines = buffer.toString("utf8").split("\n").filter(Boolean);
  return HASH_SUFFIX.exec(lines.at(-1) ?? "")?.[1] ?? GENESIS;
}

/** The result of checking a chain: the first broken line (1-based) and why, or ok. */
export type ChainCheck =
  | { ok: true; records: number; last: string }
  | { ok: false; line: number; reason: string };

/**
 * Checks an audit chain: every line's hash matches its content and every `prev` matches the
 * line before (or `startPrev`, 64 zeros by default, for the first).
 */
export function verifyAuditChain(text: string, startPrev: string = GENESIS): ChainCheck {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let prev = startPrev;
  for (let i = 0; i < lines.length; i++) {
    const problem = lineProblem(lines[i] ?? "", prev);
    if (typeof problem === "string") return { ok: false, line: i + 1, reason: problem };
    prev = problem.hash;
  }
  return { ok: true, records: lines.length, last: prev };
}

function lineProblem(line: string, prev: string): string | { hash: string } {
  const match = HASH_SUFFIX.exec(line);
  if (match === null) return "no hash at the end of the line";
  const head = line.slice(0, match.index);
  let record: { prev?: unknown };
  try {
    record = JSON.parse(line) as { prev?: unknown };
  } catch {
    return "not valid JSON";
  }
  const actual = createHash("sha256").update(head).digest("hex");
  if (actual !== match[1]) return "the record was modified (its hash does not match its content)";
  if (record.prev !== prev) {
    return "the chain is broken (prev is not the hash of the line before: a record was removed or moved)";
  }
  return { hash: actual };
}
