import { once } from "node:events";
import type net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { rawRequest } from "../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { type RecordingUpstream, startEchoUpstream, startRecordingUpstream } from "../helpers/upstream.ts";

/**
 * Regressions for the stack defects listed in issue 3, each over a raw socket with a byte-recording
 * upstream, so what reaches the app is checked byte for byte.
 */

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/** Answers 200 once a whole request (head, plus a chunked or Content-Length body) has arrived. */
function answerEachRequest(socket: net.Socket, soFar: string): void {
  const state = socket as net.Socket & { answered?: number };
  const complete = completeRequests(soFar);
  while ((state.answered ?? 0) < complete) {
    state.answered = (state.answered ?? 0) + 1;
    socket.write(OK);
  }
}

/** Counts complete requests in `bytes` by their framing. */
function completeRequests(bytes: string): number {
  return requestLines(bytes).length;
}

/** The request lines of the complete requests in `bytes`, found by their framing (never inside a body). */
function requestLines(bytes: string): string[] {
  const lines: string[] = [];
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) return lines;
    const head = rest.slice(0, end).toLowerCase();
    let bodyEnd = end + 4;
    if (head.includes("transfer-encoding: chunked")) {
      const last = rest.indexOf("\r\n0\r\n\r\n", end);
      if (last === -1) return lines;
      bodyEnd = last + 7;
    } else {
      const length = /content-length: (\d+)/.exec(head);
      bodyEnd += length ? Number(length[1]) : 0;
      if (rest.length < bodyEnd) return lines;
    }
    lines.push(rest.slice(0, rest.indexOf("\r\n")));
    rest = rest.slice(bodyEnd);
  }
}

