/**
 * The admission webhook server: fastify over HTTPS with POST /mutate and POST /validate, /healthz and
 * /readyz, certificates read from files and reloaded when they change, graceful shutdown, and one log
 * line per decision.
 */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Server } from "node:https";
import { createSecureContext } from "node:tls";
import type { MeterProvider } from "@opentelemetry/api";
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from "fastify";
import type { Logger } from "pino";
import { parseReview } from "./admission.ts";
import type { AdmissionDeps, Outcome } from "./context.ts";
import { ReviewMalformedError, TlsUnreadableError, WebhookError } from "./errors.ts";
import { type WebhookMetrics, webhookMetrics } from "./metrics.ts";
import { mutate } from "./mutate.ts";
import { validate } from "./validate.ts";

/** AdmissionReviews of several MiB must fit (large pods, many containers); fastify's default is 1 MiB. */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/** How long idle client connections stay open. */
export const KEEP_ALIVE_MS = 120_000;

/** Options of createWebhookServer. */
export interface WebhookServerOptions extends AdmissionDeps {
  certFile: string;
  keyFile: string;
  /** Default 8443. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** pino logger; default: silent. */
  logger?: Logger;
  /** How often certificate files are checked for changes; default 2000 ms. */
  certPollMs?: number;
  /** Issue 7: where review metrics go; default the global OpenTelemetry meter provider. */
  meterProvider?: MeterProvider;
}

/** A running (or ready to run) webhook server. */
export interface WebhookServer {
  app: FastifyInstance;
  /** Starts listening; resolves to the port. */
  listen(): Promise<number>;
  /** Reads the certificate and key again and serves them to new connections. Throws TlsUnreadableError. */
  reloadCertificates(): void;
  /** Stops reporting ready, finishes in-flight reviews and closes. */
  close(): Promise<void>;
  /** Called after each automatic reload attempt (error when it failed and the old certificate stays). */
  onCertificateReload?: (error?: Error) => void;
}

function readKeyPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  try {
    const pair = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
    createSecureContext(pair);
    return pair;
  } catch (error) {
    throw new TlsUnreadableError(
      `cannot load TLS certificate ${certFile} and key ${keyFile}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof WebhookError) {
    const problems = error instanceof ReviewMalformedError ? error.problems : undefined;
    return reply.code(error.statusCode).send({ code: error.code, message: error.message, problems });
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return reply
      .code(400)
      .send({ code: "PODGATE_WEBHOOK_REVIEW_MALFORMED", message: (error as Error).message });
  }
  return reply.code(500).send({ code: "PODGATE_WEBHOOK_INTERNAL", message: "internal error" });
}

function route(
  app: FastifyInstance,
  path: string,
  handler: typeof mutate,
  options: WebhookServerOptions,
  recorder: WebhookMetrics,
): void {
  app.post(path, async (request, reply) => {
    const started = performance.now();
    const review = parseReview(request.body);
    const outcome: Outcome = await handler(review, options);
    // Issue 7: review metrics.
    recorder.record(outcome.log, (performance.now() - started) / 1000);
    const { log } = outcome;
    const level = log.decision === "denied" ? "warn" : "info";
    app.log[level](log, `${log.webhook} ${log.decision}${log.reason === undefined ? "" : ` ${log.reason}`}`);
    return reply.send(outcome.review);
  });
}

function healthRoutes(app: FastifyInstance, isReady: () => boolean): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) =>
    reply.code(isReady() ? 200 : 503).send({ status: isReady() ? "ready" : "not ready" }),
  );
}

/**
 * Builds the webhook server (not yet listening). Reads the certificate and key at once and throws
 * TlsUnreadableError when they cannot be loaded.
 * @example const server = createWebhookServer({ certFile, keyFile, settings, nativeSidecars: true, injectorVersion, namespaces }); await server.listen();
 */
export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const pair = readKeyPair(options.certFile, options.keyFile);
  const app = Fastify({
    https: pair,
    bodyLimit: BODY_LIMIT_BYTES,
    // The API server keeps connections to webhooks open; Node's 5 s default would close idle ones
    // and make the next review pay a TLS handshake.
    keepAliveTimeout: KEEP_ALIVE_MS,
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.logger === undefined ? {} : { loggerInstance: options.logger }),
  }) as unknown as FastifyInstance;
  let ready = false;
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  healthRoutes(app, () => ready);
  const recorder = webhookMetrics(options.meterProvider);
  route(app, "/mutate", mutate, options, recorder);
  route(app, "/validate", validate, options, recorder);
  const server: WebhookServer = {
    app,
    async listen() {
      await app.listen({ port: options.port ?? 8443, host: options.host ?? "0.0.0.0" });
      ready = true;
      watchCertificates(server, options);
      const address = app.server.address();
      return typeof address === "object" && address !== null ? address.port : 0;
    },
    reloadCertificates() {
      const next = readKeyPair(options.certFile, options.keyFile);
      (app.server as Server).setSecureContext(next);
      app.log.info({ certFile: options.certFile }, "TLS certificate reloaded");
    },
    async close() {
      ready = false;
      unwatchFile(options.certFile);
      unwatchFile(options.keyFile);
      await app.close();
    },
  };
  return server;
}

/**
 * Secret volumes update by swapping a symlink, which fs.watch misses; polling the files' stat sees
 * it. https://kubernetes.io/docs/concepts/configuration/secret/#mounted-secrets-are-updated-automatically
 */
function watchCertificates(server: WebhookServer, options: WebhookServerOptions): void {
  const onChange = (current: { mtimeMs: number }, previous: { mtimeMs: number }) => {
    if (current.mtimeMs === previous.mtimeMs) return;
    try {
      server.reloadCertificates();
      server.onCertificateReload?.();
    } catch (error) {
      server.app.log.error({ err: error }, "TLS certificate reload failed; keeping the previous certificate");
      server.onCertificateReload?.(error as Error);
    }
  };
  const interval = options.certPollMs ?? 2000;
  watchFile(options.certFile, { interval }, onChange);
  watchFile(options.keyFile, { interval }, onChange);
}
