import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CompactJWSHeaderParameters, FlattenedJWSInput, JWTVerifyGetKey } from "jose";
import pino from "pino";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { fileJwks, parseJwks } from "../../sidecar/jwks.ts";
import { identityPolicies } from "../../sidecar/policies/identity.ts";
import {
  type JwksServer,
  mintToken,
  type SigningKey,
  signingKey,
  startJwksServer,
} from "../helpers/jwks-server.ts";
import { type PolicySidecar, send, startPolicySidecar } from "../helpers/policy-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../helpers/upstream.ts";

const ISSUER = "https://idp.test/";
const CLAIMS = { iss: ISSUER, aud: "orders", sub: "alice" };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const NO_TOKEN: FlattenedJWSInput = { payload: "", signature: "" };
const resolve = (keys: JWTVerifyGetKey, header: CompactJWSHeaderParameters) => keys(header, NO_TOKEN);

describe("a JWKS endpoint, through the sidecar", () => {
  let keys: { rsa: SigningKey; rotated: SigningKey };
  let upstream: EchoUpstream;
  let jwks: JwksServer;
  let sidecar: PolicySidecar | undefined;
  let clock: number;

  beforeAll(async () => {
    const [rsa, rotated] = await Promise.all([signingKey("k1"), signingKey("k2")]);
    keys = { rsa, rotated };
    upstream = await startEchoUpstream();
    return () => upstream.close();
  });
  beforeEach(async () => {
    clock = Date.now();
    upstream.received.length = 0;
    jwks = await startJwksServer([keys.rsa.jwk]);
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await jwks.close();
  });

  const start = async (jwt: object) => {
    const config = { jwksUrl: jwks.url, issuer: ISSUER, audience: ["orders"], ...jwt };
    sidecar = await startPolicySidecar(
      upstream.url,
      { policies: { jwt: config } },
      ({ config, log, signal }) => identityPolicies(config, { log, signal, now: () => clock }),
    );
    // The JWKS is fetched when the policy is compiled.
    await vi.waitFor(() => expect(jwks.requests).toBe(1));
    return sidecar;
  };

  it("refetches on an unknown kid so a rotated key works without a restart, once per cooldown", async () => {
    const { port } = await start({ jwksCooldownSeconds: 30 });
    expect((await send(port, "/", bearer(await mintToken(keys.rsa, CLAIMS)))).status).toBe(200);
    jwks.keys = [keys.rsa.jwk, keys.rotated.jwk];
    const rotated = bearer(await mintToken(keys.rotated, CLAIMS));
    // Within the cooldown of the first fetch the new kid is unknown, and the IdP is not asked again.
    expect((await send(port, "/", rotated)).status).toBe(401);
    expect(jwks.requests).toBe(1);
    clock += 31_000;
    expect((await send(port, "/", rotated)).status).toBe(200);
    expect(jwks.requests).toBe(2);
    const invented = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        bearer(await mintToken({ ...keys.rsa, kid: `x${i}` }, CLAIMS)),
      ),
    );
    for (const headers of invented.slice(0, 10)) expect((await send(port, "/", headers)).status).toBe(401);
    expect(jwks.requests).toBe(2);
    clock += 31_000;
    const replies = await Promise.all(invented.slice(10).map((headers) => send(port, "/", headers)));
    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(401));
    expect(jwks.requests).toBe(3);
  });

  it("answers 503, never allows, when the JWKS endpoint is down and no key is cached", async () => {
    jwks.down = true;
    const { port } = await start({ jwksCooldownSeconds: 30 });
    const token = bearer(await mintToken(keys.rsa, CLAIMS));
    const reply = await send(port, "/", token);
    expect(reply.status).toBe(503);
    expect(reply.json()).toMatchObject({ type: "https://podgate.io/problems/authentication-unavailable" });
    expect(reply.headers["retry-after"]).toBe("5");
    expect(upstream.received).toHaveLength(0);
    jwks.down = false;
    clock += 31_000;
    expect((await send(port, "/", token)).status).toBe(200);
  });

  it("keeps verifying with cached keys while the endpoint is down; an unknown kid then gets 503", async () => {
    const { port, logText } = await start({ jwksCacheSeconds: 60, jwksCooldownSeconds: 30 });
    const token = bearer(await mintToken(keys.rsa, CLAIMS));
    expect((await send(port, "/", token)).status).toBe(200);
    jwks.down = true;
    clock += 61_000;
    expect((await send(port, "/", token)).status).toBe(200);
    await vi.waitFor(() => expect(logText()).toContain("JWKS fetch failed"));
    expect((await send(port, "/", token)).status).toBe(200);
    clock += 31_000;
    const unknown = await send(port, "/", bearer(await mintToken(keys.rotated, CLAIMS)));
    expect(unknown.status).toBe(503);
  });

  it("stops accepting a key removed from the JWKS once the cache has expired", async () => {
    const { port } = await start({ jwksCacheSeconds: 60 });
    const token = bearer(await mintToken(keys.rsa, CLAIMS));
    expect((await send(port, "/", token)).status).toBe(200);
    jwks.keys = [keys.rotated.jwk];
    clock += 61_000;
    await send(port, "/", token);
    await vi.waitFor(async () => expect((await send(port, "/", token)).status).toBe(401));
    expect(jwks.requests).toBe(2);
  });
});

