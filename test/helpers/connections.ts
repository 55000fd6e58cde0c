import http from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseRaw, type RawResponse } from "./raw-http.ts";

/** A complete response read with node:http over its own connection. */
export interface FetchedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Options of fetchOnce. */
export interface FetchOnceOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** Sends one request on a fresh connection (no agent, no pooling) and reads the whole response. */
export function fetchOnce(url: string, options: FetchOnceOptions = {}): Promise<FetchedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? "GET",
      headers: options.headers,
      agent: false,
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.end(options.body);
  });
}

/** A keep-alive connection that has had one complete response and is now idle. */
export interface IdleConnection {
  readonly response: RawResponse;
  /** Resolves when the server closes the connection (end, close or reset). */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  destroy(): void;
}

/**
 * Opens a connection to 127.0.0.1:port, sends one keep-alive GET for `target`, reads the complete
 * response (framed by Content-Length) and leaves the connection open and idle.
 */
export function openIdleConnection(port: number, target = "/"): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let closedFlag = false;
    let answered = false;
    const closed = new Promise<void>((done) => {
      socket.once("close", () => {
        closedFlag = true;
        done();
      });
    });
    socket.on("error", (error) => {
      if (!answered) reject(error);
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString("latin1");
      if (answered || !completeResponse(text)) return;
      answered = true;
      resolve({
        response: parseRaw(text, false),
        closed,
        isClosed: () => closedFlag,
        destroy: () => socket.destroy(),
      });
    });
    socket.once("close", () => {
      if (!answered)
        reject(new Error(`connection closed before a complete response: ${received.toString("latin1")}`));
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: podgate.test\r\nConnection: keep-alive\r\n\r\n`);
  });
}

function completeResponse(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  if (length === null) throw new Error(`response without Content-Length: ${text.slice(0, end)}`);
  return Buffer.byteLength(text.slice(end + 4), "latin1") >= Number(length[1]);
}

/**
 * Tries a TCP connection to 127.0.0.1:port: "connected" (then closed at once), "refused", or
 * "reset" (the kernel completed the handshake into the listen backlog, then the listener closed).
 */
export function connectOutcome(port: number): Promise<"connected" | "refused" | "reset"> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") resolve("refused");
      else if (error.code === "ECONNRESET") resolve("reset");
      else reject(error);
    });
  });
}

/** Resolves once a connection to 127.0.0.1:port is refused, trying every `intervalMs`. */
export async function untilRefused(port: number, intervalMs = 20): Promise<void> {
  while ((await connectOutcome(port)) !== "refused") await sleep(intervalMs);
}
