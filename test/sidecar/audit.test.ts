import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GENESIS, verifyAuditChain } from "../../sidecar/audit.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { startTestSidecar, type TestSidecar } from "../helpers/sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

const KEY = "alpha-key-6b1d0c9e2f7a4c1d";
const JWT = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.secret-signature";

describe("audit log", () => {
  let dir: string;
  let upstream: EchoUpstream;
  let sidecar: TestSidecar | undefined;
  let file: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "podgate-audit-"));
    file = join(dir, "audit", "audit.jsonl");
    upstream = await startEchoUpstream();
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const keys = join(dir, "keys");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, "alpha"), `${KEY}\n`);
    sidecar = await startTestSidecar(upstream.url, {
      routes: [{ path: "/cards/*" }, { path: "/ok" }],
      policies: { apiKeys: { directory: keys } },
      audit: { enabled: true, file },
      redact: { patterns: [{ name: "ssn", pattern: "\\b\\d{3}-\\d{2}-\\d{4}\\b" }] },
      telemetry: { metrics: false },
    });
    return sidecar;
  };
  const get = (port: number, path: string, headers = "") =>
    rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n${headers}Connection: close\r\n\r\n`);
  const records = () =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("writes one chained record per request with identity, client, route, decision, policy and policy hash", async () => {
    const { port } = await start();
    await get(port, "/cards/4111111111111111?cvv=123", `X-Api-Key: ${KEY}\r\nX-Request-Id: r-1\r\n`);
    await get(port, "/ok", "X-Request-Id: r-2\r\n");
    await get(port, "/ok", `X-Api-Key: ${KEY}\r\nAuthorization: ${JWT}\r\nCookie: s=secret-cookie\r\n`);
    await (sidecar as TestSidecar).close();
    const [first, second, third] = records();
    expect(first).toMatchObject({
      requestId: "r-1",
      identity: { id: "alpha", source: "api-key" },
      client: "127.0.0.1",
      method: "GET",
      route: "/cards/*",
      path: "/cards/411111******1111",
      status: 200,
      decision: "allow",
      policy: "chain",
      prev: GENESIS,
    });
    expect(first?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first?.policyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toMatchObject({ identity: null, status: 401, decision: "deny", route: "/ok" });
    expect(second?.prev).toBe(first?.hash);
    expect(third?.prev).toBe(second?.hash);
    const text = readFileSync(file, "utf8");
    for (const secret of [KEY, "secret-signature", "secret-cookie", "4111111111111111", "cvv"]) {
      expect(text).not.toContain(secret);
    }
    expect(verifyAuditChain(text)).toMatchObject({ ok: true, records: 3 });
  });

  it("continues the chain of an existing file after a restart", async () => {
    const first = await start();
    await get(first.port, "/ok", `X-Api-Key: ${KEY}\r\n`);
    await first.close();
    const second = await start();
    await get(second.port, "/ok", `X-Api-Key: ${KEY}\r\n`);
    await second.close();
    expect(verifyAuditChain(readFileSync(file, "utf8"))).toMatchObject({ ok: true, records: 2 });
  });

  describe("tampering", () => {
    const chain = async () => {
      const { port } = await start();
      for (const id of ["a", "b", "c", "d"])
        await get(port, "/ok", `X-Api-Key: ${KEY}\r\nX-Request-Id: ${id}\r\n`);
      await (sidecar as TestSidecar).close();
      return readFileSync(file, "utf8").split("\n").filter(Boolean);
    };

    it("detects an edited field", async () => {
      const lines = await chain();
      lines[1] = (lines[1] as string).replace('"status":200', '"status":201');
      expect(verifyAuditChain(lines.join("\n"))).toMatchObject({ ok: false, line: 2, reason: /modified/ });
    });

    it("detects a deleted line", async () => {
      const lines = await chain();
      lines.splice(2, 1);
      expect(verifyAuditChain(lines.join("\n"))).toMatchObject({
        ok: false,
        line: 3,
        reason: /chain is broken/,
      });
    });

    it("detects reordered lines", async () => {
      const lines = await chain();
      [lines[1], lines[2]] = [lines[2] as string, lines[1] as string];
      expect(verifyAuditChain(lines.join("\n"))).toMatchObject({ ok: false, line: 2 });
    });

    it("detects a deleted first line and a forged hash", async () => {
      const lines = await chain();
      expect(verifyAuditChain(lines.slice(1).join("\n"))).toMatchObject({ ok: false, line: 1 });
      const forged = (lines[0] as string).replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${"a".repeat(64)}"`);
      expect(verifyAuditChain([forged, ...lines.slice(1)].join("\n"))).toMatchObject({ ok: false, line: 1 });
    });
  });
});