describe("a mounted JWKS file, through the sidecar", () => {
  let upstream: EchoUpstream;
  let sidecar: PolicySidecar | undefined;
  let directory: string;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    directory = mkdtempSync(join(tmpdir(), "podgate-jwks-"));
    return async () => {
      await upstream.close();
      rmSync(directory, { recursive: true, force: true });
    };
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
  });

  it("reloads the file when it changes, and keeps the previous keys when the new file is broken", async () => {
    const [first, second] = await Promise.all([signingKey("f1"), signingKey("f2")]);
    const file = join(directory, "jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [first.jwk] }));
    const jwt = { jwksFile: file, issuer: ISSUER, audience: ["orders"] };
    sidecar = await startPolicySidecar(upstream.url, { policies: { jwt } }, ({ config, log, signal }) =>
      identityPolicies(config, { log, signal, rescanMs: 200 }),
    );
    const { port } = sidecar;
    const secondToken = bearer(await mintToken(second, CLAIMS));
    expect((await send(port, "/", bearer(await mintToken(first, CLAIMS)))).status).toBe(200);
    expect((await send(port, "/", secondToken)).status).toBe(401);
    writeFileSync(`${file}.tmp`, JSON.stringify({ keys: [first.jwk, second.jwk] }));
    renameSync(`${file}.tmp`, file);
    await vi.waitFor(async () => expect((await send(port, "/", secondToken)).status).toBe(200), {
      timeout: 5000,
      interval: 50,
    });
    writeFileSync(file, "{ not json");
    await vi.waitFor(() => expect(sidecar?.logText()).toContain("JWKS file reload failed"), {
      timeout: 5000,
    });
    expect((await send(port, "/", secondToken)).status).toBe(200);
  });
});

describe("parseJwks", () => {
  let rsa: SigningKey;
  beforeAll(async () => {
    rsa = await signingKey("k1");
  });

  it("keeps public asymmetric keys and resolves them by kid and alg", async () => {
    const keys = parseJwks(JSON.stringify({ keys: [rsa.jwk] }));
    await expect(resolve(keys, { alg: "RS256", kid: "k1" })).resolves.toBeDefined();
    await expect(resolve(keys, { alg: "RS256", kid: "nope" })).rejects.toMatchObject({
      code: "ERR_JWKS_NO_MATCHING_KEY",
    });
  });

  it("never resolves a key for HMAC, even when the token names an RSA key's kid", async () => {
    const keys = parseJwks(JSON.stringify({ keys: [rsa.jwk] }));
    await expect(resolve(keys, { alg: "HS256", kid: "k1" })).rejects.toMatchObject({
      code: "ERR_JOSE_NOT_SUPPORTED",
    });
  });

  it.each([
    ["a symmetric key", { keys: [{ kty: "oct", k: "c2VjcmV0", kid: "h1", alg: "HS256" }] }],
    ["a private key", { keys: [{ kty: "RSA", n: "AQAB", e: "AQAB", d: "AQAB", kid: "p" }] }],
    ["no keys array", { key: [] }],
    ["an empty set", { keys: [] }],
  ])("refuses a JWKS with only %s", (_name, document) => {
    expect(() => parseJwks(JSON.stringify(document))).toThrow();
  });

  it("drops a symmetric key next to public keys", async () => {
    const oct = { kty: "oct", k: "c2VjcmV0", kid: "k1", alg: "HS256" };
    const keys = parseJwks(JSON.stringify({ keys: [oct, rsa.jwk] }));
    await expect(resolve(keys, { alg: "HS256", kid: "k1" })).rejects.toThrow();
    await expect(resolve(keys, { alg: "RS256", kid: "k1" })).resolves.toBeDefined();
  });
});

describe("fileJwks", () => {
  let directory: string;
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it.each([
    ["a missing file", undefined],
    ["a file that is not a JWKS", "[]"],
  ])("throws a config error at construction for %s", (_name, contents) => {
    directory = mkdtempSync(join(tmpdir(), "podgate-jwks-"));
    const path = join(directory, "jwks.json");
    if (contents !== undefined) writeFileSync(path, contents);
    const log = pino({ level: "silent" });
    expect(() => fileJwks({ path, rescanMs: 1000, log })).toThrow(
      expect.objectContaining({ code: "PODGATE_CONFIG_UNREADABLE" }),
    );
  });
});
