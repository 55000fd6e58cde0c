import type { SpanContext, Tracer } from "@opentelemetry/api";
import type { SidecarConfig } from "../config.ts";
import type { Redactor } from "../redact.ts";
import { type RequestHead, removeHeaders } from "../request-headers.ts";
import { takeTraceparent } from "../request-ids.ts";
import type { ExchangeObserver, ObservedExchange } from "./observer.ts";
import { type PresetIds, type SampledRequest, spanBatcher } from "./sampled-spans.ts";
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  unsampledTraceparent,
} from "./traceparent.ts";

/**
 * Traces, built by hand and only for sampled requests (perf notes §2). The sampling decision comes
 * first, from the incoming W3C `traceparent` (https://www.w3.org/TR/trace-context/) and a ratio
 * coin; an unsampled request gets no span object, no context, no AsyncLocalStorage: its
 * `traceparent`, `tracestate` and `baggage` reach the app untouched, as end-to-end headers, and a
 * request without a valid `traceparent` gets a new one with the sampled flag off. A
 * sampled request gets a server span (parent: the caller's span), a client span for the upstream
 * call whose id replaces `traceparent` towards the app, and the policy decision as a span event;
 * it records what those need and sampled-spans.ts builds them after the request, in batches. A new
 * trace, sampled or not, takes the request id's digits as its trace id when the request id is a UUID.
 */

/** How requests are sampled: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. */
export interface SamplingPolicy {
  /** Probability of sampling a request whose parent does not decide. */
  readonly ratio: number;
  /** Follow the sampled flag of an incoming `traceparent`. */
  readonly parentBased: boolean;
}

/** The default ratio: 1 % (OTEL_TRACES_SAMPLER_ARG overrides it). */
export const DEFAULT_SAMPLING_RATIO = 0.01;

/**
 * Reads the sampler from the standard variables; default `parentbased_traceidratio` at 0.01.
 * @example samplingFromEnv({ OTEL_TRACES_SAMPLER: "always_on" }) // { ratio: 1, parentBased: false }
 */
export function samplingFromEnv(env: NodeJS.ProcessEnv): SamplingPolicy {
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio =
    env.OTEL_TRACES_SAMPLER_ARG !== undefined && arg >= 0 && arg <= 1 ? arg : DEFAULT_SAMPLING_RATIO;
  switch (env.OTEL_TRACES_SAMPLER ?? "parentbased_traceidratio") {
    case "always_on":
      return { ratio: 1, parentBased: false };
    case "always_off":
      return { ratio: 0, parentBased: false };
    case "traceidratio":
      return { ratio, parentBased: false };
    case "parentbased_always_on":
      return { ratio: 1, parentBased: true };
    case "parentbased_always_off":
      return { ratio: 0, parentBased: true };
    default:
      return { ratio, parentBased: true };
  }
}

/**
 * The per-request slot of an unsampled request without a valid `traceparent`: onForward gives it a
 * new one (a request the policies refuse never reaches the app, so it needs none), with the sampled
 * flag off, so a parent-based sampler in the app agrees with ours instead of starting traces of its
 * own, and the app's logs still carry a trace id (what an OpenTelemetry SDK does for a root request
 * it does not sample). A request whose id the data plane made holds that id's ready-made
 * `traceparent` string instead (request-ids.ts); this symbol marks one whose id came with it.
 */
const NEW_TRACE = Symbol("new trace");

/** Options of tracingObserver. */
export interface TracingOptions {
  tracer: Tracer;
  /** The id generator the SDK was started with: sampled requests choose their ids up front. */
  ids: PresetIds;
  sampling: SamplingPolicy;
  config: SidecarConfig;
  redact: Redactor;
  /** The coin; default Math.random. */
  random?: () => number;
}

/** The tracing observer, and the builder of its sampled requests' spans. */
export interface TracingObserver extends ExchangeObserver {
  /** Builds the spans of finished sampled requests that still wait (before the SDK shuts down). */
  flush(): void;
}

