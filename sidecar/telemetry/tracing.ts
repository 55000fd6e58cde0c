import {
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { SidecarConfig } from "../config.ts";
import type { Redactor } from "../redact.ts";
import { type ExchangeObserver, type ObservedExchange, splitDecision } from "./observer.ts";
import { formatTraceparent, parseTraceparent, unsampledTraceparent } from "./traceparent.ts";

/**
 * Traces, built by hand and only for sampled requests (perf notes §2). The sampling decision comes
 * first, from the incoming W3C `traceparent` (https://www.w3.org/TR/trace-context/) and a ratio
 * coin; an unsampled request gets no span object, no context, no AsyncLocalStorage: its
 * `traceparent`, `tracestate` and `baggage` reach the app untouched, as end-to-end headers, and a
 * request without a valid `traceparent` gets a new one with the sampled flag off. A
 * sampled request gets a server span (parent: the caller's span), a client span for the upstream
 * call whose id replaces `traceparent` towards the app, and the policy decision as a span event.
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

/** The value of a header in a raw [name, value, ...] list (first occurrence), without building req.headers. */
function rawHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

/**
 * The per-request slot of an unsampled request without a valid `traceparent`: onForward gives it a
 * new one (a request the policies refuse never reaches the app, so it needs none), with the sampled
 * flag off, so a parent-based sampler in the app agrees with ours instead of starting traces of its
 * own, and the app's logs still carry a trace id (what an OpenTelemetry SDK does for a root request
 * it does not sample).
 */
const NEW_TRACE = Symbol("new trace");

/** The spans of one sampled request. */
interface RequestSpans {
  server: Span;
  client: Span | undefined;
}

/** Options of tracingObserver. */
export interface TracingOptions {
  tracer: Tracer;
  sampling: SamplingPolicy;
  config: SidecarConfig;
  redact: Redactor;
  /** The coin; default Math.random. */
  random?: () => number;
}

/** Creates the tracing observer. */
export function tracingObserver(options: TracingOptions): ExchangeObserver {
  const { tracer, sampling, redact } = options;
  const random = options.random ?? Math.random;
  const upstream = new URL(options.config.upstream.url);
  const upstreamAttributes = Object.freeze({
    "server.address": upstream.hostname,
    "server.port": Number(upstream.port || 80),
  });
  const routes = options.config.routes?.map((route) => route.path) ?? [];

  return {
    onRequestStart(exchange: ObservedExchange) {
      const header = rawHeader(exchange.req.rawHeaders, "traceparent");
      const parent = header === undefined ? undefined : parseTraceparent(header);
      // A traceparent we cannot parse starts a new trace, and its tracestate goes with it (W3C §3.3, §3.5).
      if (header !== undefined && parent === undefined) removeHeader(exchange.upstreamHeaders, "tracestate");
      const sampled =
        parent !== undefined && sampling.parentBased
          ? (parent.traceFlags & 1) === 1
          : sampling.ratio > 0 && random() < sampling.ratio;
      if (sampled) exchange.trace = startServerSpan(tracer, exchange, parent, redact);
      else if (parent === undefined) exchange.trace = NEW_TRACE;
    },
    onForward(exchange: ObservedExchange) {
      if (exchange.trace === NEW_TRACE) {
        exchange.trace = undefined;
        setTraceparent(exchange.upstreamHeaders, unsampledTraceparent(exchange.requestId));
        return;
      }
      const spans = exchange.trace as RequestSpans | undefined;
      if (spans === undefined) return;
      spans.server.addEvent("podgate.policy.decision", {
        "podgate.policy": "chain",
        "podgate.outcome": "allow",
      });
      spans.client = tracer.startSpan(
        exchange.method,
        {
          kind: SpanKind.CLIENT,
          attributes: { "http.request.method": exchange.method, ...upstreamAttributes },
        },
        trace.setSpan(ROOT_CONTEXT, spans.server),
      );
      setTraceparent(exchange.upstreamHeaders, formatTraceparent(spans.client.spanContext()));
    },
    onRequestEnd(exchange: ObservedExchange, status: number) {
      const spans = exchange.trace as RequestSpans | typeof NEW_TRACE | undefined;
      if (spans === undefined || spans === NEW_TRACE) return;
      exchange.trace = undefined;
      endSpans(spans, exchange, status, routes[exchange.routeIndex]);
    },
  };
}

function startServerSpan(
  tracer: Tracer,
  exchange: ObservedExchange,
  parent: SpanContext | undefined,
  redact: Redactor,
): RequestSpans {
  let context = ROOT_CONTEXT;
  if (parent !== undefined) {
    const state = rawHeader(exchange.req.rawHeaders, "tracestate");
    const traceState = state === undefined ? undefined : createTraceState(state);
    context = trace.setSpanContext(ROOT_CONTEXT, { ...parent, traceState });
  }
  const { req } = exchange;
  const server = tracer.startSpan(
    exchange.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": exchange.method,
        "url.path": redact(exchange.path),
        "url.scheme": (req.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http",
        "client.address": exchange.clientAddress,
        "network.protocol.version": req.httpVersion,
        "podgate.request_id": exchange.requestId,
      },
    },
    context,
  );
  return { server, client: undefined };
}

/** Removes every occurrence of a header from a flat [name, value, ...] list. */
function removeHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if ((headers[i] as string).toLowerCase() === name) headers.splice(i, 2);
  }
}

/** Replaces (or adds) `traceparent`: our client span's, or a new unsampled trace's. */
function setTraceparent(headers: string[], value: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 11 && name.toLowerCase() === "traceparent") {
      headers[i + 1] = value;
      return;
    }
  }
  headers.push("traceparent", value);
}

function endSpans(
  spans: RequestSpans,
  exchange: ObservedExchange,
  status: number,
  route: string | undefined,
) {
  const { server, client } = spans;
  const { outcome, policy } = splitDecision(exchange.decision);
  if (client !== undefined) {
    client.setAttribute("http.response.status_code", status);
    if (outcome === "error") {
      client.setAttribute("error.type", policy);
      client.setStatus({ code: SpanStatusCode.ERROR });
    }
    client.end();
  } else {
    server.addEvent("podgate.policy.decision", { "podgate.policy": policy, "podgate.outcome": outcome });
  }
  server.setAttribute("http.response.status_code", status);
  if (route !== undefined) {
    server.setAttribute("http.route", route);
    server.updateName(`${exchange.method} ${route}`);
  }
  if (status >= 500) {
    server.setAttribute("error.type", String(status));
    server.setStatus({ code: SpanStatusCode.ERROR });
  }
  if (exchange.identity !== undefined) server.setAttribute("enduser.id", exchange.identity.id);
  server.end();
}
