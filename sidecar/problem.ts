import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { HeaderEdits } from "./chain.ts";
import { type PodgateError, PROBLEM_TYPE_BASE } from "./errors.ts";

/**
 * The one place where gateway errors become responses: RFC 9457 `application/problem+json` with a
 * stable `type` per error code, the request id, and never a stack trace or an internal message.
 */

/** The JSON body of a problem response. */
export function problemBody(error: PodgateError, requestId: string | undefined): string {
  return JSON.stringify({
    type: PROBLEM_TYPE_BASE + error.slug,
    title: error.title,
    status: error.statusCode,
    detail: error.message,
    code: error.code,
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/** Options of sendProblem. */
export interface ProblemOptions {
  requestId: string | undefined;
  /** Extra response headers, e.g. `allow` on a 405. */
  headers?: Record<string, string> | undefined;
  /** Close the connection after this response (the request body was not read, or we are draining). */
  close?: boolean;
  /** Response header edits the policies asked for (RateLimit fields, CORS). */
  edits?: HeaderEdits | undefined;
}

/** Answers a request with a problem response. */
export function sendProblem(res: ServerResponse, error: PodgateError, options: ProblemOptions): number {
  const body = problemBody(error, options.requestId);
  const headers: Record<string, string | number> = {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...error.headers,
    ...options.headers,
  };
  if (options.requestId !== undefined) headers["x-request-id"] = options.requestId;
  if (options.close) headers.connection = "close";
  if (options.edits !== undefined) editHeaderObject(headers, options.edits);
  res.writeHead(error.statusCode, headers);
  res.end(body);
  return Buffer.byteLength(body);
}

/** Answers on a raw socket (parse errors, refused upgrades), then closes it. */
export function writeProblemToSocket(socket: Duplex, error: PodgateError, requestId?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = problemBody(error, requestId);
  const reason = STATUS_CODES[error.statusCode] ?? "Error";
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${reason}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Applies header edits to a response header object (lower-case names), in place. */
export function editHeaderObject(
  headers: Record<string, string | number | string[] | undefined>,
  edits: HeaderEdits,
): void {
  for (const name of edits.remove) delete headers[name.toLowerCase()];
  for (let i = 0; i < edits.set.length; i += 2)
    headers[(edits.set[i] as string).toLowerCase()] = edits.set[i + 1];
  for (let i = 0; i < edits.add.length; i += 2) {
    const name = (edits.add[i] as string).toLowerCase();
    const value = edits.add[i + 1] as string;
    const existing = headers[name];
    headers[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [String(existing)]), value];
  }
}

/**
 * Runs `callback` once the response has closed: now (on the next tick) when it already has, which
 * happens when the client left while an asynchronous policy was deciding.
 */
export function whenClosed(res: ServerResponse, callback: () => void): void {
  if (res.closed || res.destroyed) process.nextTick(callback);
  else res.once("close", callback);
}
