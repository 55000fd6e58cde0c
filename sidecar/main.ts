import { once } from "node:events";
import type http from "node:http";
import type https from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { accessLogWriter } from "./access-log.ts";
import { type AdminPlane, type PreparedAdminPlane, prepareAdminPlane } from "./admin/plane.ts";
import { auditLog } from "./audit.ts";
import { composeChain, type Policy } from "./chain.ts";
import { clientAddressResolver } from "./client-address.ts";
import type { SidecarConfig } from "./config.ts";
import { createDataPlane, type GatewayState } from "./data-plane.ts";
import { createForwarder, type Forwarder } from "./forward.ts";
import { createSidecarLogger } from "./logger.ts";
import { bodyLimit } from "./policies/body-limit.ts";
import { edgePolicies } from "./policies/edge.ts";
import { identityPolicies } from "./policies/identity.ts";
import { routeAllowlist } from "./policies/route-allowlist.ts";
import { trafficPolicies } from "./policies/traffic.ts";
import { compileRedactor } from "./redact.ts";
import type { CounterStore } from "./store/counter-store.ts";
import { MemoryCounterStore } from "./store/memory-store.ts";
import { combineObservers } from "./telemetry/observer.ts";
import type { Telemetry, TelemetryOptions } from "./telemetry/setup.ts";
import { watchTlsFiles } from "./tls.ts";
import { createUpgradeForwarder, type UpgradeForwarder } from "./upgrade.ts";

/** A running gateway: its addresses, and how to drain or stop it. */
export interface RunningSidecar {
  readonly data: AddressInfo;
  readonly admin: AddressInfo;
  readonly state: Readonly<GatewayState>;
  /** Graceful drain: not ready, keep serving `drain.delayMs`, stop listening, finish in-flight work. */
  drain(): Promise<void>;
  /** Stops at once: closes listeners and every connection. */
  close(): Promise<void>;
}

/** Options of startSidecar. */
export interface StartOptions {
  /** Where logs go; default: createSidecarLogger (stdout, redacted). */
  log?: Logger;
  /** How often TLS files are checked for changes, in ms; default 2000. */
  tlsPollMs?: number;
  /** Issue 7, test seams: span exporter, metric readers, environment and sampling coin. */
  telemetry?: Omit<TelemetryOptions, "config" | "redact" | "openExportPort">;
  /** Issue 7, test seam: where audit records go instead of `config.audit.file`. */
  auditStream?: NodeJS.WritableStream;
  /** Test seam: compiles the chain instead of compilePolicies (injected clocks, stand-in policies). */
  policies?: (config: SidecarConfig, deps: PolicyDependencies) => Policy[];
}

/** What compiled policies share: the counter store, the logger, and a signal that stops file watchers. */
export interface PolicyDependencies {
  store: CounterStore;
  log: Logger;
  signal?: AbortSignal;
}

/**
 * Compiles the policy chain from config, in its fixed order (the README lists it): header rules,
 * IP rules, CORS (edge.ts); the route allowlist; the body limit; lockout, authentication and route
 * authorization (identity.ts, after the allowlist whose matched route they read); then rate limits,
 * quotas and the concurrency limit (traffic.ts, after identity, which identity-keyed limits need),
 * the concurrency limit last so a slot is taken only by a request that passed everything else.
 * Unreadable key files throw here, before anything listens.
 */
export function compilePolicies(config: SidecarConfig, deps: PolicyDependencies): Policy[] {
  const policies: Policy[] = [...edgePolicies(config)];
  if (config.routes !== undefined) policies.push(routeAllowlist(config.routes));
  policies.push(bodyLimit(config.limits.maxBodyBytes));
  policies.push(...identityPolicies(config, { log: deps.log, signal: deps.signal }));
  policies.push(...trafficPolicies(config, { store: deps.store }));
  return policies;
}

/** Starts the data plane and the admin plane from a validated config. */
export async function startSidecar(
  config: SidecarConfig,
  options: StartOptions = {},
): Promise<RunningSidecar> {
  const log = options.log ?? createSidecarLogger(config);
  const state: GatewayState = { draining: false, inFlight: 0 };
  // The admin worker loads while the rest starts; it listens after the data plane.
  const admin = prepareAdminPlane({ config, state, log });
  try {
    return await startPlanes({ config, options, log, state, admin });
  } catch (error) {
    await admin.abort();
    throw error;
  }
}

interface PlaneOptions {
  config: SidecarConfig;
  options: StartOptions;
  log: Logger;
  state: GatewayState;
  admin: PreparedAdminPlane;
}

