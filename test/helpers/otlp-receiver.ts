import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** What an OTLP/HTTP receiver got: each request's path and body text. */
export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly received: Array<{ url: string; body: string }>;
  close(): Promise<void>;
}

/** A real OTLP/HTTP receiver on loopback: answers 200 `{}` to every export and keeps what it got. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: Array<{ url: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      received.push({ url: req.url ?? "", body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