describe("issue 3: defects of the stack that podgate must not pass on", () => {
  let sidecar: TestSidecar | undefined;
  let upstream: RecordingUpstream | undefined;

  afterEach(async () => {
    await sidecar?.close();
    await upstream?.close();
    sidecar = undefined;
    upstream = undefined;
  });

  it.each(["DELETE", "OPTIONS", "GET"])(
    "frames a chunked %s body so it cannot become a second request",
    async (method) => {
      upstream = await startRecordingUpstream(answerEachRequest);
      sidecar = await startTestSidecar(upstream.url);
      const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
      const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
      const response = await rawRequest(
        sidecar.port,
        `${method} /items/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}`,
      );
      expect(response.status).toBe(200);
      const received = upstream.received();
      expect(received).not.toMatch(/content-length: 0/i);
      expect(received).toMatch(/transfer-encoding: chunked/i);
      expect(requestLines(received)).toEqual([`${method} /items/1 HTTP/1.1`]);
      expect(received.endsWith(chunk)).toBe(true);
    },
  );

  it.each([
    "/api/../admin",
    "/api/%2e%2e/admin",
    "/api/.%2e/admin",
    "/api\\..\\admin",
    "/api/..%2fadmin",
    "/api/%2e%2e%5cadmin",
    "http://app/admin",
    "/api/x#/../../admin",
  ])("rejects %s instead of letting the app see another path", async (target) => {
    upstream = await startRecordingUpstream(answerEachRequest);
    sidecar = await startTestSidecar(upstream.url, { routes: [{ path: "/api/**" }] });
    const response = await rawRequest(
      sidecar.port,
      `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(400);
    expect(upstream.received()).toBe("");
  });

  it("sends the app exactly the canonical path it authorized", async () => {
    upstream = await startRecordingUpstream(answerEachRequest);
    sidecar = await startTestSidecar(upstream.url, { routes: [{ path: "/api/**" }] });
    await rawRequest(
      sidecar.port,
      "GET /api/%7euser/a%20b?q=%2e%2e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    expect(requestLines(upstream.received())).toEqual(["GET /api/~user/a%20b?q=%2e%2e HTTP/1.1"]);
  });

  it("cannot be made to drop its own forwarding headers through Connection, nor keep forged ones", async () => {
    upstream = await startRecordingUpstream(answerEachRequest);
    sidecar = await startTestSidecar(upstream.url);
    await rawRequest(
      sidecar.port,
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Forwarded-For, Forwarded, X-Request-Id\r\n" +
        "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\n\r\n",
    );
    const received = upstream.received().toLowerCase();
    expect(received.match(/^x-forwarded-for: .*$/gm)).toEqual(["x-forwarded-for: 127.0.0.1"]);
    expect(received.match(/^x-forwarded-host: .*$/gm)).toEqual(["x-forwarded-host: a"]);
    expect(received.match(/^forwarded: .*$/gm)).toEqual(["forwarded: for=127.0.0.1;host=a;proto=http"]);
    expect(received.match(/^x-request-id: .*$/gm)).toHaveLength(1);
    expect(received).not.toContain("6.6.6.6");
  });

  it("answers 503 to a refused connection and keeps serving", async () => {
    const closed = await startEchoUpstream();
    await closed.close();
    sidecar = await startTestSidecar(closed.url);
    for (let i = 0; i < 3; i++) {
      const response = await rawRequest(
        sidecar.port,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      );
      expect(response.status).toBe(503);
      expect(JSON.parse(response.body)).toMatchObject({
        type: "https://podgate.io/problems/upstream-unavailable",
      });
    }
  });

  it.each([
    ["Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial"],
    ["chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\npartial\r\n"],
  ])("aborts the client connection when the app resets mid-body (%s)", async (_framing, partial) => {
    upstream = await startRecordingUpstream((socket) => {
      socket.write(partial, () => setTimeout(() => socket.resetAndDestroy(), 20));
    });
    sidecar = await startTestSidecar(upstream.url);
    const response = await rawRequest(sidecar.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(response.status).toBe(200);
    expect(response.closed).toBe(true);
    // Neither the declared length nor the last chunk arrives: the client sees a truncated body.
    expect(response.body.length).toBeLessThan(1000);
    expect(response.body).not.toContain("\r\n0\r\n\r\n");
  });

  it("answers 502 when the app resets before answering", async () => {
    upstream = await startRecordingUpstream((socket) => socket.resetAndDestroy());
    sidecar = await startTestSidecar(upstream.url);
    const response = await rawRequest(
      sidecar.port,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
    );
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body)).toMatchObject({ type: "https://podgate.io/problems/upstream-reset" });
  });

  it("answers 504 when the app does not answer in time", async () => {
    upstream = await startRecordingUpstream(() => undefined);
    sidecar = await startTestSidecar(upstream.url, { upstream: { responseTimeoutMs: 200 } });
    const response = await rawRequest(sidecar.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { idleMs: 5000 });
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body)).toMatchObject({ type: "https://podgate.io/problems/upstream-timeout" });
  });

  it("retries once, on a new connection, a GET whose pooled connection the app reset", async () => {
    // The app answers the first request on a connection, then resets that connection when it is reused.
    upstream = await startRecordingUpstream((socket, soFar) => {
      if (completeRequests(soFar) === 1) socket.write(OK);
      else socket.resetAndDestroy();
    });
    sidecar = await startTestSidecar(upstream.url);
    const first = await rawRequest(sidecar.port, "GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const second = await rawRequest(sidecar.port, "GET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(upstream.connections).toHaveLength(2);
    expect(requestLines(upstream.received())).toEqual([
      "GET /1 HTTP/1.1",
      "GET /2 HTTP/1.1",
      "GET /2 HTTP/1.1",
    ]);
  });

  it("never retries a request whose body was already streamed", async () => {
    upstream = await startRecordingUpstream((socket, soFar) => {
      if (completeRequests(soFar) === 1) socket.write(OK);
      else if (completeRequests(soFar) === 2) socket.resetAndDestroy();
    });
    sidecar = await startTestSidecar(upstream.url);
    await rawRequest(sidecar.port, "GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const post = await rawRequest(
      sidecar.port,
      "PUT /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    expect(post.status).toBe(502);
    expect(requestLines(upstream.received())).toEqual(["GET /1 HTTP/1.1", "PUT /2 HTTP/1.1"]);
  });

  it("closes pooled app connections after idleTimeoutMs, before the app's own keep-alive timeout", async () => {
    let closedByPeer: Promise<unknown> | undefined;
    upstream = await startRecordingUpstream((socket, soFar) => {
      closedByPeer ??= once(socket, "end");
      answerEachRequest(socket, soFar);
    });
    sidecar = await startTestSidecar(upstream.url, { upstream: { idleTimeoutMs: 150 } });
    const response = await rawRequest(sidecar.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect(response.status).toBe(200);
    await expect(closedByPeer).resolves.toBeDefined();
  });

  it("answers a slowloris client with 408 once the header-read timeout passes", async () => {
    upstream = await startRecordingUpstream(answerEachRequest);
    sidecar = await startTestSidecar(upstream.url, { limits: { headerReadTimeoutMs: 300 } });
    const response = await rawRequest(sidecar.port, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1", {
      idleMs: 5000,
    });
    expect(response.status).toBe(408);
    expect(response.closed).toBe(true);
    expect(upstream.received()).toBe("");
  });

  it("closes an idle client keep-alive connection after keepAliveTimeoutMs", async () => {
    upstream = await startRecordingUpstream(answerEachRequest);
    sidecar = await startTestSidecar(upstream.url, { limits: { keepAliveTimeoutMs: 200 } });
    const response = await rawRequest(sidecar.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { idleMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.closed).toBe(true);
  });
});
