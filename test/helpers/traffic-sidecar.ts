import { EventEmitter } from "node:events";
import type http from "node:http";
import pino from "pino";
import type { Identity, Policy, RequestContext } from "../../sidecar/chain.ts";
import { parseConfig, type SidecarConfig } from "../../sidecar/config.ts";
import type { GatewayState } from "../../sidecar/data-plane.ts";
import { startSidecar } from "../../sidecar/main.ts";
import { type TrafficDependencies, trafficPolicies } from "../../sidecar/policies/traffic.ts";
import { fetchOnce } from "./connections.ts";

/** A sidecar on 127.0.0.1:0 whose chain is the traffic policies of `policies`. */
export interface TrafficSidecar {
  readonly url: string;
  readonly port: number;
  readonly config: SidecarConfig;
  /** The traffic policies, in chain order, for inspecting their state. */
  readonly policies: readonly Policy[];
  readonly state: Readonly<GatewayState>;
  /** Sends one request on its own connection and reads the whole response. */
  request(path: string, options?: TrafficRequestOptions): Promise<TrafficResponse>;
  close(): Promise<void>;
}

/** Options of TrafficSidecar.request. */
export interface TrafficRequestOptions {
  method?: string;
  headers?: Record<string, string>;
}

/** A response as read by TrafficSidecar.request. */
export interface TrafficResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Options of startTrafficSidecar. */
export interface TrafficSidecarOptions {
  /** The `policies` section of the config. */
  policies: Record<string, unknown>;
  /** Other top-level config (routes, forwarding). */
  config?: Record<string, unknown>;
  /** Policies that run before the traffic policies, e.g. headerIdentity. */
  before?: Policy[];
  deps?: TrafficDependencies;
}

/** Starts a sidecar (startSidecar) in front of `upstreamUrl` with [...before, ...trafficPolicies(config, deps)]. */
export async function startTrafficSidecar(
  upstreamUrl: string,
  options: TrafficSidecarOptions,
): Promise<TrafficSidecar> {
  const config = parseConfig({
    listener: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    drain: { delayMs: 0, timeoutMs: 2000 },
    log: { accessLog: false },
    telemetry: { metrics: false, tracing: false },
    upstream: { url: upstreamUrl },
    ...options.config,
    policies: options.policies,
  });
  let policies: Policy[] = [];
  const sidecar = await startSidecar(config, {
    log: pino({ level: "silent" }),
    policies: (parsed, deps) => {
      policies = trafficPolicies(parsed, options.deps ?? { store: deps.store });
      return [...(options.before ?? []), ...policies];
    },
  });
  const url = `http://127.0.0.1:${sidecar.data.port}`;
  return {
    url,
    port: sidecar.data.port,
    config,
    policies,
    state: sidecar.state,
    request: (path, requestOptions = {}) => send(`${url}${path}`, requestOptions),
    close: () => sidecar.close(),
  };
}

/** A stand-in for the authentication policies: the value of `header` becomes the identity (api-key source). */
export function headerIdentity(header: string): Policy {
  return {
    name: "test-identity",
    evaluate(context) {
      const id = context.req.headers[header];
      if (typeof id === "string") context.identity = { id, source: "api-key" };
      return undefined;
    },
  };
}

/** What a fake request context is built from. */
export interface FakeRequest {
  method?: string;
  path?: string;
  clientAddress?: string;
  identity?: Identity;
  headers?: Record<string, string>;
  /** Marks a WebSocket upgrade, as Node does. */
  upgrade?: boolean;
}

/** A socket stand-in for unit tests: emit `close` and set `destroyed` to act out a client going away. */
export type FakeSocket = EventEmitter & { destroyed: boolean };

/** A request context for calling a policy directly, without sockets. */
export function fakeContext(request: FakeRequest = {}): RequestContext & { req: { socket: FakeSocket } } {
  const headers = request.headers ?? {};
  const socket = Object.assign(new EventEmitter(), { destroyed: false });
  const req = {
    rawHeaders: Object.entries(headers).flat(),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    socket,
    upgrade: request.upgrade ?? false,
  };
  return {
    req: req as unknown as RequestContext["req"] & { socket: FakeSocket },
    method: request.method ?? "GET",
    path: request.path ?? "/",
    clientAddress: request.clientAddress ?? "192.0.2.1",
    requestId: "test",
    contentLength: -1,
    maxBodyBytes: 1024,
    identity: request.identity,
    routeIndex: -1,
    upstreamEdits: undefined,
    responseEdits: undefined,
    onDone: undefined,
  };
}

/** The response header a policy asked for, from a context's edits. */
export function responseField(context: RequestContext, name: string): string | undefined {
  const set = context.responseEdits?.set ?? [];
  for (let i = 0; i < set.length; i += 2) if (set[i] === name) return set[i + 1];
  return undefined;
}

/** Runs the exchange-end callbacks, as the data plane's finish does. */
export function finishExchange(context: RequestContext, status = 200): void {
  for (const done of context.onDone ?? []) done(status);
}

/** One request on its own connection (fetchOnce), with the body read as text. */
async function send(url: string, options: TrafficRequestOptions): Promise<TrafficResponse> {
  const response = await fetchOnce(url, { method: options.method, headers: options.headers });
  return { status: response.status, headers: response.headers, body: response.body.toString("utf8") };
}
