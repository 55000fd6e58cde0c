import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
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
