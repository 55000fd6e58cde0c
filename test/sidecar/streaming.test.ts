import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { rawRequest } from "../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { closeServer, type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

describe("streaming protocols through the gateway", () => {
  let sidecar: TestSidecar | undefined;
  let app: http.Server | undefined;
  let upstream: EchoUpstream | undefined;

  afterEach(async () => {
    await sidecar?.close();
    if (app) await closeServer(app);
    await upstream?.close();
    sidecar = undefined;
    app = undefined;
    upstream = undefined;
  });

  async function listen(server: http.Server): Promise<string> {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  it("passes WebSocket upgrades and frames both ways, with forwarding headers set", async () => {
    app = http.createServer();
    const wss = new WebSocketServer({ server: app });
    let upgradeHeaders: http.IncomingHttpHeaders | undefined;
    let upgradeUrl: string | undefined;
    wss.on("connection", (socket, req) => {
      upgradeHeaders = req.headers;
      upgradeUrl = req.url;
      socket.on("message", (data) => socket.send(`echo:${data.toString()}`));
    });
    sidecar = await startTestSidecar(await listen(app), { routes: [{ path: "/ws", methods: ["GET"] }] });
    const client = new WebSocket(`ws://127.0.0.1:${sidecar.port}/ws?room=1`, {
      headers: { "x-forwarded-for": "6.6.6.6" },
    });
    await once(client, "open");
    client.send("hello");
    const [reply] = await once(client, "message");
    expect(String(reply)).toBe("echo:hello");
    expect(upgradeUrl).toBe("/ws?room=1");
    expect(upgradeHeaders?.["x-forwarded-for"]).toBe("127.0.0.1");
    expect(upgradeHeaders?.["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    client.close();
    await once(client, "close");
    wss.close();
  });

  it("refuses a WebSocket upgrade on a path the allowlist does not allow", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, { routes: [{ path: "/ws", methods: ["GET"] }] });
    const response = await rawRequest(
      sidecar.port,
      "GET /admin HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    expect(response.status).toBe(404);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(upstream.received).toHaveLength(0);
  });

  it("streams server-sent events as they are written", async () => {
    let writeSecond: (() => void) | undefined;
    app = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      writeSecond = () => res.end("data: second\n\n");
    });
    sidecar = await startTestSidecar(await listen(app));
    const received: string[] = [];
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`${sidecar?.url}/events`, resolve),
    );
    expect(response.headers["content-type"]).toBe("text/event-stream");
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => received.push(chunk));
    // The first event must arrive while the app is still holding the stream open.
    while (received.join("") !== "data: first\n\n") await once(response, "data");
    writeSecond?.();
    await once(response, "end");
    expect(received.join("")).toBe("data: first\n\ndata: second\n\n");
  });

  it("answers Expect: 100-continue, then forwards the body", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url);
    const socket = net.connect(sidecar.port, "127.0.0.1");
    socket.write(
      "PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    const [interim] = await once(socket, "data");
    expect(String(interim)).toBe("HTTP/1.1 100 Continue\r\n\r\n");
    socket.write("hello");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(socket, "end");
    expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(upstream.received[0]?.body.toString()).toBe("hello");
    expect(upstream.received[0]?.headers).not.toHaveProperty("expect");
  });

  it("refuses an oversized Expect: 100-continue upload without asking for the body", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, { limits: { maxBodyBytes: 100 } });
    const response = await rawRequest(
      sidecar.port,
      "PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
    );
    expect(response.raw).not.toContain("100 Continue");
    expect(response.status).toBe(413);
    expect(response.closed).toBe(true);
    expect(upstream.received).toHaveLength(0);
  });
});
