import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rawRequest } from "../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

/** One forwarding case: a raw request, what the app must receive, what it must not, and the answer. */
interface ForwardingCase {
  name: string;
  request: string;
  expectedUpstream: { url?: string; headers?: Record<string, string | RegExp> };
  absentUpstreamHeaders?: string[];
  response: { status: number; headers?: Record<string, string | RegExp> };
  config?: Record<string, unknown>;
}

const get = (path: string, ...headers: string[]) =>
  `GET ${path} HTTP/1.1\r\nHost: app.example\r\n${headers.map((h) => `${h}\r\n`).join("")}Connection: close\r\n\r\n`;

const cases: ForwardingCase[] = [
  {
    name: "forwards method, path, query and end-to-end headers unchanged",
    request: get("/orders/7?expand=items&x=%2F", "Accept: application/json", "X-Custom: Kept"),
    expectedUpstream: {
      url: "/orders/7?expand=items&x=%2F",
      headers: { host: "app.example", accept: "application/json", "x-custom": "Kept" },
    },
    response: { status: 200 },
  },
  {
    name: "sets X-Forwarded-For/-Proto/-Host and Forwarded from the socket, replacing forged ones",
    request: get(
      "/",
      "X-Forwarded-For: 6.6.6.6",
      "X-Forwarded-Host: evil.example",
      "X-Forwarded-Proto: https",
      "Forwarded: for=6.6.6.6",
      "X-Real-IP: 6.6.6.6",
    ),
    expectedUpstream: {
      headers: {
        "x-forwarded-for": "127.0.0.1",
        "x-forwarded-proto": "http",
        "x-forwarded-host": "app.example",
        forwarded: "for=127.0.0.1;host=app.example;proto=http",
      },
    },
    absentUpstreamHeaders: ["x-real-ip"],
    response: { status: 200 },
  },
  {
    name: "extends the forwarding chain of a trusted proxy",
    config: { forwarding: { trustedProxies: ["127.0.0.0/8"] } },
    request: get(
      "/",
      "X-Forwarded-For: 198.51.100.7",
      "X-Forwarded-Proto: https",
      "Forwarded: for=198.51.100.7",
    ),
    expectedUpstream: {
      headers: {
        "x-forwarded-for": "198.51.100.7, 127.0.0.1",
        "x-forwarded-proto": "https",
        forwarded: "for=198.51.100.7, for=127.0.0.1;host=app.example;proto=http",
      },
    },
    response: { status: 200 },
  },
  {
    name: "strips hop-by-hop headers and those the Connection header names",
    request:
      "GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close, X-Secret-Hop, X-Forwarded-For\r\nKeep-Alive: timeout=5\r\n" +
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\nTrailer: X-Checksum\r\nProxy-Connection: keep-alive\r\n" +
      "X-Secret-Hop: 1\r\nUpgrade: h2c\r\n\r\n",
    expectedUpstream: { headers: { "x-forwarded-for": "127.0.0.1" } },
    absentUpstreamHeaders: [
      "keep-alive",
      "proxy-authorization",
      "te",
      "trailer",
      "proxy-connection",
      "x-secret-hop",
      "upgrade",
    ],
    response: { status: 200 },
  },
  {
    name: "keeps a valid x-request-id and sends it both ways",
    request: get("/", "X-Request-Id: abc-123.def"),
    expectedUpstream: { headers: { "x-request-id": "abc-123.def" } },
    response: { status: 200, headers: { "x-request-id": "abc-123.def" } },
  },
  {
    name: "replaces an invalid x-request-id with a generated one",
    request: get("/", "X-Request-Id: <script>"),
    expectedUpstream: { headers: { "x-request-id": /^[0-9a-f-]{36}$/ } },
    response: { status: 200, headers: { "x-request-id": /^[0-9a-f-]{36}$/ } },
  },
  {
    name: "forwards the canonical path the rules saw",
    request: get("/a/%7Euser/%41b"),
    expectedUpstream: { url: "/a/~user/Ab" },
    response: { status: 200 },
  },
  {
    name: "merges slashes when configured",
    config: { paths: { mergeSlashes: true } },
    request: get("//a///b"),
    expectedUpstream: { url: "/a/b" },
    response: { status: 200 },
  },
];

