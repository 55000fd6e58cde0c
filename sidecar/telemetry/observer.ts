import type { ServerResponse } from "node:http";
import type { RequestContext } from "../chain.ts";
import type { RequestHead } from "../request-headers.ts";

/**
 * The data plane's one hook for observability (metrics, traces, the audit log). It imports no
 * OpenTelemetry code, so a sidecar with telemetry off loads none. The data plane calls the hooks
 * with the exchange itself: no per-request closures.
 */

/** What an observer sees of one request. */
export interface ObservedExchange extends RequestContext {
  readonly res: ServerResponse;
  /** performance.now() when the request arrived. */
  readonly started: number;
  /** `forward`, `deny:<policy>`, `respond:<policy>`, `reject:<code>`, `error:<code>`. */
  decision: string;
  /** What the header scan found; a tracer reads `traceparent` and may set it in `upstream`, the headers sent to the app. */
  readonly head: RequestHead;
  /** The observer's per-request slot (the spans of a sampled request); undefined otherwise. */
  trace: unknown;
}

/** Hooks into the request path. Each must be cheap and must not throw. */
export interface ExchangeObserver {
  /** The request was admitted or is about to be rejected; called once per request. */
  onRequestStart?(exchange: ObservedExchange): void;
  /** The policies let the request through; it is about to be sent to the app. */
  onForward?(exchange: ObservedExchange): void;
  /** The exchange ended (the access log line is written here too). */
  onRequestEnd(exchange: ObservedExchange, status: number, bytes: number): void;
}

/** One observer calling several, in order; undefined when there is none. */
export function combineObservers(
  observers: ReadonlyArray<ExchangeObserver | undefined>,
): ExchangeObserver | undefined {
  const list = observers.filter((o): o is ExchangeObserver => o !== undefined);
  if (list.length <= 1) return list[0];
  return {
    onRequestStart(exchange) {
      for (const observer of list) observer.onRequestStart?.(exchange);
    },
    onForward(exchange) {
      for (const observer of list) observer.onForward?.(exchange);
    },
    onRequestEnd(exchange, status, bytes) {
      for (const observer of list) observer.onRequestEnd(exchange, status, bytes);
    },
  };
}

/** Splits a decision string into its outcome and the policy (or error code) that made it. */
export function splitDecision(decision: string): { outcome: string; policy: string } {
  const colon = decision.indexOf(":");
  if (colon < 0) return { outcome: decision === "forward" ? "allow" : decision, policy: "chain" };
  return { outcome: decision.slice(0, colon), policy: decision.slice(colon + 1) };
}
