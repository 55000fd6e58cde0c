import net from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import type { AdminAnswer, AdminQuestion, AdminWorkerData } from "./messages.ts";

/** Asks the data plane's thread; resolves undefined when it does not answer within `timeoutMs`. */
export type AskDataPlane = (
  kind: AdminQuestion["kind"],
  timeoutMs: number,
) => Promise<AdminAnswer | undefined>;

/**
 * The admin plane's routes: `GET /healthz` (the data plane's thread answers), `GET /readyz` (it
 * answers, is not draining, and the app accepts connections), `GET /config` (the effective config,
 * secrets redacted), and `GET /metrics` (Prometheus text, collected by the data plane's thread)
 * when metrics are on. They run in the admin worker (worker.ts), so a probe that answers only says
 * the gateway is alive after asking the thread that serves requests.
 */
export function adminRoutes(data: AdminWorkerData, ask: AskDataPlane): FastifyInstance {
  const admin = Fastify({ logger: false, return503OnClosing: false });
  const unresponsive = {
    status: "unresponsive",
    detail: `the gateway's request thread did not answer within ${data.statusTimeoutMs} ms`,
  };

  admin.get("/healthz", async (_request, reply) => {
    const answer = await ask("status", data.statusTimeoutMs);
    if (answer === undefined) return reply.code(503).send(unresponsive);
    return { status: "alive" };
  });
  admin.get("/readyz", async (_request, reply) => {
    const answer = await ask("status", data.statusTimeoutMs);
    if (answer === undefined) return reply.code(503).send(unresponsive);
    if (answer.kind === "status" && answer.draining) return reply.code(503).send({ status: "draining" });
    const reachable = await acceptsConnections(data.app.host, data.app.port, data.connectTimeoutMs);
    if (!reachable) {
      return reply
        .code(503)
        .send({ status: "app-unreachable", detail: `nothing accepts connections at ${data.app.url}` });
    }
    return { status: "ready" };
  });
  admin.get("/config", async () => data.effectiveConfig);
  if (data.metrics) {
    admin.get("/metrics", async (_request, reply) => {
      const answer = await ask("metrics", data.metricsTimeoutMs);
      reply.type("text/plain; version=0.0.4; charset=utf-8");
      if (answer?.kind === "metrics") return answer.text;
      const why =
        answer === undefined
          ? `the gateway's request thread did not answer within ${data.metricsTimeoutMs} ms`
          : "collecting the metrics failed (the sidecar's log says why)";
      return reply.code(503).send(`# ${why}\n`);
    });
  }
  return admin;
}

/** True when a TCP connection to host:port opens within the timeout. */
function acceptsConnections(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const settle = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => settle(false));
    socket.once("connect", () => settle(true));
    socket.once("error", () => settle(false));
  });
}