/** Creates the tracing observer. */
export function tracingObserver(options: TracingOptions): TracingObserver {
  const { sampling, redact } = options;
  const random = options.random ?? Math.random;
  const upstream = new URL(options.config.upstream.url);
  const batcher = spanBatcher({
    tracer: options.tracer,
    ids: options.ids,
    upstreamAttributes: Object.freeze({
      "server.address": upstream.hostname,
      "server.port": Number(upstream.port || 80),
    }),
  });
  const routes = options.config.routes?.map((route) => route.path) ?? [];

  return {
    onRequestStart(exchange: ObservedExchange) {
      const header = exchange.head.traceparent;
      const parent = header === undefined ? undefined : parseTraceparent(header);
      // A traceparent we cannot parse starts a new trace, and its tracestate goes with it (W3C §3.3, §3.5).
      if (header !== undefined && parent === undefined && exchange.head.tracestate !== undefined) {
        removeHeaders(exchange.head.upstream, ["tracestate"]);
      }
      const sampled =
        parent !== undefined && sampling.parentBased
          ? (parent.traceFlags & 1) === 1
          : sampling.ratio > 0 && random() < sampling.ratio;
      if (sampled) exchange.trace = sampledRequest(exchange, parent, redact);
      else if (parent === undefined) exchange.trace = takeTraceparent(exchange.requestId) ?? NEW_TRACE;
    },
    onForward(exchange: ObservedExchange) {
      const { trace } = exchange;
      if (typeof trace === "string" || trace === NEW_TRACE) {
        exchange.trace = undefined;
        setTraceparent(exchange.head, trace === NEW_TRACE ? unsampledTraceparent(exchange.requestId) : trace);
        return;
      }
      const request = exchange.trace as SampledRequest | undefined;
      if (request === undefined) return;
      request.clientSpanId = newSpanId();
      request.forwardTime = epochMs();
      // The app's spans hang below our client span.
      const client = { traceId: request.traceId, spanId: request.clientSpanId, traceFlags: 1 };
      setTraceparent(exchange.head, formatTraceparent(client));
    },
    onRequestEnd(exchange: ObservedExchange, status: number) {
      // Only a sampled request holds an object; the others hold a traceparent, NEW_TRACE or nothing.
      if (typeof exchange.trace !== "object") return;
      const request = exchange.trace as SampledRequest;
      exchange.trace = undefined;
      request.endTime = epochMs();
      request.status = status;
      request.route = routes[exchange.routeIndex];
      request.decision = exchange.decision;
      request.identity = exchange.identity?.id;
      batcher.add(request);
    },
    flush: batcher.flush,
  };
}

/** Now, in epoch milliseconds with the monotonic clock's precision. */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What a sampled request records when it arrives; its ids are chosen now. */
function sampledRequest(
  exchange: ObservedExchange,
  parent: SpanContext | undefined,
  redact: Redactor,
): SampledRequest {
  const { req } = exchange;
  return {
    parent,
    traceState: parent === undefined ? undefined : exchange.head.tracestate,
    traceId: parent?.traceId ?? newTraceId(exchange.requestId),
    serverSpanId: newSpanId(),
    clientSpanId: undefined,
    startTime: epochMs(),
    forwardTime: 0,
    endTime: 0,
    method: exchange.method,
    startAttributes: {
      "http.request.method": exchange.method,
      "url.path": redact(exchange.path),
      "url.scheme": (req.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http",
      "client.address": exchange.clientAddress,
      "network.protocol.version": req.httpVersion,
      "podgate.request_id": exchange.requestId,
    },
    status: 0,
    route: undefined,
    decision: "",
    identity: undefined,
  };
}

/** Replaces (or adds) `traceparent` in the headers sent to the app: our client span's, or a new unsampled trace's. */
function setTraceparent(head: RequestHead, value: string): void {
  const headers = head.upstream;
  // Only a request that came with a traceparent (not the usual case) has one to replace.
  const at = head.traceparent === undefined ? -1 : headerIndex(headers, "traceparent");
  if (at < 0) headers.push("traceparent", value);
  else headers[at + 1] = value;
}

/** The index of the first header with this (lower-case) name in a flat [name, value, ...] list; -1 if none. */
function headerIndex(headers: readonly string[], name: string): number {
  for (let i = 0; i < headers.length; i += 2) {
    const candidate = headers[i] as string;
    if (candidate.length === name.length && candidate.toLowerCase() === name) return i;
  }
  return -1;
}
