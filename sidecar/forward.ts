import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { HeaderEdits } from "./chain.ts";
import type { SidecarConfig } from "./config.ts";
import {
  PodgateError,
  UpstreamResetError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "./errors.ts";
import { streamedBodyTooLarge } from "./policies/body-limit.ts";
import { editHeaderObject, whenClosed } from "./problem.ts";
import { Pool } from "./undici-pool.ts";

/**
 * Forwards a request to the app over a pool of keep-alive connections (undici `Pool.dispatch`) and
 * streams the response back with backpressure, never buffering a body.
 *
 * This replaces http-proxy-3's web pass, which cannot be made safe or fast by its options: with no
 * agent it opens a connection per request, it re-parses the path with the WHATWG URL parser (see
 * path.ts), it copies and re-merges header objects per request, and after an upstream reset
 * mid-body it ends the client response, so a truncated body looks complete. Here a failure before
 * the response starts becomes a problem response (503 / 504 / 502), and a failure after it aborts
 * the client connection instead.
 */

/** What the data plane hands the forwarder for one request. */
export interface OutboundRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Canonical path + query, sent exactly as is. */
  path: string;
  /** Flat [name, value, ...] list: already stripped of hop-by-hop headers, with forwarding headers set. */
  headers: string[];
  /** `none`: no body; `declared`: Content-Length framing; `chunked`: counted as it streams. */
  body: "none" | "declared" | "chunked";
  maxBodyBytes: number;
  requestId: string;
  /** Asks, when the response starts, whether it must carry `Connection: close` (draining). */
  closeConnection: () => boolean;
  /** Response header edits from the policies. */
  responseEdits: HeaderEdits | undefined;
  /** Answers with a gateway error when no response was started yet; returns the bytes it sent. */
  fail: (error: PodgateError) => number;
  /** Called with the bytes of response body sent, when the exchange ends. */
  done: (bytes: number) => void;
}

/** The forwarder: one pool of connections to the app. */
export interface Forwarder {
  forward(request: OutboundRequest): void;
  close(): Promise<void>;
}

/** Creates the forwarder for `config.upstream`. */
export function createForwarder(upstream: SidecarConfig["upstream"]): Forwarder {
  const pool = new Pool(upstream.url, {
    connections: upstream.maxConnections,
    pipelining: 1,
    // Close idle pooled connections before the app does (Node's default is 5 s), or a request
    // sent on a connection the app is closing fails with a reset.
    keepAliveTimeout: upstream.idleTimeoutMs,
    keepAliveMaxTimeout: upstream.idleTimeoutMs,
    headersTimeout: upstream.responseTimeoutMs,
    bodyTimeout: upstream.bodyIdleTimeoutMs,
    connect: { timeout: upstream.connectTimeoutMs },
    strictContentLength: true,
  });
  const timeouts = upstream;
  return {
    forward(request) {
      new Exchange(pool, request, timeouts).start();
    },
    async close() {
      await pool.close();
    },
  };
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
const HOP_BY_HOP_RESPONSE = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "trailer",
];

/** One request/response exchange with the app; the undici dispatch handler for it. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private attempt = 0;
  private bytes = 0;
  private finished = false;
  private readonly pool: Pool;
  private readonly request: OutboundRequest;
  private readonly timeouts: SidecarConfig["upstream"];

  constructor(pool: Pool, request: OutboundRequest, timeouts: SidecarConfig["upstream"]) {
    this.pool = pool;
    this.request = request;
    this.timeouts = timeouts;
  }

  start(): void {
    whenClosed(this.request.res, this.onClientClose);
    this.dispatch();
  }

  private dispatch(): void {
    const { method, path, headers, req, body, maxBodyBytes } = this.request;
    // undici streams async iterables as chunked bodies; its types list only Readable.
    const payload =
      body === "none"
        ? null
        : body === "declared"
          ? req
          : (countedBody(req, maxBodyBytes) as unknown as Readable);
    this.pool.dispatch({ method, path, headers, body: payload }, this);
  }

  private readonly onClientClose = (): void => {
    if (!this.finished) this.controller?.abort(new Error("client closed the connection"));
    this.request.done(this.bytes);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.request.res.destroyed) controller.abort(new Error("client closed the connection"));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    for (const name of HOP_BY_HOP_RESPONSE) delete headers[name];
    headers["x-request-id"] = this.request.requestId;
    if (this.request.responseEdits !== undefined) {
      editHeaderObject(headers as Record<string, string | string[] | undefined>, this.request.responseEdits);
    }
    if (this.request.closeConnection()) headers.connection = "close";
    this.request.res.writeHead(statusCode, statusMessage, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.request.res.write(chunk)) {
      controller.pause();
      this.request.res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.finished = true;
    this.request.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finished = true;
    const { res } = this.request;
    if (res.destroyed) return;
    // A response already under way cannot become an error response: abort the client connection
    // so a truncated body is seen as truncated, never as complete.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (this.retryable(error)) {
      this.attempt++;
      this.finished = false;
      this.dispatch();
      return;
    }
    this.bytes += this.request.fail(this.gatewayError(error));
  }

  /** Retry once, and only when nothing of the request body was sent: a stale pooled connection. */
  private retryable(error: Error): boolean {
    const code = (error as { code?: string }).code;
    if (this.attempt > 0 || (code !== "UND_ERR_SOCKET" && code !== "ECONNRESET")) return false;
    if (!IDEMPOTENT.has(this.request.method)) return false;
    return this.request.body === "none" || !this.request.req.readableDidRead;
  }

  private gatewayError(error: Error): PodgateError {
    if (error instanceof PodgateError) return error;
    const code = (error as { code?: string }).code;
    switch (code) {
      case "UND_ERR_CONNECT_TIMEOUT":
        return new UpstreamUnavailableError(
          `connecting to the app took longer than ${this.timeouts.connectTimeoutMs} ms`,
        );
      case "ECONNREFUSED":
        return new UpstreamUnavailableError("the app refused the connection; is it listening?");
      case "UND_ERR_HEADERS_TIMEOUT":
        return new UpstreamTimeoutError(
          `the app did not answer within ${this.timeouts.responseTimeoutMs} ms`,
        );
      case "UND_ERR_BODY_TIMEOUT":
        return new UpstreamTimeoutError(`the app stalled for ${this.timeouts.bodyIdleTimeoutMs} ms`);
      default:
        return new UpstreamResetError("the app closed the connection before a complete response", {
          cause: error,
        });
    }
  }
}

/** Streams a chunked request body, counting it; passing the limit fails the exchange with 413. */
async function* countedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw streamedBodyTooLarge(limit);
    yield chunk;
  }
}
