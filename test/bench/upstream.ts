/**
 * The benchmark's upstream app: a plain node:http server on 127.0.0.1 that answers every request
 * with `200 ok\n` and a content-length, over keep-alive. Prints `{"port":N}` once listening.
 *
 * Run: `node test/bench/upstream.ts [port]` (default 0, a free port).
 */
import http from "node:http";

const BODY = Buffer.from("ok\n");
const HEADERS = ["content-type", "text/plain", "content-length", String(BODY.length)];

const server = http.createServer(
  // Longer than any proxy's idle timeout, so the proxy closes idle connections first and never
  // races a request against our close (nodejs/node#37184).
  { keepAliveTimeout: 65_000 },
  function answer(request, response) {
    request.resume();
    response.writeHead(200, HEADERS);
    response.end(BODY);
  },
);

server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
