import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { apiKeys } from "../../../sidecar/policies/api-keys.ts";
import { identityPolicies } from "../../../sidecar/policies/identity.ts";
import { type PolicySidecar, send, startPolicySidecar } from "../../helpers/policy-sidecar.ts";
import { rawRequest } from "../../helpers/raw-http.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

/** The identity in the first access-log line (written when the exchange ends, just after the answer). */
const accessIdentity = (sidecar: PolicySidecar | undefined) =>
  sidecar?.logs.find((line) => line.msg === "access")?.identity;

const ALPHA = "alpha-key-6b1d0c9e2f7a4c1d";
const BETA = "beta-key-0f3a9d8c7b6e5a41";

describe("API keys over real sockets", () => {
  let upstream: EchoUpstream;
  let sidecar: PolicySidecar | undefined;
  let directory: string;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    return () => upstream.close();
  });
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "podgate-keys-"));
    upstream.received.length = 0;
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    rmSync(directory, { recursive: true, force: true });
  });

  const start = async (apiKeysConfig: object = {}) => {
    sidecar = await startPolicySidecar(
      upstream.url,
      { policies: { apiKeys: { directory, ...apiKeysConfig } } },
      ({ config, log, signal }) => identityPolicies(config, { log, signal, rescanMs: 200 }),
    );
    return sidecar;
  };

  it("accepts a key from the header, names the caller by its id, and strips the key before the app", async () => {
    writeFileSync(join(directory, "alpha"), `${ALPHA}\n`);
    const { port } = await start();
    const reply = await send(port, "/orders", { "x-api-key": ALPHA });
    expect(reply.status).toBe(200);
    expect(upstream.received[0]?.headers["x-api-key"]).toBeUndefined();
    await vi.waitFor(() => expect(accessIdentity(sidecar)).toBe("alpha"));
  });

  it("refuses a wrong key with 401 invalid-credentials and an ApiKey challenge", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port } = await start();
    const reply = await send(port, "/", { "x-api-key": `${ALPHA}x` });
    expect(reply.status).toBe(401);
    expect(reply.headers["www-authenticate"]).toBe('ApiKey header="x-api-key"');
    expect(reply.json()).toMatchObject({ type: "https://podgate.io/problems/invalid-credentials" });
    expect(upstream.received).toHaveLength(0);
  });

  it("answers 401 authentication-required with a challenge when no key is sent", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port } = await start();
    const reply = await send(port, "/");
    expect(reply.status).toBe(401);
    expect(reply.json().code).toBe("PODGATE_AUTH_MISSING");
    expect(reply.headers["www-authenticate"]).toBe('ApiKey header="x-api-key"');
  });

  it("ignores a key in the query string, and never logs it", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port, logText } = await start();
    const reply = await send(port, `/orders?x-api-key=${ALPHA}&api_key=${ALPHA}&apiKey=${ALPHA}`);
    expect(reply.status).toBe(401);
    expect(reply.json().code).toBe("PODGATE_AUTH_MISSING");
    expect(upstream.received).toHaveLength(0);
    expect(logText()).not.toContain(ALPHA);
    expect(reply.body).not.toContain(ALPHA);
  });

  it("refuses a repeated key header, even when one copy is valid", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port } = await start();
    const reply = await send(port, "/", { "x-api-key": [ALPHA, "guess"] });
    expect(reply.status).toBe(401);
    expect(reply.json().code).toBe("PODGATE_AUTH_INVALID");
  });

  it("guards WebSocket upgrades too: no key, no upgrade", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port } = await start();
    const upgrade = (key: string) =>
      rawRequest(
        port,
        "GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${key}\r\n`,
        { idleMs: 1000 },
      );
    expect((await upgrade("")).status).toBe(401);
    expect((await upgrade("x-api-key: guess\r\n")).status).toBe(401);
    expect(upstream.received).toHaveLength(0);
  });

  it("reads the key from the configured header only", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port } = await start({ header: "X-Gateway-Key" });
    expect((await send(port, "/", { "x-gateway-key": ALPHA })).status).toBe(200);
    expect(upstream.received[0]?.headers["x-gateway-key"]).toBeUndefined();
    expect((await send(port, "/", { "x-api-key": ALPHA })).status).toBe(401);
  });

  it("reads a Secret volume: symlinked keys, skipping dotfiles, ..data internals, folders and empty files", async () => {
    mkdirSync(join(directory, "..2026_01_01_00_00_00.1"));
    writeFileSync(join(directory, "..2026_01_01_00_00_00.1", "alpha"), `${ALPHA}\n`);
    symlinkSync("..2026_01_01_00_00_00.1", join(directory, "..data"));
    symlinkSync(join("..data", "alpha"), join(directory, "alpha"));
    writeFileSync(join(directory, ".hidden"), BETA);
    mkdirSync(join(directory, "folder"));
    writeFileSync(join(directory, "empty"), "\n");
    const { port, logs } = await start();
    const accepted = await send(port, "/", { "x-api-key": ALPHA });
    expect(accepted.status).toBe(200);
    await vi.waitFor(() => expect(accessIdentity(sidecar)).toBe("alpha"));
    expect((await send(port, "/", { "x-api-key": BETA })).status).toBe(401);
    expect(logs.find((line) => line.msg === "API keys loaded")?.keys).toBe(1);
  });

  it("picks up a rotated Secret (the ..data symlink swap) without a restart", async () => {
    mkdirSync(join(directory, "..v1"));
    writeFileSync(join(directory, "..v1", "alpha"), ALPHA);
    symlinkSync("..v1", join(directory, "..data"));
    symlinkSync(join("..data", "alpha"), join(directory, "alpha"));
    const { port } = await start();
    expect((await send(port, "/", { "x-api-key": ALPHA })).status).toBe(200);

    // What the kubelet's atomic writer does: a new folder, a new ..data link renamed over the old one.
    mkdirSync(join(directory, "..v2"));
    writeFileSync(join(directory, "..v2", "alpha"), BETA);
    symlinkSync("..v2", join(directory, "..data_tmp"));
    renameSync(join(directory, "..data_tmp"), join(directory, "..data"));
    await vi.waitFor(async () => expect((await send(port, "/", { "x-api-key": BETA })).status).toBe(200), {
      timeout: 5000,
      interval: 50,
    });
    expect((await send(port, "/", { "x-api-key": ALPHA })).status).toBe(401);
  });

  it("picks up a key file added and one removed", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port } = await start();
    writeFileSync(join(directory, "beta"), BETA);
    rmSync(join(directory, "alpha"));
    await vi.waitFor(async () => expect((await send(port, "/", { "x-api-key": BETA })).status).toBe(200), {
      timeout: 5000,
      interval: 50,
    });
    expect((await send(port, "/", { "x-api-key": ALPHA })).status).toBe(401);
  });

  it("keeps the previous keys when a reload fails, and logs it", async () => {
    writeFileSync(join(directory, "alpha"), ALPHA);
    const { port, logText } = await start();
    rmSync(directory, { recursive: true, force: true });
    await vi.waitFor(() => expect(logText()).toContain("API key reload failed"), { timeout: 5000 });
    expect((await send(port, "/", { "x-api-key": ALPHA })).status).toBe(200);
  });
});

