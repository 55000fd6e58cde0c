import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../../sidecar/chain.ts";
import { parseConfig } from "../../../sidecar/config.ts";
import type { PodgateError } from "../../../sidecar/errors.ts";
import { identityPolicies } from "../../../sidecar/policies/identity.ts";
import {
  type JwksServer,
  mintToken,
  type SigningKey,
  signingKey,
  startJwksServer,
} from "../../helpers/jwks-server.ts";
import { type PolicySidecar, send, startPolicySidecar } from "../../helpers/policy-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const KEY = "service-key-3e4f5a6b7c8d9e0f";
const ISSUER = "https://idp.test/";

describe("identityPolicies", () => {
  const log = pino({ level: "silent" });
  // Made when the cases are collected, since the table below names it.
  const directory = mkdtempSync(join(tmpdir(), "podgate-keys-"));
  writeFileSync(join(directory, "service-a"), KEY);
  const stop = new AbortController();
  afterAll(() => {
    stop.abort();
    rmSync(directory, { recursive: true, force: true });
  });

  const names = (input: object) =>
    identityPolicies(parseConfig(input), { log, signal: stop.signal }).map((policy) => policy.name);
  const anonymous = { req: { rawHeaders: [], socket: {} }, clientAddress: "10.0.0.1", routeIndex: -1 };

  it.each<[string, object, string[]]>([
    ["nothing configured", {}, []],
    ["routes without requirements", { routes: [{ path: "/**" }] }, []],
    ["API keys", { policies: { apiKeys: { directory } } }, ["authentication"]],
    [
      "API keys, lockout and a route with identities",
      {
        policies: { apiKeys: { directory }, lockout: {} },
        routes: [{ path: "/admin", identities: ["ops"] }],
      },
      ["lockout", "authentication", "route-authorization"],
    ],
    ["lockout without any credential method", { policies: { lockout: {} } }, []],
    [
      "a route with scopes and no credential method",
      { routes: [{ path: "/**", scopes: ["a"] }] },
      ["route-authorization"],
    ],
  ])("compiles %s", (_name, config, expected) => {
    expect(names(config)).toEqual(expected);
  });

  it("requires authentication by default once a credential method is configured", () => {
    const [policy] = identityPolicies(parseConfig({ policies: { apiKeys: { directory } } }), {
      log,
      signal: stop.signal,
    });
    const outcome = policy?.evaluate({ ...anonymous } as unknown as RequestContext) as PodgateError;
    expect(outcome.code).toBe("PODGATE_AUTH_MISSING");
  });

  it("lets anonymous requests through with authentication.required false", () => {
    const config = parseConfig({ policies: { apiKeys: { directory }, authentication: { required: false } } });
    const [policy] = identityPolicies(config, { log, signal: stop.signal });
    expect(policy?.evaluate({ ...anonymous } as unknown as RequestContext)).toBeUndefined();
  });
});

describe("identity policies together, over real sockets", () => {
  let upstream: EchoUpstream;
  let jwks: JwksServer;
  let idp: SigningKey;
  let directory: string;
  let sidecar: PolicySidecar | undefined;

  beforeAll(async () => {
    idp = await signingKey("k1");
    upstream = await startEchoUpstream();
    jwks = await startJwksServer([idp.jwk]);
    directory = mkdtempSync(join(tmpdir(), "podgate-keys-"));
    writeFileSync(join(directory, "service-a"), KEY);
  });
  afterAll(async () => {
    await Promise.all([upstream.close(), jwks.close()]);
    rmSync(directory, { recursive: true, force: true });
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    upstream.received.length = 0;
  });

  const start = async (required: boolean) => {
    const policies = {
      apiKeys: { directory },
      jwt: { jwksUrl: jwks.url, issuer: ISSUER, audience: ["orders"], claimHeaders: { sub: "x-user-id" } },
      authentication: { required },
    };
    sidecar = await startPolicySidecar(upstream.url, { policies }, ({ config, log, signal }) =>
      identityPolicies(config, { log, signal }),
    );
    return sidecar.port;
  };
  const bearer = async (sub: string) => `Bearer ${await mintToken(idp, { iss: ISSUER, aud: "orders", sub })}`;

  it("strips forged claim headers from a request authenticated by API key", async () => {
    const port = await start(true);
    const reply = await send(port, "/", { "x-api-key": KEY, "x-user-id": "admin", "X-USER-ID": "root" });
    expect(reply.status).toBe(200);
    expect(upstream.received[0]?.headers["x-user-id"]).toBeUndefined();
    expect(upstream.received[0]?.headers["x-api-key"]).toBeUndefined();
  });

  it("strips forged claim headers from an anonymous request", async () => {
    const port = await start(false);
    expect((await send(port, "/", { "x-user-id": "admin" })).status).toBe(200);
    expect(upstream.received[0]?.headers["x-user-id"]).toBeUndefined();
  });

  it("names the caller by the JWT when an API key comes with it, and checks both", async () => {
    const port = await start(true);
    const both = await send(port, "/", { "x-api-key": KEY, authorization: await bearer("alice") });
    expect(both.status).toBe(200);
    expect(upstream.received[0]?.headers["x-user-id"]).toBe("alice");
    const badKey = await send(port, "/", { "x-api-key": "guess", authorization: await bearer("alice") });
    expect(badKey.status).toBe(401);
  });
});
