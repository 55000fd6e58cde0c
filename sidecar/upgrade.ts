import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ProxyServer } from "http-proxy-3";

/**
 * WebSocket upgrades, spliced by http-proxy-3's `ws` pass (its socket-leak fixes are why we keep it
 * here). The data plane has already authorized the request and rewritten `req.url` and
 * `req.headers`; `toProxy` + `prependPath: false` make http-proxy-3 send `req.url` exactly as set
 * instead of re-parsing it, and `xfwd: false` keeps it from appending to forwarding headers.
 */
export interface UpgradeForwarder {
  forward(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Destroys every open upgraded connection (end of a drain). */
  destroyAll(): void;
  readonly open: number;
}

/**
 * Creates the WebSocket forwarder for the app at `upstreamUrl`. http-proxy-3 is loaded on the first
 * upgrade only: it adds about 15 MiB of RSS that a service without WebSockets should not pay.
 */
export function createUpgradeForwarder(upstreamUrl: string, connectTimeoutMs: number): UpgradeForwarder {
  let proxy: Promise<ProxyServer> | undefined;
  const load = async (): Promise<ProxyServer> => {
    const { createProxyServer } = await import("http-proxy-3");
    const server = createProxyServer({
      target: upstreamUrl,
      ws: true,
      xfwd: false,
      toProxy: true,
      prependPath: false,
      connectTimeout: connectTimeoutMs,
    });
    // Without an error listener http-proxy-3 throws, and one refused connection would end the process.
    server.on("error", (_error, _req, target) => {
      if (target && "destroy" in target) (target as Duplex).destroy();
    });
    return server;
  };
  const sockets = new Set<Duplex>();
  return {
    forward(req, socket, head) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      proxy ??= load();
      proxy.then(
        (server) => server.ws(req, socket, head),
        () => socket.destroy(),
      );
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
    get open() {
      return sockets.size;
    },
  };
}

/** Only WebSocket upgrades are spliced; any other `Upgrade` (h2c, say) is served as plain HTTP/1.1. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.method === "GET" && req.headers.upgrade?.toLowerCase() === "websocket";
}
