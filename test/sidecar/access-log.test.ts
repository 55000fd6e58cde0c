import { afterEach, describe, expect, it } from "vitest";
import { rawRequest } from "../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

describe("access log", () => {
  let sidecar: TestSidecar;
  let upstream: EchoUpstream;

  afterEach(async () => {
    await sidecar.close();
    await upstream.close();
  });

  it("writes one line per request with method, path, status, duration, bytes, request id and decision", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url, { routes: [{ path: "/ok" }] });
    await rawRequest(
      sidecar.port,
      "GET /ok?token=abc HTTP/1.1\r\nHost: a\r\nX-Request-Id: r-1\r\nConnection: close\r\n\r\n",
    );
    await rawRequest(
      sidecar.port,
      "GET /nope HTTP/1.1\r\nHost: a\r\nX-Request-Id: r-2\r\nConnection: close\r\n\r\n",
    );
    await expect.poll(() => sidecar.logs.filter((l) => l.msg === "access").length).toBe(2);
    const [ok, denied] = sidecar.logs.filter((l) => l.msg === "access");
    expect(ok).toMatchObject({
      method: "GET",
      path: "/ok",
      status: 200,
      requestId: "r-1",
      decision: "forward",
    });
    expect(ok?.bytes).toBeGreaterThan(50);
    expect(typeof ok?.durationMs).toBe("number");
    expect(denied).toMatchObject({
      path: "/nope",
      status: 404,
      requestId: "r-2",
      decision: "deny:route-allowlist",
    });
  });

  it("never logs Authorization, Cookie, API keys or the query string", async () => {
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(upstream.url);
    const secrets = [
      "Bearer eyJhbGciOiJIUzI1NiJ9.secret-jwt",
      "session=secret-cookie",
      "secret-api-key",
      "secret-query",
    ];
    await rawRequest(
      sidecar.port,
      `GET /x?api_key=${secrets[3]} HTTP/1.1\r\nHost: a\r\nAuthorization: ${secrets[0]}\r\nCookie: ${secrets[1]}\r\n` +
        `X-Api-Key: ${secrets[2]}\r\nConnection: close\r\n\r\n`,
    );
    await expect.poll(() => sidecar.logs.some((l) => l.msg === "access")).toBe(true);
    const text = sidecar.logText();
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
