import type { IncomingMessage, ServerResponse } from "node:http";
import net from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import type { SidecarConfig } from "./config.ts";
import { redactConfig } from "./config.ts";
import type { GatewayState } from "./data-plane.ts";

/**
 * The admin plane, on its own port: `GET /healthz` (the process is alive), `GET /readyz` (the config
 * is loaded, the app accepts connections, and we are not draining), `GET /config` (the effective
 * config, secrets redacted), and `GET /metrics` (Prometheus text) when metrics are on.
 */
export function createAdminPlane(
  config: SidecarConfig,
  state: GatewayState,
  scrape?: (request: IncomingMessage, response: ServerResponse) => void,
): FastifyInstance {
  const admin = Fastify({ logger: false, return503OnClosing: false });
  const upstream = new URL(config.upstream.url);
  const appPort = Number(upstream.port || 80);
  const appHost = upstream.hostname.replace(/^\[|\]$/g, "");
  const probeTimeoutMs = Math.min(config.upstream.connectTimeoutMs, 1000);

  admin.get("/healthz", async () => ({ status: "alive" }));
  admin.get("/readyz", async (_request, reply) => {
    if (state.draining) return reply.code(503).send({ status: "draining" });
    const reachable = await acceptsConnections(appHost, appPort, probeTimeoutMs);
    if (!reachable) {
      return reply
        .code(503)
        .send({ status: "app-unreachable", detail: `nothing accepts connections at ${config.upstream.url}` });
    }
    return { status: "ready" };
  });
  const effective = redactConfig(config);
  admin.get("/config", async () => effective);
  // Issue 7: the Prometheus exporter writes the response itself.
  if (scrape !== undefined) {
    admin.get("/metrics", (request, reply) => {
      reply.hijack();
      scrape(request.raw, reply.raw);
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
