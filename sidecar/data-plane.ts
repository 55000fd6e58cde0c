import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AccessLogWriter } from "./access-log.ts";
import type { Chain, ChainVerdict, PolicyResponse, RequestContext } from "./chain.ts";
import { type ClientAddressResolver, plainAddress } from "./client-address.ts";
import type { SidecarConfig } from "./config.ts";
import {
  BadPathError,
  HeadersTooLargeError,
  type PodgateError,
  PolicyFailedError,
  RequestMalformedError,
  RequestTimeoutError,
} from "./errors.ts";
import type { Forwarder } from "./forward.ts";
import { normalizePath } from "./path.ts";
import { editHeaderObject, sendProblem, whenClosed, writeProblemToSocket } from "./problem.ts";
import { maskCardNumbers, type Redactor } from "./redact.ts";
import {
  appendForwardingHeaders,
  applyEdits,
  type RequestHead,
  scanRequestHeaders,
  validRequestId,
} from "./request-headers.ts";
import { newRequestId } from "./request-ids.ts";
import type { ExchangeObserver, ObservedExchange } from "./telemetry/observer.ts";
import { tlsServerOptions } from "./tls.ts";
import { isWebSocketUpgrade, type UpgradeForwarder } from "./upgrade.ts";

/** Shared, mutable state of the gateway process: readiness and drain. */
export interface GatewayState {
  draining: boolean;
  inFlight: number;
}

/** What the data plane is wired to. */
export interface DataPlaneOptions {
  config: SidecarConfig;
  chain: Chain;
  forwarder: Forwarder;
  upgrades: UpgradeForwarder;
  clientAddress: ClientAddressResolver;
  state: GatewayState;
  log: Logger;
  /** Issue 7: metrics, traces and the audit log; called where the access log is written. */
  observer?: ExchangeObserver | undefined;
  /** Writes access-log lines; undefined when the access log is off. */
  accessLog?: AccessLogWriter | undefined;
  /** Issue 7: applied to the logged path; default: card numbers masked. */
  redact?: Redactor | undefined;
}

/** One request as it passes the data plane: the policy context plus what the access log needs. */
interface Exchange extends ObservedExchange {
  readonly forwardPath: string;
  readonly body: "none" | "declared" | "chunked";
  readonly expectContinue: boolean;
}

/**
 * Creates the data-plane HTTP/1.1 server. Node's own checks are tightened where they are too lax
 * for a gateway: the header count overflows to 431 instead of silently dropping headers, two Host
 * headers and Transfer-Encoding on HTTP/1.0 are rejected, the header timeout is checked often
 * enough to stop slowloris, and every error answer is a problem document.
 */
export function createDataPlane(options: DataPlaneOptions): http.Server {
  const { limits, listener } = options.config;
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headerReadTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks these timeouts only every connectionsCheckingInterval (30 s by default).
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headerReadTimeoutMs / 4))),
    requireHostHeader: false,
    joinDuplicateHeaders: false,
    highWaterMark: 16 * 1024,
    noDelay: true,
    shouldUpgradeCallback: isWebSocketUpgrade,
  };
  const server: http.Server =
    listener.tls === undefined
      ? http.createServer(serverOptions)
      : https.createServer({ ...serverOptions, ...tlsServerOptions(listener.tls) });
  // One more than the limit, so that an overflow is seen (Node drops the excess silently).
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  const handle = requestHandler(options);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => handle(req, res, false));
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));
  server.on("upgrade", upgradeHandler(options));
  server.on("clientError", onClientError);
  return server;
}

function requestHandler(options: DataPlaneOptions) {
  const { chain, state } = options;
  return function handleRequest(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    state.inFlight++;
    const exchange = admit(req, res, expectContinue, options);
    if (exchange === undefined) return;
    const verdict = chain.run(exchange);
    if (verdict instanceof Promise) {
      verdict.then(
        (settled) => proceed(exchange, settled, options),
        () => proceed(exchange, failedChain, options),
      );
    } else {
      proceed(exchange, verdict, options);
    }
  };
}

const failedChain: ChainVerdict = {
  error: new PolicyFailedError("the policy chain failed"),
  policy: "chain",
};