async function startPlanes({ config, options, log, state, admin: preparedAdmin }: PlaneOptions) {
  const forwarder = createForwarder(config.upstream);
  const upgrades = createUpgradeForwarder(config.upstream.url, config.upstream.connectTimeoutMs);
  const store = new MemoryCounterStore();
  const watchers = new AbortController();
  const chain = composeChain(
    (options.policies ?? compilePolicies)(config, { store, log, signal: watchers.signal }),
  );
  const clientAddress = clientAddressResolver(config.forwarding.trustedProxies);
  // --- issue 7: redaction, telemetry (loaded only when on) and the audit log ---
  const redact = compileRedactor(config.redact.patterns);
  const telemetry = await startTelemetryIfWanted(config, {
    redact,
    openExportPort: preparedAdmin.openExportPort,
    ...options.telemetry,
  });
  const audit = config.audit.enabled ? auditLog({ config, redact, stream: options.auditStream }) : undefined;
  const observer = combineObservers([telemetry?.observer, audit?.observer]);
  const accessLog = config.log.accessLog ? accessLogWriter(log) : undefined;
  const dataPlane = {
    config,
    chain,
    forwarder,
    upgrades,
    clientAddress,
    state,
    log,
    observer,
    redact,
    accessLog,
  };
  const server = createDataPlane(dataPlane);

  server.listen({ host: config.listener.host, port: config.listener.port });
  await once(server, "listening");
  const admin = await preparedAdmin.listen(telemetry?.scrape);
  const data = server.address() as AddressInfo;
  const adminAddress = admin.address;
  log.info(
    { data: pick(data), admin: pick(adminAddress), upstream: config.upstream.url },
    "podgate sidecar listening",
  );

  const stopWatching =
    config.listener.tls === undefined
      ? () => undefined
      : watchTlsFiles(server as https.Server, config.listener.tls, log, options.tlsPollMs ?? 2000);
  const parts = {
    server,
    admin,
    forwarder,
    upgrades,
    store,
    observers: [
      // A collector that cannot be reached loses the last batch, but must not fail the shutdown.
      () =>
        telemetry
          ?.shutdown()
          .catch((error: unknown) =>
            log.warn({ err: error }, "telemetry: the final export failed at shutdown; its data is lost"),
          ),
      () => audit?.close(),
      () => accessLog?.flush(),
    ],
    stopWatching: () => {
      stopWatching();
      watchers.abort();
    },
  };
  let closing: Promise<void> | undefined;
  const closeOnce = () => {
    closing ??= closeAll(parts);
    return closing;
  };
  let draining: Promise<void> | undefined;
  return {
    data,
    admin: adminAddress,
    state,
    drain() {
      draining ??= drain({ config, state, parts, log, closeOnce });
      return draining;
    },
    close: closeOnce,
  };
}

const pick = (address: AddressInfo) => ({ host: address.address, port: address.port });

interface Parts {
  stopWatching: () => void;
  store: CounterStore;
  server: http.Server;
  admin: AdminPlane;
  forwarder: Forwarder;
  upgrades: UpgradeForwarder;
  observers: Array<() => Promise<void> | void>;
}

interface DrainOptions {
  config: SidecarConfig;
  state: GatewayState;
  parts: Parts;
  log: Logger;
  closeOnce: () => Promise<void>;
}

async function drain({ config, state, parts, log, closeOnce }: DrainOptions): Promise<void> {
  state.draining = true;
  log.info({ delayMs: config.drain.delayMs, inFlight: state.inFlight }, "draining: readiness is false");
  await sleep(config.drain.delayMs);
  const closed = new Promise<void>((resolve) => parts.server.close(() => resolve()));
  log.info({ inFlight: state.inFlight }, "draining: listener closed, finishing in-flight requests");
  // close() closes only the connections idle at that moment; a keep-alive connection whose
  // response is still under way must be closed when it goes idle, or the drain waits it out.
  const sweeper = setInterval(() => parts.server.closeIdleConnections(), 50);
  const done = new AbortController();
  const finished = await Promise.race([
    Promise.all([closed, waitUntil(() => parts.upgrades.open === 0, done.signal)]).then(() => true),
    sleep(config.drain.timeoutMs, false, { signal: done.signal }).catch(() => false),
  ]);
  // Cancel the losing timer: a pending one would keep the process alive until it fires.
  done.abort();
  clearInterval(sweeper);
  if (!finished) log.warn({ inFlight: state.inFlight }, "draining: timeout reached, closing what is left");
  await closeOnce();
  log.info({ inFlight: state.inFlight }, "drained");
}

async function waitUntil(condition: () => boolean, signal: AbortSignal): Promise<void> {
  while (!condition() && !signal.aborted) {
    await sleep(50, undefined, { signal }).catch(() => undefined);
  }
}

async function closeAll(parts: Parts): Promise<void> {
  parts.stopWatching();
  parts.server.close();
  parts.server.closeAllConnections();
  parts.upgrades.destroyAll();
  await Promise.all([parts.forwarder.close(), parts.store.close()]);
  await Promise.all(parts.observers.map((close) => close()));
  // Last: the admin worker also sends the final OTLP exports that telemetry's shutdown flushes.
  await parts.admin.close();
}

/**
 * Metrics are on by default; traces only when an OTLP endpoint (or a test exporter) is configured.
 * The OpenTelemetry modules are imported only then, so a sidecar with telemetry off loads none.
 */
async function startTelemetryIfWanted(
  config: SidecarConfig,
  options: Omit<TelemetryOptions, "config">,
): Promise<Telemetry | undefined> {
  const env = options.env ?? process.env;
  const tracing =
    config.telemetry.tracing &&
    (options.spanExporter !== undefined ||
      Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT));
  if (!config.telemetry.metrics && !tracing) return undefined;
  const { startTelemetry } = await import("./telemetry/setup.ts");
  return startTelemetry({ config, ...options });
}