describe("apiKeys construction", () => {
  const log = pino({ level: "silent" });

  it("throws a config error when the folder cannot be read", () => {
    expect(() => apiKeys({ directory: "/nonexistent/podgate-keys", header: "x-api-key" }, { log })).toThrow(
      expect.objectContaining({ code: "PODGATE_CONFIG_UNREADABLE" }),
    );
  });

  it("throws a config error for a header name that is not a token", () => {
    const directory = mkdtempSync(join(tmpdir(), "podgate-keys-"));
    try {
      expect(() => apiKeys({ directory, header: 'x-key"' }, { log })).toThrow(
        expect.objectContaining({ code: "PODGATE_CONFIG_INVALID" }),
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("skips a key that duplicates another, keeping the first id", () => {
    const directory = mkdtempSync(join(tmpdir(), "podgate-keys-"));
    const stop = new AbortController();
    try {
      writeFileSync(join(directory, "a-first"), ALPHA);
      writeFileSync(join(directory, "b-copy"), ALPHA);
      const policy = apiKeys({ directory, header: "x-api-key" }, { log, signal: stop.signal });
      const context = {
        req: { rawHeaders: ["x-api-key", ALPHA] },
        identity: undefined,
        upstreamEdits: undefined,
      } as unknown as Parameters<typeof policy.evaluate>[0];
      expect(policy.evaluate(context)).toBeUndefined();
      expect(context.identity?.id).toBe("a-first");
    } finally {
      stop.abort();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