/** Checks what Node lets through and builds the exchange; answers and returns undefined on rejection. */
function admit(
  req: IncomingMessage,
  res: ServerResponse,
  expectContinue: boolean,
  options: DataPlaneOptions,
): Exchange | undefined {
  const started = performance.now();
  const head = scanRequestHeaders(req.rawHeaders);
  const requestId = validRequestId(head.requestId) ?? newRequestId();
  const problem = malformed(req, head, options.config);
  const canonical = normalizePath(req.url ?? "", options.config.paths);
  const rejection =
    problem ?? ("rejected" in canonical ? new BadPathError(`${canonical.rejected}`) : undefined);
  const body =
    head.transferEncoding !== undefined
      ? "chunked"
      : Number(head.contentLength ?? 0) > 0
        ? "declared"
        : "none";
  const exchange: Exchange = {
    req,
    res,
    head,
    method: req.method ?? "GET",
    path: "rejected" in canonical ? rawPathForLog(req.url) : canonical.path,
    forwardPath: "rejected" in canonical ? "" : canonical.forward,
    clientAddress: options.clientAddress.resolve(req.socket.remoteAddress ?? "", head.forwardedFor),
    requestId,
    contentLength: head.contentLength === undefined ? -1 : Number(head.contentLength),
    maxBodyBytes: options.config.limits.maxBodyBytes,
    // What the policies decide, spelled out rather than spread: one object shape for every request.
    identity: undefined,
    routeIndex: -1,
    upstreamEdits: undefined,
    responseEdits: undefined,
    onDone: undefined,
    body,
    expectContinue,
    started,
    decision: "forward",
    trace: undefined,
  };
  options.observer?.onRequestStart?.(exchange);
  if (rejection === undefined) return exchange;
  respondWithProblem(exchange, rejection, `reject:${rejection.code}`, options);
  return undefined;
}

/** The scheme the client used to reach the gateway. */
function protoOf(req: IncomingMessage): "http" | "https" {
  return (req.socket as TLSSocket).encrypted === true ? "https" : "http";
}

/** The path of a rejected target, for the access log only: no query (it may hold secrets), bounded. */
function rawPathForLog(url: string | undefined): string {
  const path = (url ?? "").split("?", 1)[0] ?? "";
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
}

/** Request-level checks that Node's parser does not make. */
function malformed(req: IncomingMessage, head: RequestHead, config: SidecarConfig): PodgateError | undefined {
  if (req.rawHeaders.length > config.limits.maxHeaderCount * 2) {
    return new HeadersTooLargeError(`more than ${config.limits.maxHeaderCount} request headers`);
  }
  if (head.hostCount > 1) return new RequestMalformedError("more than one Host header");
  if (head.hostCount === 0 && req.httpVersionMinor === 1)
    return new RequestMalformedError("the Host header is missing");
  if (head.transferEncoding !== undefined) {
    if (req.httpVersionMinor === 0)
      return new RequestMalformedError("Transfer-Encoding is not allowed on HTTP/1.0");
    if (head.transferEncoding.trim().toLowerCase() !== "chunked") {
      return new RequestMalformedError("only Transfer-Encoding: chunked is accepted");
    }
  }
  return undefined;
}

function proceed(exchange: Exchange, verdict: ChainVerdict, options: DataPlaneOptions): void {
  if (verdict.response !== undefined) {
    respondForPolicy(exchange, verdict.response, `respond:${verdict.policy}`, options);
    return;
  }
  if (verdict.error !== undefined || verdict.policy !== undefined) {
    const error = verdict.error ?? new PolicyFailedError();
    respondWithProblem(exchange, error, `deny:${verdict.policy}`, options);
    return;
  }
  const { req, res, head } = exchange;
  const peer = req.socket.remoteAddress ?? "";
  if (exchange.upstreamEdits !== undefined) applyEdits(head.upstream, exchange.upstreamEdits);
  appendForwardingHeaders(head, {
    peer: plainAddress(peer),
    peerTrusted: options.clientAddress.trusts(peer),
    proto: protoOf(req),
    requestId: exchange.requestId,
  });
  if (exchange.expectContinue) res.writeContinue();
  options.observer?.onForward?.(exchange);
  options.forwarder.forward({
    req,
    res,
    method: exchange.method,
    path: exchange.forwardPath,
    headers: head.upstream,
    body: exchange.body,
    maxBodyBytes: exchange.maxBodyBytes,
    requestId: exchange.requestId,
    closeConnection: () => options.state.draining,
    responseEdits: exchange.responseEdits,
    fail: (error) => {
      exchange.decision = `error:${error.code}`;
      return sendProblem(res, error, {
        requestId: exchange.requestId,
        close: true,
        edits: exchange.responseEdits,
      });
    },
    done: (bytes) => finish(exchange, bytes, options),
  });
}

function respondWithProblem(
  exchange: Exchange,
  error: PodgateError,
  decision: string,
  options: DataPlaneOptions,
): void {
  exchange.decision = decision;
  // An unread body would otherwise be drained to keep the connection: close it instead.
  const close = exchange.body !== "none" || options.state.draining;
  const bytes = sendProblem(exchange.res, error, {
    requestId: exchange.requestId,
    close,
    edits: exchange.responseEdits,
  });
  whenClosed(exchange.res, () => finish(exchange, bytes, options));
}

