import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Identity, PolicyOutcome, RequestContext } from "../../../sidecar/chain.ts";
import type { RouteConfig } from "../../../sidecar/config.ts";
import { identityPolicies } from "../../../sidecar/policies/identity.ts";
import { routeAuthorization } from "../../../sidecar/policies/route-authorization.ts";
import {
  type JwksServer,
  mintToken,
  type SigningKey,
  signingKey,
  startJwksServer,
} from "../../helpers/jwks-server.ts";
import { type PolicySidecar, send, startPolicySidecar } from "../../helpers/policy-sidecar.ts";
import { type EchoUpstream, startEchoUpstream } from "../../helpers/upstream.ts";

const ROUTES: RouteConfig[] = [
  { path: "/orders", methods: ["POST"], scopes: ["orders:write"] },
  { path: "/admin/**", methods: ["*"], identities: ["ops-admin", "spiffe://td/ns/ops/sa/admin"] },
  { path: "/reports", methods: ["GET"], scopes: ["reports:read", "reports:export"], identities: ["alice"] },
  { path: "/**", methods: ["*"] },
];

describe("routeAuthorization decisions", () => {
  const policy = routeAuthorization(ROUTES, { challenge: 'Bearer realm="podgate"' });
  const decide = (routeIndex: number, identity: Identity | undefined) =>
    policy.evaluate({ routeIndex, identity } as RequestContext) as PolicyOutcome;
  const jwt = (id: string, scopes: string[]): Identity => ({ id, source: "jwt", scopes: new Set(scopes) });

  it.each<[string, number, Identity | undefined, string | undefined]>([
    ["a route without requirements", 3, undefined, undefined],
    ["no matched route", -1, undefined, undefined],
    ["every required scope", 0, jwt("bob", ["orders:read", "orders:write"]), undefined],
    ["a listed identity", 1, { id: "ops-admin", source: "api-key" }, undefined],
    ["a listed SPIFFE ID", 1, { id: "spiffe://td/ns/ops/sa/admin", source: "mtls" }, undefined],
    ["both a listed identity and the scopes", 2, jwt("alice", ["reports:read", "reports:export"]), undefined],
    ["anonymous on a protected route", 0, undefined, "PODGATE_AUTH_MISSING"],
    ["a missing scope", 0, jwt("bob", ["orders:read"]), "PODGATE_ACCESS_FORBIDDEN"],
    [
      "an API key where scopes are needed",
      0,
      { id: "ops-admin", source: "api-key" },
      "PODGATE_ACCESS_FORBIDDEN",
    ],
    ["an unlisted identity", 1, { id: "service-a", source: "api-key" }, "PODGATE_ACCESS_FORBIDDEN"],
    ["a listed identity without the scopes", 2, jwt("alice", ["reports:read"]), "PODGATE_ACCESS_FORBIDDEN"],
  ])("%s", (_name, routeIndex, identity, code) => {
    expect(decide(routeIndex, identity)?.code).toBe(code);
  });

  it("names the missing scopes with an insufficient_scope challenge", () => {
    const outcome = decide(2, jwt("alice", ["reports:read"]));
    expect(outcome?.message).toBe("missing scopes: reports:export");
    expect(outcome?.headers?.["www-authenticate"]).toBe(
      'Bearer realm="podgate", error="insufficient_scope", scope="reports:read reports:export"',
    );
  });

  it("never lists who else may use a route", () => {
    const outcome = decide(1, { id: "service-a", source: "api-key" });
    expect(outcome?.message).toBe("this api-key identity may not use this route");
    expect(outcome?.message).not.toContain("ops-admin");
  });

  it("asks an anonymous caller for credentials", () => {
    expect(decide(1, undefined)?.headers?.["www-authenticate"]).toBe('Bearer realm="podgate"');
  });
});

describe("route authorization over real sockets", () => {
  const ADMIN_KEY = "admin-key-8d7c6b5a4f3e2d1c";
  const SERVICE_KEY = "service-key-1a2b3c4d5e6f7a8b";
  const ISSUER = "https://idp.test/";
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
    writeFileSync(join(directory, "ops-admin"), ADMIN_KEY);
    writeFileSync(join(directory, "service-a"), SERVICE_KEY);
  });
  afterAll(async () => {
    await Promise.all([upstream.close(), jwks.close()]);
    rmSync(directory, { recursive: true, force: true });
  });
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
  });

  const start = async () => {
    const policies = {
      apiKeys: { directory },
      jwt: { jwksUrl: jwks.url, issuer: ISSUER, audience: ["orders"] },
      authentication: { required: false },
    };
    sidecar = await startPolicySidecar(
      upstream.url,
      { policies, routes: ROUTES },
      ({ config, log, signal }) => identityPolicies(config, { log, signal }),
    );
    return sidecar.port;
  };
  const token = async (scope: string) => ({
    authorization: `Bearer ${await mintToken(idp, { iss: ISSUER, aud: "orders", sub: "bob", scope })}`,
  });

  it("requires every scope of the route from the token", async () => {
    const port = await start();
    const readOnly = await send(port, "/orders", await token("orders:read"), "POST");
    expect(readOnly.status).toBe(403);
    expect(readOnly.json()).toMatchObject({
      type: "https://podgate.io/problems/forbidden",
      detail: "missing scopes: orders:write",
    });
    expect(readOnly.headers["www-authenticate"]).toContain('error="insufficient_scope"');
    expect((await send(port, "/orders", await token("orders:read orders:write"), "POST")).status).toBe(200);
  });

  it("allows only the listed identities, and asks anonymous callers to authenticate", async () => {
    const port = await start();
    expect((await send(port, "/admin/users", { "x-api-key": ADMIN_KEY })).status).toBe(200);
    const service = await send(port, "/admin/users", { "x-api-key": SERVICE_KEY });
    expect(service.status).toBe(403);
    expect(service.body).not.toContain(SERVICE_KEY);
    expect(service.body).not.toContain("ops-admin");
    const anonymous = await send(port, "/admin/users");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toBe('ApiKey header="x-api-key", Bearer realm="podgate"');
    expect((await send(port, "/public")).status).toBe(200);
  });
});