describe("forwarding", () => {
  let upstream: EchoUpstream;
  let sidecar: TestSidecar | undefined;

  beforeEach(async () => {
    upstream = await startEchoUpstream();
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await upstream.close();
  });

  it.each(cases)("$name", async (c) => {
    sidecar = await startTestSidecar(upstream.url, c.config);
    const response = await rawRequest(sidecar.port, c.request);
    expect(response.status).toBe(c.response.status);
    for (const [name, value] of Object.entries(c.response.headers ?? {}))
      expect(response.headers[name]).toMatch(value);
    expect(upstream.received).toHaveLength(1);
    const seen = upstream.received[0];
    if (c.expectedUpstream.url !== undefined) expect(seen?.url).toBe(c.expectedUpstream.url);
    for (const [name, value] of Object.entries(c.expectedUpstream.headers ?? {}))
      expect(seen?.headers[name]).toMatch(value);
    for (const name of c.absentUpstreamHeaders ?? []) expect(seen?.headers).not.toHaveProperty(name);
  });

  it("sends the same request id upstream and back when it generates one", async () => {
    sidecar = await startTestSidecar(upstream.url);
    const response = await rawRequest(sidecar.port, get("/"));
    expect(upstream.received[0]?.headers["x-request-id"]).toBe(response.headers["x-request-id"]);
  });

  it("passes the app's own error responses through untouched", async () => {
    upstream.handler = (_req, res) => {
      const body = "stack trace of the app, its own business";
      res.writeHead(500, "App Broke", {
        "content-type": "text/plain",
        "content-length": body.length,
        "x-app": "yes",
        "set-cookie": ["a=1", "b=2"],
      });
      res.end(body);
    };
    sidecar = await startTestSidecar(upstream.url);
    const response = await rawRequest(sidecar.port, get("/"));
    expect(response.raw).toMatch(/^HTTP\/1\.1 500 App Broke\r\n/);
    expect(response.headers["x-app"]).toBe("yes");
    expect(response.raw).toContain("set-cookie: a=1\r\nset-cookie: b=2\r\n");
    expect(response.body).toBe("stack trace of the app, its own business");
  });

  it("keeps the client connection alive across requests", async () => {
    sidecar = await startTestSidecar(upstream.url);
    const twoRequests = get("/one").replace("Connection: close\r\n", "") + get("/two");
    const response = await rawRequest(sidecar.port, twoRequests);
    expect(response.raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(upstream.received.map((r) => r.url)).toEqual(["/one", "/two"]);
  });
});

describe("problem responses", () => {
  let upstream: EchoUpstream;
  let sidecar: TestSidecar;

  beforeEach(async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, {
      routes: [
        { path: "/api/**", methods: ["GET", "POST"] },
        { path: "/ws", methods: ["GET"] },
      ],
      limits: { maxBodyBytes: 1000, maxHeaderBytes: 2048, maxHeaderCount: 20 },
    });
  });
  afterEach(async () => {
    await sidecar.close();
    await upstream.close();
  });

  it.each([
    ["a path no route allows", get("/admin"), 404, "route-not-found"],
    ["a method the route does not allow", get("/api/x").replace("GET", "DELETE"), 405, "method-not-allowed"],
    ["a dot-segment trick", get("/api/%2e%2e/admin"), 400, "bad-path"],
    ["an encoded slash", get("/api/a%2Fb"), 400, "bad-path"],
    ["absolute-form", get("http://evil.example/api/x"), 400, "bad-path"],
    ["two Host headers", get("/api/x", "Host: other.example"), 400, "bad-request"],
    ["a missing Host on HTTP/1.1", "GET /api/x HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "bad-request"],
    [
      "Transfer-Encoding on HTTP/1.0",
      "POST /api/x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
      400,
      "bad-request",
    ],
    [
      "a transfer coding other than chunked",
      "POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
      400,
      "bad-request",
    ],
    [
      "a declared body over the limit",
      "POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n",
      413,
      "body-too-large",
    ],
    [
      "more headers than allowed",
      get("/api/x", ...Array.from({ length: 25 }, (_, i) => `X-H${i}: v`)),
      431,
      "headers-too-large",
    ],
    ["headers larger than allowed", get("/api/x", `X-Big: ${"a".repeat(3000)}`), 431, "headers-too-large"],
    ["bytes that are not HTTP", "HELLO\r\n\r\n", 400, "bad-request"],
  ])("answers %s with an RFC 9457 problem", async (_name, request, status, slug) => {
    const response = await rawRequest(sidecar.port, request);
    expect(response.status).toBe(status);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    const problem = JSON.parse(response.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ type: `https://podgate.io/problems/${slug}`, status });
    expect(typeof problem.title).toBe("string");
    expect(response.body).not.toMatch(/at .*\.ts:\d+/);
    expect(upstream.received).toHaveLength(0);
  });

  it("names the allowed methods on a 405", async () => {
    const response = await rawRequest(sidecar.port, get("/api/x").replace("GET", "PUT"));
    expect(response.headers.allow).toBe("GET, POST, HEAD");
  });

  it("stops a chunked body at the limit with 413 while it streams", async () => {
    const chunk = "a".repeat(400);
    const body = `190\r\n${chunk}\r\n190\r\n${chunk}\r\n190\r\n${chunk}\r\n0\r\n\r\n`;
    const response = await rawRequest(
      sidecar.port,
      `POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
    );
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ type: "https://podgate.io/problems/body-too-large" });
    expect(response.closed).toBe(true);
  });

  it("lets a chunked body under the limit through", async () => {
    const response = await rawRequest(
      sidecar.port,
      "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    expect(response.status).toBe(200);
    expect(upstream.received[0]?.body.toString()).toBe("hello");
  });
});
