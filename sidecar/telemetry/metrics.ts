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
const KNOWN_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

/** One method's metrics: its attributes, its active requests and its duration series by status and route. */
interface MethodMetrics {
  readonly method: string;
  readonly attributes: Attributes;
  active: number;
  /** Keyed by status * 1024 + route index + 1. */
  readonly durations: Map<number, HistogramSeries>;
}

/** How the policy-decision counter sees one decision string. */
interface DecisionMetrics {
  /** The podgate.policy.decisions tally it adds to; undefined for requests rejected before the policies ran. */
  readonly tally: DecisionTally | undefined;
  /** The SDK counter of a rare path (upstream errors, rate-limit and quota rejections). */
  readonly counter: Counter | undefined;
  readonly counterAttributes: Attributes;
}

/** A podgate.policy.decisions data point. */
interface DecisionTally {
  readonly attributes: Attributes;
  total: number;
}

interface Instruments {
  upstreamErrors: Counter;
  rateLimitRejections: Counter;
  quotaRejections: Counter;
}

function createInstruments(
  meter: Meter,
  methods: readonly MethodMetrics[],
  tallies: ReadonlyMap<string, DecisionTally>,
): Instruments {
  meter
    .createObservableUpDownCounter("http.server.active_requests", {
      unit: "{request}",
      description: "Number of active HTTP server requests.",
    })
    .addCallback((result) => {
      // Only methods that have been seen: one in flight, or one that ended (it has a duration series).
      for (const method of methods) {
        if (method.active > 0 || method.durations.size > 0) result.observe(method.active, method.attributes);
      }
    });
  meter
    .createObservableCounter("podgate.policy.decisions", {
      unit: "{decision}",
      description: "Policy chain decisions, by deciding policy and outcome (allow, deny, respond).",
    })
    .addCallback((result) => {
      for (const tally of tallies.values()) result.observe(tally.total, tally.attributes);
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
  const routes = config.routes?.map((route) => route.path) ?? [];
  const methods = [...KNOWN_METHODS, "_OTHER"].map(
    (method): MethodMetrics => ({
      method,
      attributes: Object.freeze({ "http.request.method": method }),
      active: 0,
      durations: new Map(),
    }),
  );
  const byMethod = new Map(methods.map((metrics) => [metrics.method, metrics]));
  const other = methods[methods.length - 1] as MethodMetrics;
  /** Keyed by their attributes' policy and outcome (or error type), so "forward" and upstream errors share one. */
  const tallies = new Map<string, DecisionTally>();
  const decisions = new Map<string, DecisionMetrics>();
  const instruments = createInstruments(meter, methods, tallies);

  const forDuration = (metrics: MethodMetrics, status: number, routeIndex: number): HistogramSeries => {
    const key = status * 1024 + routeIndex + 1;
    let series = metrics.durations.get(key);
    if (series === undefined) {
      const route = routes[routeIndex];
      series = histogram.series(
        Object.freeze({
          "http.request.method": metrics.method,
          "http.response.status_code": status,
          ...(route === undefined ? {} : { "http.route": route }),
        }),
      );
      metrics.durations.set(key, series);
    }
    return series;
  };
  const forDecision = (decision: string): DecisionMetrics => {
    let metrics = decisions.get(decision);
    if (metrics === undefined) {
      metrics = decisionMetrics(decision, instruments, tallies);
      decisions.set(decision, metrics);
    }
    return metrics;
  };

  return {
    onRequestStart(exchange: ObservedExchange) {
      (byMethod.get(exchange.method) ?? other).active++;
    },
    onRequestEnd(exchange: ObservedExchange, status: number) {
      const metrics = byMethod.get(exchange.method) ?? other;
      metrics.active--;
      const seconds = (performance.now() - exchange.started) / 1000;
      histogram.record(forDuration(metrics, status, exchange.routeIndex), seconds);
      const decision = forDecision(exchange.decision);
      if (decision.tally !== undefined) decision.tally.total++;
      decision.counter?.add(1, decision.counterAttributes);
    },
  };
}

/**
 * What one decision string counts. A forwarded request, and one that then failed upstream, is an
 * `allow` of the chain; requests rejected before the policies ran (`reject:`) are no decision.
 */
function decisionMetrics(
  decision: string,
  instruments: Instruments,
  tallies: Map<string, DecisionTally>,
): DecisionMetrics {
  const { outcome, policy } = splitDecision(decision);
  const tallyOf = (attributes: Attributes): DecisionTally => {
    const key = `${attributes["podgate.policy"]}\n${attributes["podgate.outcome"]}`;
    let tally = tallies.get(key);
    if (tally === undefined) {
      tally = { attributes, total: 0 };
      tallies.set(key, tally);
    }
    return tally;
  };
  if (outcome === "error") {
    const attributes = Object.freeze({ "error.type": policy });
    return { tally: tallyOf(ALLOW), counter: instruments.upstreamErrors, counterAttributes: attributes };
  }
  const attributes = Object.freeze({ "podgate.policy": policy, "podgate.outcome": outcome });
  if (outcome === "reject") return { tally: undefined, counter: undefined, counterAttributes: attributes };
  const counter = decision.startsWith("deny:rate-limit:")
    ? instruments.rateLimitRejections
    : decision.startsWith("deny:quota:")
      ? instruments.quotaRejections
      : undefined;
  return { tally: tallyOf(attributes), counter, counterAttributes: attributes };
}

const ALLOW: Attributes = Object.freeze({ "podgate.policy": "chain", "podgate.outcome": "allow" });
