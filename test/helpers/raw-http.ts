import net from "node:net";

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the socket received, as latin1 text. */
  raw: string;
  /** True when the server closed the connection. */
  closed: boolean;
}

/** Options of rawRequest. */
export interface RawRequestOptions {
  /** Stop reading after this long without a close (ms); default 2000. */
  idleMs?: number;
  /** Stop as soon as one complete response (by Content-Length) has arrived. */
  untilComplete?: boolean;
}

/**
 * Sends exact bytes to 127.0.0.1:port and reads what comes back, for requests that well-behaved
 * clients refuse to send (two Host headers, smuggling attempts, absolute-form, slowloris).
 */
export function rawRequest(
  port: number,
  bytes: string | Buffer,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let closed = false;
    const done = () => {
      socket.destroy();
      resolve(parseRaw(Buffer.concat(chunks).toString("latin1"), closed));
    };
    const timer = setTimeout(done, options.idleMs ?? 2000);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.untilComplete && isComplete(Buffer.concat(chunks).toString("latin1"))) {
        clearTimeout(timer);
        done();
      }
    });
    socket.on("end", () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      if (chunks.length > 0) {
        closed = true;
        done();
      } else reject(error);
    });
    socket.write(bytes);
  });
}

function isComplete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return length !== null && text.length - end - 4 >= Number(length[1]);
}

/** Parses the first response in `raw`. */
export function parseRaw(raw: string, closed: boolean): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(" ")[1] ?? 0),
    headers,
    body: end === -1 ? "" : raw.slice(end + 4),
    raw,
    closed,
  };
}
