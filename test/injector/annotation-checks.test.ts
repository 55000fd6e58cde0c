/** Checks across annotations: settings that mean nothing alone say what they need. */
import { describe, expect, it } from "vitest";
import { parseAnnotations } from "../../injector/annotation-values.ts";

const CREDENTIAL =
  "podgate.io/api-keys, a JWT issuer (podgate.io/jwt-issuer) or client certificates (podgate.io/client-certificates)";
const JWT = {
  "podgate.io/jwt-issuer": "https://auth.example/",
  "podgate.io/jwt-audience": "api",
  "podgate.io/jwks-url": "https://auth.example/jwks",
};

describe("cross-annotation checks", () => {
  it.each([
    [{ "podgate.io/api-key-header": "x-key" }, ["podgate.io/api-key-header needs podgate.io/api-keys"]],
    [
      { "podgate.io/cors-credentials": "true" },
      ["podgate.io/cors-credentials needs podgate.io/cors-origins"],
    ],
    [{ "podgate.io/tls-min-version": "TLSv1.3" }, ["podgate.io/tls-min-version needs podgate.io/tls-secret"]],
    [
      { "podgate.io/tls-secret": "t", "podgate.io/client-ca-secret": "ca" },
      [
        "podgate.io/client-ca-secret needs podgate.io/client-certificates (optional or required; without it none is asked for)",
      ],
    ],
    [
      { "podgate.io/jwt-audience": "api" },
      [
        "podgate.io/jwt-audience: JWT verification also needs podgate.io/jwt-issuer and podgate.io/jwks-url or podgate.io/jwks-secret",
      ],
    ],
    [
      { ...JWT, "podgate.io/jwks-secret": "keys" },
      ["podgate.io/jwks-secret: set podgate.io/jwks-url or podgate.io/jwks-secret, not both"],
    ],
    [
      { "podgate.io/auth-required": "true" },
      [`podgate.io/auth-required: "true" needs a credential: ${CREDENTIAL}`],
    ],
    [
      { "podgate.io/lockout": "10 in 15m lock 30m" },
      [`podgate.io/lockout: counts failed authentications, so it needs a credential: ${CREDENTIAL}`],
    ],
    [
      { "podgate.io/routes": "/admin/** scopes=admin", "podgate.io/api-keys": "k" },
      ["podgate.io/routes: scopes= needs JWT (podgate.io/jwt-issuer); scopes come from the token"],
    ],
    [
      { "podgate.io/routes": "/admin/** identities=ops" },
      [`podgate.io/routes: identities= needs a credential: ${CREDENTIAL}`],
    ],
  ])("%j: %j", (annotations, problems) => {
    expect(parseAnnotations(annotations).problems).toEqual(problems);
  });

  it.each([
    [JWT],
    [{ ...JWT, "podgate.io/routes": "/admin/** scopes=admin", "podgate.io/auth-required": "true" }],
    [
      {
        "podgate.io/api-keys": "k",
        "podgate.io/api-key-header": "x-key",
        "podgate.io/lockout": "5 in 1m lock 1h",
      },
    ],
    [
      {
        "podgate.io/tls-secret": "t",
        "podgate.io/client-ca-secret": "ca",
        "podgate.io/client-certificates": "optional",
        "podgate.io/client-identity-from": "dns",
        "podgate.io/routes": "/x identities=svc.example",
      },
    ],
  ])("accepts the complete set %j", (annotations) => {
    expect(parseAnnotations(annotations).problems).toEqual([]);
  });
});
