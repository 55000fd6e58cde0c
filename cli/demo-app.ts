import http from "node:http";

/**
 * The playground's demo app: `/` says hello, `/echo` answers with what it received (method, path,
 * headers, body size) so the gateway's forwarding headers can be seen, `/events` streams
 * server-sent events, `/users/<id>` answers a small JSON document, and `/admin` is something the
 * example route allowlist keeps out.
 */
export function createDemoApp(): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/events") return streamEvents(res);
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
    });
    req.on("end", () => {
      if (path === "/echo") {
        return json(res, 200, { method: req.method, url: req.url, headers: req.headers, bodyBytes: size });
      }
      if (path.startsWith("/users/")) return json(res, 200, { id: path.slice(7), name: "Ada" });
      if (path === "/admin") return json(res, 200, { secret: "the allowlist should have stopped you" });
      if (path === "/") return json(res, 200, { hello: "from the demo app behind podgate" });
      return json(res, 404, { error: "the demo app has no such page" });
    });
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function streamEvents(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let n = 0;
  const timer = setInterval(() => {
    n++;
    res.write(`id: ${n}\ndata: tick ${n}\n\n`);
    if (n === 5) {
      clearInterval(timer);
      res.end();
    }
  }, 500);
  res.on("close", () => clearInterval(timer));
}
