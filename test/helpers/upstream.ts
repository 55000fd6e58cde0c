import { once } from "node:events";
import http from "node:http";
import net from "node:net";

/** What the echo upstream received for one request. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** A real upstream app on 127.0.0.1:0 that records each request and lets a test answer it. */
export interface EchoUpstream {
  readonly port: number;
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Replace the answer; the default reflects the request as JSON. */
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** The default answer: method, url, headers and body length as JSON. */
export function reflect(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const text = JSON.stringify({
    method: req.method,
    url: req.url,
    headers: req.headers,
    bodyBytes: body.length,
  });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Starts an echo upstream that buffers each request body (tests only send small ones to it). */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const received: ReceivedRequest[] = [];
  const upstream = {
    received,
    handler: reflect,
  } as { received: ReceivedRequest[]; handler: EchoUpstream["handler"] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      received.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      upstream.handler(req, res, body);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  return Object.assign(upstream, {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => closeServer(server),
  });
}

/** A raw TCP upstream that records every byte it receives and answers each connection with `respond`. */
export interface RecordingUpstream {
  readonly port: number;
  readonly url: string;
  /** All bytes received, per connection, in order. */
  readonly connections: Buffer[][];
  received(): string;
  close(): Promise<void>;
}

/** Starts a byte-recording upstream. `respond` sees the bytes so far on a connection and may write. */
export async function startRecordingUpstream(
  respond: (socket: net.Socket, soFar: string, connectionIndex: number) => void,
): Promise<RecordingUpstream> {
  const connections: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const chunks: Buffer[] = [];
    const index = connections.push(chunks) - 1;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      respond(socket, Buffer.concat(chunks).toString("latin1"), index);
    });
    socket.on("error", () => socket.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    received: () => connections.map((c) => Buffer.concat(c).toString("latin1")).join(""),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

/** Closes a server and every connection it still has. */
export async function closeServer(server: net.Server | http.Server): Promise<void> {
  if ("closeAllConnections" in server) server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