/** A policy's own answer (a CORS preflight): no body, the policies' response edits applied. */
function respondForPolicy(
  exchange: Exchange,
  response: PolicyResponse["respond"],
  decision: string,
  options: DataPlaneOptions,
): void {
  exchange.decision = decision;
  const headers: Record<string, string> = { ...response.headers, "x-request-id": exchange.requestId };
  // As for problem responses: an unread request body would be drained, so close instead.
  if (exchange.body !== "none" || options.state.draining) headers.connection = "close";
  if (exchange.responseEdits !== undefined) editHeaderObject(headers, exchange.responseEdits);
  exchange.res.writeHead(response.status, headers);
  exchange.res.end();
  whenClosed(exchange.res, () => finish(exchange, 0, options));
}

function finish(exchange: Exchange, bytes: number, options: DataPlaneOptions): void {
  options.state.inFlight--;
  if (exchange.onDone !== undefined) for (const done of exchange.onDone) done(exchange.res.statusCode);
  options.observer?.onRequestEnd(exchange, exchange.res.statusCode, bytes);
  if (options.accessLog === undefined) return;
  options.accessLog.write({
    method: exchange.method,
    path: (options.redact ?? maskCardNumbers)(exchange.path),
    status: exchange.res.statusCode,
    durationMs: performance.now() - exchange.started,
    bytes,
    requestId: exchange.requestId,
    client: exchange.clientAddress,
    identity: exchange.identity?.id,
    decision: exchange.res.writableFinished ? exchange.decision : `${exchange.decision}:aborted`,
  });
}

function upgradeHandler(options: DataPlaneOptions) {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, headBytes: Buffer): void {
    const head = scanRequestHeaders(req.rawHeaders);
    const requestId = validRequestId(head.requestId) ?? newRequestId();
    const canonical = normalizePath(req.url ?? "", options.config.paths);
    const problem =
      malformed(req, head, options.config) ??
      ("rejected" in canonical ? new BadPathError(canonical.rejected) : undefined);
    if (problem !== undefined || "rejected" in canonical) {
      writeProblemToSocket(socket, problem ?? new BadPathError(), requestId);
      return;
    }
    const peer = req.socket.remoteAddress ?? "";
    const context: RequestContext = {
      req,
      method: "GET",
      path: canonical.path,
      clientAddress: options.clientAddress.resolve(peer, head.forwardedFor),
      requestId,
      contentLength: -1,
      maxBodyBytes: options.config.limits.maxBodyBytes,
      // What the policies decide, spelled out rather than spread: one object shape for every request.
      identity: undefined,
      routeIndex: -1,
      upstreamEdits: undefined,
      responseEdits: undefined,
      onDone: undefined,
    };
    Promise.resolve(options.chain.run(context))
      .then((verdict) => {
        if (verdict.error !== undefined || verdict.policy !== undefined) {
          writeProblemToSocket(socket, verdict.error ?? new PolicyFailedError(), requestId);
          return;
        }
        const peerTrusted = options.clientAddress.trusts(peer);
        if (context.upstreamEdits !== undefined) applyEdits(head.upstream, context.upstreamEdits);
        appendForwardingHeaders(head, {
          peer: plainAddress(peer),
          peerTrusted,
          proto: protoOf(req),
          requestId,
        });
        req.url = canonical.forward;
        req.headers = headerObject(head.upstream, req.headers.upgrade ?? "websocket");
        options.upgrades.forward(req, socket, headBytes);
      })
      .catch(() => socket.destroy());
  };
}

/** http-proxy-3 copies `req.headers`: give it the cleaned list, plus the upgrade it must pass on. */
function headerObject(list: readonly string[], upgrade: string): http.IncomingHttpHeaders {
  const headers: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    const value = list[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  headers.connection = "Upgrade";
  headers.upgrade = upgrade;
  return headers;
}

/** Parse errors and timeouts before a request exists: answer with a problem document and close. */
function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inProgress = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inProgress?.headersSent) {
    socket.destroy();
    return;
  }
  writeProblemToSocket(socket, clientErrorProblem(error.code));
}

function clientErrorProblem(code: string | undefined): PodgateError {
  if (code === "HPE_HEADER_OVERFLOW") return new HeadersTooLargeError("the request headers are too large");
  if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "ERR_HTTP_HEADERS_TIMEOUT") {
    return new RequestTimeoutError("the request was not received in time");
  }
  return new RequestMalformedError("the request could not be parsed as HTTP/1.1");
}
