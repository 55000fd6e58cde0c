import { SignJWT } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { identityPolicies } from "../../../sidecar/policies/identity.ts";
import { claimHeaderValue, lifetimeProblem, scopesOf } from "../../../sidecar/policies/jwt-auth.ts";
import {
  type JwksServer,
  mintToken,
  type SigningKey,
  signingKey,
  startJwksServer,
  unsecuredToken,
} from "../../helpers/jwks-server.ts";
import { type PolicySidecar, send, startPolicySidecar } from "../../helpers/policy-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const ISSUER = "https://idp.test/";
const CLAIMS = { iss: ISSUER, aud: "orders", sub: "alice", email: "alice@example.test" };

interface Keys {
  rsa: SigningKey;
  rotated: SigningKey;
  ec: SigningKey;
  pss: SigningKey;
  /** Another key pair that claims the kid of `rsa`. */
  impostor: SigningKey;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("JWT bearer tokens over real sockets", () => {
  let keys: Keys;
  let upstream: EchoUpstream;
  let jwks: JwksServer;
  let sidecar: PolicySidecar | undefined;
  let clock: number;

  beforeAll(async () => {
    const [rsa, rotated, ec, pss, impostor] = await Promise.all([
      signingKey("k1"),
      signingKey("k2"),
      signingKey("e1", "ES256"),
      signingKey("p1", "PS256"),
      signingKey("k1"),
    ]);
    keys = { rsa, rotated, ec, pss, impostor };
    upstream = await startEchoUpstream();
    return () => upstream.close();
  });
  beforeEach(async () => {
    clock = Date.now();
    upstream.received.length = 0;
    jwks = await startJwksServer([keys.rsa.jwk, keys.ec.jwk, keys.pss.jwk]);
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await jwks.close();
  });

  const start = async (jwt: object = {}) => {
    const config = {
      jwksUrl: jwks.url,
      issuer: ISSUER,
      audience: ["orders"],
      claimHeaders: { sub: "x-user-id", email: "x-user-email" },
      ...jwt,
    };
    sidecar = await startPolicySidecar(
      upstream.url,
      { policies: { jwt: config } },
      ({ config, log, signal }) => identityPolicies(config, { log, signal, now: () => clock, rescanMs: 200 }),
    );
    // The JWKS is fetched when the policy is compiled.
    await vi.waitFor(() => expect(jwks.requests).toBe(1));
    return sidecar;
  };

  const expectInvalidToken = async (port: number, token: string) => {
    const reply = await send(port, "/", bearer(token));
    expect(reply.status).toBe(401);
    expect(reply.json()).toMatchObject({ type: "https://podgate.io/problems/invalid-credentials" });
    expect(reply.headers["www-authenticate"]).toMatch(/^Bearer realm="podgate", error="invalid_token"/);
    expect(upstream.received).toHaveLength(0);
    return reply;
  };

  const ALG = "the token's algorithm is not accepted";
  const SIGNATURE = "the token's signature is not valid";
  const LIFETIME = "the token lives longer than 86400 seconds";
  it.each<[string, string, (k: Keys) => Promise<string> | string]>([
    ["alg none", ALG, () => unsecuredToken({ ...CLAIMS, exp: Math.floor(Date.now() / 1000) + 60 })],
    ["alg none naming a known kid", ALG, () => unsecuredToken({ ...CLAIMS }, { kid: "k1" })],
    [
      "HS256 signed with the RSA public key",
      ALG,
      (k) =>
        new SignJWT({ ...CLAIMS, exp: Math.floor(Date.now() / 1000) + 60 })
          .setProtectedHeader({ alg: "HS256", kid: "k1" })
          .sign(new TextEncoder().encode(k.rsa.pem)),
    ],
    [
      "an expired token (beyond the skew)",
      "the token has expired",
      (k) => mintToken(k.rsa, CLAIMS, { expiresIn: -120 }),
    ],
    [
      "a token not valid yet (nbf beyond the skew)",
      "the token is not valid yet",
      (k) => mintToken(k.rsa, CLAIMS, { notBefore: 120 }),
    ],
    [
      "a wrong audience",
      "the token's aud claim is not accepted",
      (k) => mintToken(k.rsa, { ...CLAIMS, aud: "billing" }),
    ],
    [
      "a wrong issuer",
      "the token's iss claim is not accepted",
      (k) => mintToken(k.rsa, { ...CLAIMS, iss: "https://evil.test/" }),
    ],
    ["no audience", "the token has no aud claim", (k) => mintToken(k.rsa, { iss: ISSUER, sub: "alice" })],
    [
      "a lifetime above maxLifetimeSeconds",
      LIFETIME,
      (k) => mintToken(k.rsa, CLAIMS, { expiresIn: 2 * 86_400 }),
    ],
    [
      "a far exp with no iat",
      LIFETIME,
      (k) => mintToken(k.rsa, CLAIMS, { expiresIn: 2 * 86_400, issuedAt: null }),
    ],
    ["no exp", "the token has no exp claim", (k) => mintToken(k.rsa, CLAIMS, { expiresIn: null })],
    [
      "iat in the future",
      "the token was issued in the future",
      (k) => mintToken(k.rsa, CLAIMS, { issuedAt: 600, expiresIn: 700 }),
    ],
    ["no sub", "the token has no sub claim", (k) => mintToken(k.rsa, { iss: ISSUER, aud: "orders" })],
    ["a known kid but another key's signature", SIGNATURE, (k) => mintToken(k.impostor, CLAIMS)],
    ["an algorithm outside the allowlist (PS256)", ALG, (k) => mintToken(k.pss, CLAIMS)],
    ["a tampered payload", SIGNATURE, async (k) => tamper(await mintToken(k.rsa, CLAIMS), { sub: "admin" })],
    ["not a JWT", "the token is malformed", () => "abc.def"],
  ])("refuses %s with 401 invalid_token", async (_name, detail, make) => {
    const { port } = await start();
    const reply = await expectInvalidToken(port, await make(keys));
    expect(reply.json().detail).toBe(detail);
    expect(reply.headers["www-authenticate"]).toContain(`error_description="${detail}"`);
  });

  it("accepts a valid token, forwards the verified claims and strips the client's copies", async () => {
    const { port } = await start();
    const token = await mintToken(keys.rsa, CLAIMS);
    const forged = { "x-user-id": "admin", "X-User-Email": "root@example.test" };
    const reply = await send(port, "/orders", { ...bearer(token), ...forged });
    expect(reply.status).toBe(200);
    const seen = upstream.received[0]?.rawHeaders ?? [];
    expect(valuesOf(seen, "x-user-id")).toEqual(["alice"]);
    expect(valuesOf(seen, "x-user-email")).toEqual(["alice@example.test"]);
    expect(valuesOf(seen, "authorization")).toEqual([`Bearer ${token}`]);
    await vi.waitFor(() =>
      expect(sidecar?.logs.find((line) => line.msg === "access")?.identity).toBe("alice"),
    );
  });

  it("strips the token before the app when forwardToken is false", async () => {
    const { port } = await start({ forwardToken: false });
    expect((await send(port, "/", bearer(await mintToken(keys.rsa, CLAIMS)))).status).toBe(200);
    expect(upstream.received[0]?.headers.authorization).toBeUndefined();
  });

  it("accepts ES256, and an expired token within the clock skew", async () => {
    const { port } = await start();
    expect((await send(port, "/", bearer(await mintToken(keys.ec, CLAIMS)))).status).toBe(200);
    const justExpired = await mintToken(keys.rsa, CLAIMS, { expiresIn: -10 });
    expect((await send(port, "/", bearer(justExpired))).status).toBe(200);
  });

  it("treats another Authorization scheme as no credential, and a bare Bearer as invalid", async () => {
    const { port } = await start();
    const basic = await send(port, "/", { authorization: "Basic YWxpY2U6c2VjcmV0" });
    expect(basic.status).toBe(401);
    expect(basic.json().code).toBe("PODGATE_AUTH_MISSING");
    expect(basic.headers["www-authenticate"]).toBe('Bearer realm="podgate"');
    const bare = await send(port, "/", { authorization: "Bearer " });
    expect(bare.json().code).toBe("PODGATE_AUTH_INVALID");
  });
});

/** Replaces claims in a signed token's payload, keeping its header and signature. */
function tamper(token: string, claims: object): string {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const changed = { ...JSON.parse(Buffer.from(payload, "base64url").toString()), ...claims };
  return `${header}.${Buffer.from(JSON.stringify(changed)).toString("base64url")}.${signature}`;
}

function valuesOf(raw: readonly string[], name: string): string[] {
  return raw.flatMap((value, i) =>
    i % 2 === 0 && value.toLowerCase() === name ? [raw[i + 1] as string] : [],
  );
}

describe("JWT claim helpers", () => {
  it.each([
    ["an exp - iat within the limit", { iat: 1000, exp: 1000 + 3600 }, 1000, undefined],
    ["an exp - iat above the limit", { iat: 1000, exp: 1000 + 7201 }, 1000, "lives longer"],
    ["no iat: exp - now above the limit", { exp: 1000 + 7201 }, 1000, "lives longer"],
    ["iat beyond the skew in the future", { iat: 1100, exp: 1200 }, 1000, "issued in the future"],
    ["iat within the skew in the future", { iat: 1020, exp: 1200 }, 1000, undefined],
    ["no exp and an old iat", { iat: 1000 }, 1000 + 7231, "older than"],
  ])("lifetimeProblem: %s", (_name, payload, now, expected) => {
    const problem = lifetimeProblem(payload, now, { skew: 30, max: 7200 });
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });

  it("reads scopes from scope (space-separated) and scp (array or string)", () => {
    expect([...scopesOf({ scope: "orders:read  orders:write" })]).toEqual(["orders:read", "orders:write"]);
    expect([...scopesOf({ scp: ["a", "b", 3] })]).toEqual(["a", "b"]);
    expect([...scopesOf({ scp: "a b" })]).toEqual(["a", "b"]);
    expect(scopesOf({}).size).toBe(0);
  });

  it("turns claims into safe header values", () => {
    expect(claimHeaderValue({ sub: "alice" }, "sub")).toBe("alice");
    expect(claimHeaderValue({ roles: ["a", "b"] }, "roles")).toBe('["a","b"]');
    expect(claimHeaderValue({ realm_access: { roles: ["x"] } }, "realm_access.roles")).toBe('["x"]');
    expect(claimHeaderValue({ name: "Zoë\r\nx-admin: 1" }, "name")).toBe("Zo%C3%AB%0D%0Ax-admin%3A%201");
    expect(claimHeaderValue({ big: "x".repeat(5000) }, "big")).toBeUndefined();
    expect(claimHeaderValue({}, "missing")).toBeUndefined();
  });
});
