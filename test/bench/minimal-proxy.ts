/**
 * A minimal reverse proxy on undici `Pool.dispatch()`, after undici's proxy example: the reference
 * for what a bare Node proxy reaches on this machine (target `undici-min`), and a stand-in to test
 * the harness without the sidecar. It has no policies, no timeouts and no error mapping.
 *
 * Run: `node test/bench/minimal-proxy.ts <upstream-url>`; prints `{"port":N}` once listening.
 */
import http from "node:http";
import { Pool } from "undici";

// Hop-by-hop headers are per connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const upstream = process.argv[2];
if (!upstream) throw new Error("usage: minimal-proxy.ts <upstream-url>");
const pool = new Pool(upstream, { connections: 64, pipelining: 1, keepAliveTimeout: 4000 });

function forwardedHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1] ?? "");
  }
  return out;
}

const server = http.createServer({ keepAliveTimeout: 65_000 }, function proxy(request, response) {
  const hasBody =
    request.headers["content-length"] !== undefined || request.headers["transfer-encoding"] !== undefined;
  pool.dispatch(
    {
      method: request.method ?? "GET",
      path: request.url ?? "/",
      headers: forwardedHeaders(request.rawHeaders),
      body: hasBody ? request : null,
    },
    {
      onRequestStart() {
        // Nothing to do; its presence selects undici's controller-based handler API.
      },
      onResponseStart(_controller, status, headers) {
        response.writeHead(status, headers);
      },
      onResponseData(controller, chunk) {
        if (response.write(chunk)) return;
        controller.pause();
        response.once("drain", () => controller.resume());
      },
      onResponseEnd() {
        response.end();
      },
      onResponseError() {
        if (response.headersSent) response.destroy();
        else response.writeHead(502).end();
      },
    },
  );
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
