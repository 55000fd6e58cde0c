import type { Attributes, Counter, Meter } from "@opentelemetry/api";
import type { SidecarConfig } from "../config.ts";
import { type ExchangeObserver, type ObservedExchange, splitDecision } from "./observer.ts";
import { type HistogramSeries, type RequestHistogram, requestHistogram } from "./request-histogram.ts";

/**
 * The sidecar's metrics, with attribute objects cached per (method, status, route) and per
 * decision, so a request allocates nothing here after warm-up. The SDK hashes a record's attributes
 * on every call (several µs each), so a request makes no SDK call: the duration goes into
 * request-histogram.ts (a MetricProducer every reader collects), and the counts of active requests
 * and decisions are kept in plain maps and reported by observable instruments when a reader
 * collects. Only the rare paths (upstream errors, rate-limit and quota rejections) use SDK counters.
 * Names follow the HTTP semantic conventions:
 * https://opentelemetry.io/docs/specs/semconv/http/http-metrics/
 */

/** Bucket boundaries the HTTP semantic conventions advise for request durations, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Methods kept as they are; anything else is `_OTHER` (semantic conventions: bounded cardinality). */
const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "CONNECT",
]);

interface Instruments {
  upstreamErrors: Counter;
  rateLimitRejections: Counter;
  quotaRejections: Counter;
}

/** Counts kept between collections: active requests by method, decisions by their attributes. */
interface Counts {
  active: Map<string, number>;
  decisions: Map<Attributes, number>;
}

function createInstruments(
  meter: Meter,
  counts: Counts,
  forMethod: (method: string) => Attributes,
): Instruments {
  meter
    .createObservableUpDownCounter("http.server.active_requests", {
      unit: "{request}",
      description: "Number of active HTTP server requests.",
    })
    .addCallback((result) => {
      for (const [method, active] of counts.active) result.observe(active, forMethod(method));
    });
  meter
    .createObservableCounter("podgate.policy.decisions", {
      unit: "{decision}",
      description: "Policy chain decisions, by deciding policy and outcome (allow, deny, respond).",
    })
    .addCallback((result) => {
      for (const [attributes, total] of counts.decisions) result.observe(total, attributes);
    });
  return {
    upstreamErrors: meter.createCounter("podgate.upstream.errors", {
      unit: "{error}",
      description: "Requests that failed reaching the app, by error code.",
    }),
    rateLimitRejections: meter.createCounter("podgate.ratelimit.rejections", {
      unit: "{request}",
      description: "Requests rejected by a rate limit, by policy.",
    }),
    quotaRejections: meter.createCounter("podgate.quota.rejections", {
      unit: "{request}",
      description: "Requests rejected by a quota, by policy.",
    }),
  };
}

/** The request-duration histogram, created before the readers that collect it. */
export function durationHistogram(): RequestHistogram {
  return requestHistogram({
    name: "http.server.request.duration",
    unit: "s",
    description: "Duration of HTTP server requests.",
    boundaries: DURATION_BUCKETS,
    scope: "podgate",
  });
}

/** Creates the metrics observer. */
export function metricsObserver(
  meter: Meter,
  config: SidecarConfig,
  histogram: RequestHistogram,
): ExchangeObserver {
  const counts: Counts = { active: new Map(), decisions: new Map() };
  const routes = config.routes?.map((route) => route.path) ?? [];
  const methodAttributes = new Map<string, Attributes>();
  const durationSeries = new Map<string, Map<number, HistogramSeries>>();
  const decisionAttributes = new Map<string, Attributes>();

  const methodOf = (method: string) => (KNOWN_METHODS.has(method) ? method : "_OTHER");
  const forMethod = (method: string): Attributes => {
    let attributes = methodAttributes.get(method);
    if (attributes === undefined) {
      attributes = Object.freeze({ "http.request.method": method });
      methodAttributes.set(method, attributes);
    }
    return attributes;
  };
  const forDuration = (method: string, status: number, routeIndex: number): HistogramSeries => {
    let byKey = durationSeries.get(method);
    if (byKey === undefined) {
      byKey = new Map();
      durationSeries.set(method, byKey);
    }
    const key = status * 1024 + routeIndex + 1;
    let series = byKey.get(key);
    if (series === undefined) {
      const route = routes[routeIndex];
      series = histogram.series(
        Object.freeze({
          "http.request.method": method,
          "http.response.status_code": status,
          ...(route === undefined ? {} : { "http.route": route }),
        }),
      );
      byKey.set(key, series);
    }
    return series;
  };
  const forDecision = (decision: string): Attributes => {
    let attributes = decisionAttributes.get(decision);
    if (attributes === undefined) {
      const { outcome, policy } = splitDecision(decision);
      attributes = Object.freeze(
        outcome === "error"
          ? { "error.type": policy }
          : { "podgate.policy": policy, "podgate.outcome": outcome },
      );
      decisionAttributes.set(decision, attributes);
    }
    return attributes;
  };

  const instruments = createInstruments(meter, counts, forMethod);
  return {
    onRequestStart(exchange: ObservedExchange) {
      const method = methodOf(exchange.method);
      counts.active.set(method, (counts.active.get(method) ?? 0) + 1);
    },
    onRequestEnd(exchange: ObservedExchange, status: number) {
      const method = methodOf(exchange.method);
      counts.active.set(method, (counts.active.get(method) ?? 0) - 1);
      const seconds = (performance.now() - exchange.started) / 1000;
      histogram.record(forDuration(method, status, exchange.routeIndex), seconds);
      recordDecision(instruments, counts, exchange.decision, forDecision(exchange.decision));
    },
  };
}

function count(counts: Counts, attributes: Attributes): void {
  counts.decisions.set(attributes, (counts.decisions.get(attributes) ?? 0) + 1);
}

function recordDecision(
  instruments: Instruments,
  counts: Counts,
  decision: string,
  attributes: Attributes,
): void {
  if (decision.startsWith("error:")) {
    instruments.upstreamErrors.add(1, attributes);
    count(counts, ALLOW);
    return;
  }
  if (decision.startsWith("reject:")) return;
  count(counts, attributes);
  if (decision.startsWith("deny:rate-limit:")) instruments.rateLimitRejections.add(1, attributes);
  else if (decision.startsWith("deny:quota:")) instruments.quotaRejections.add(1, attributes);
}

const ALLOW: Attributes = Object.freeze({ "podgate.policy": "chain", "podgate.outcome": "allow" });
