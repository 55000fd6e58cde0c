import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { identityPolicies } from "../../../sidecar/policies/identity.ts";
import { memoryLockoutStore } from "../../../sidecar/store/lockout-memory.ts";
import {
  type JwksServer,
  mintToken,
  type SigningKey,
  signingKey,
  startJwksServer,
} from "../../helpers/jwks-server.ts";
import { type PolicySidecar, send, startPolicySidecar } from "../../helpers/policy-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const KEY = "valid-key-5c2e8f1a9b7d3e6f";
const ISSUER = "https://idp.test/";
const LOCK_MS = 1_800_000;

describe("failed-authentication lockout over real sockets", () => {
  let upstream: EchoUpstream;
  let jwks: JwksServer;
  let idp: SigningKey;
  let impostor: SigningKey;
  let directory: string;
  let sidecar: PolicySidecar;
  let clock: number;

  beforeAll(async () => {
    [idp, impostor] = await Promise.all([signingKey("k1"), signingKey("k1")]);
    upstream = await startEchoUpstream();
    jwks = await startJwksServer([idp.jwk]);
    directory = mkdtempSync(join(tmpdir(), "podgate-keys-"));
    writeFileSync(join(directory, "service-a"), KEY);
  });
  afterAll(async () => {
    await Promise.all([upstream.close(), jwks.close()]);
    rmSync(directory, { recursive: true, force: true });
  });
  beforeEach(async () => {
    clock = Date.now();
    const policies = {
      apiKeys: { directory },
      jwt: { jwksUrl: jwks.url, issuer: ISSUER, audience: ["orders"] },
      lockout: { maxFailures: 3, windowSeconds: 60, lockSeconds: LOCK_MS / 1000 },
    };
    // The test client speaks through a trusted proxy, so X-Forwarded-For picks the client address.
    const overrides = { policies, forwarding: { trustedProxies: ["127.0.0.1/32"] } };
    sidecar = await startPolicySidecar(upstream.url, overrides, ({ config, log, signal }) =>
      identityPolicies(config, { log, signal, now: () => clock }),
    );
  });
  afterEach(() => sidecar.close());

  const withKey = (from: string, key: string) =>
    send(sidecar.port, "/", { "x-forwarded-for": from, "x-api-key": key });
  const withToken = async (from: string, signer: SigningKey, sub: string) =>
    send(sidecar.port, "/", {
      "x-forwarded-for": from,
      authorization: `Bearer ${await mintToken(signer, { iss: ISSUER, aud: "orders", sub })}`,
    });

  it("locks a client address after maxFailures, even for a valid key, until lockSeconds pass", async () => {
    for (let i = 0; i < 3; i++) expect((await withKey("10.0.0.1", "guess")).status).toBe(401);
    const locked = await withKey("10.0.0.1", KEY);
    expect(locked.status).toBe(429);
    expect(locked.headers["retry-after"]).toBe(String(LOCK_MS / 1000));
    expect(locked.json()).toMatchObject({ type: "https://podgate.io/problems/locked-out" });
    expect((await withKey("10.0.0.2", KEY)).status).toBe(200);
    clock += LOCK_MS - 10_000;
    expect((await withKey("10.0.0.1", KEY)).headers["retry-after"]).toBe("10");
    clock += 10_000;
    expect((await withKey("10.0.0.1", KEY)).status).toBe(200);
  });

  it("does not add up failures from different windows", async () => {
    for (let i = 0; i < 2; i++) expect((await withKey("10.0.0.3", "guess")).status).toBe(401);
    clock += 61_000;
    for (let i = 0; i < 2; i++) expect((await withKey("10.0.0.3", "guess")).status).toBe(401);
    expect((await withKey("10.0.0.3", KEY)).status).toBe(200);
  });

  it("locks a claimed principal whatever the client address, and only that principal", async () => {
    for (const from of ["10.0.1.1", "10.0.1.2", "10.0.1.3"]) {
      expect((await withToken(from, impostor, "alice")).status).toBe(401);
    }
    expect((await withToken("10.0.1.9", idp, "alice")).status).toBe(429);
    expect((await withToken("10.0.1.9", idp, "bob")).status).toBe(200);
  });

  it("does not count requests without a credential", async () => {
    for (let i = 0; i < 5; i++)
      expect((await send(sidecar.port, "/", { "x-forwarded-for": "10.0.2.1" })).status).toBe(401);
    expect((await withKey("10.0.2.1", KEY)).status).toBe(200);
  });

  it("checks before the credential: attempts while locked are neither evaluated nor counted", async () => {
    for (let i = 0; i < 3; i++) await withKey("10.0.3.1", "guess");
    clock += LOCK_MS / 2;
    for (let i = 0; i < 5; i++) expect((await withKey("10.0.3.1", "guess")).status).toBe(429);
    clock += LOCK_MS / 2;
    expect((await withKey("10.0.3.1", KEY)).status).toBe(200);
  });
});

describe("memoryLockoutStore", () => {
  it("counts failures in a window that starts at the first one", () => {
    const store = memoryLockoutStore();
    expect(store.recordFailure("ip:a", 1000, 0)).toBe(1);
    expect(store.recordFailure("ip:a", 1000, 999)).toBe(2);
    expect(store.recordFailure("ip:a", 1000, 1000)).toBe(1);
  });

  it("reports a lock until it expires, then forgets it", () => {
    const store = memoryLockoutStore();
    store.lock("ip:a", 5000);
    expect(store.lockedUntil("ip:a", 4999)).toBe(5000);
    expect(store.lockedUntil("ip:a", 5000)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("sweeps expired windows as new keys arrive", () => {
    const store = memoryLockoutStore();
    for (let i = 0; i < 50; i++) store.recordFailure(`ip:${i}`, 1000, 0);
    expect(store.size).toBe(50);
    store.recordFailure("ip:late", 1000, 1000);
    expect(store.size).toBe(1);
  });

  it("stays within maxKeys under a flood of unique keys, dropping the oldest", () => {
    const store = memoryLockoutStore({ maxKeys: 1000 });
    for (let i = 0; i < 200_000; i++) {
      store.recordFailure(`ip:${i}`, 60_000, i);
      if (i % 10 === 0) store.lock(`ip:${i}`, i + 1_800_000);
    }
    expect(store.size).toBeLessThanOrEqual(2000);
    expect(store.recordFailure("ip:199999", 60_000, 200_000)).toBe(2);
    expect(store.recordFailure("ip:0", 60_000, 200_000)).toBe(1);
    expect(store.lockedUntil("ip:199990", 200_000)).toBe(199_990 + 1_800_000);
  });
});
