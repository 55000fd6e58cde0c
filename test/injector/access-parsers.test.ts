/** The identity and access annotations' syntax: Secrets, JWT settings, CORS and header edits. */
import { describe, expect, it } from "vitest";
import {
  parseAlgorithms,
  parseClaimHeaders,
  parseHeaderEdits,
  parseOrigins,
  parseSecretKeyRef,
  parseSecretName,
} from "../../injector/access-parsers.ts";
import { parseAnnotations } from "../../injector/annotation-values.ts";
import { parseRoutes } from "../../injector/parsers.ts";

describe("Secret references", () => {
  it.each([
    ["shop-keys", { secretName: "shop-keys" }],
    ["a.b-c", { secretName: "a.b-c" }],
  ])("accepts the Secret name %j", (raw, expected) => {
    expect(parseSecretName(raw)).toEqual(expected);
  });

  it.each(["Shop_Keys", "-keys", "a/b", "x".repeat(254)])("rejects the Secret name %j", (raw) => {
    expect(parseSecretName(raw)).toEqual({ invalid: true });
  });

  it.each([
    ["auth-jwks", { secretName: "auth-jwks" }],
    ["auth-jwks/keys.json", { secretName: "auth-jwks", key: "keys.json" }],
    ["a/b/c", { invalid: true }],
    ["a/..", { invalid: true, detail: '".." is not a Secret key' }],
    ["A/key", { invalid: true }],
  ])("reads %j as a Secret and key", (raw, expected) => {
    expect(parseSecretKeyRef(raw)).toEqual(expected);
  });

  it("says what a Secret name must be", () => {
    expect(parseAnnotations({ "podgate.io/api-keys": "Shop Keys" }).problems).toEqual([
      `podgate.io/api-keys: "Shop Keys" is not a Secret name; expected the name of a Secret in the pod's namespace (lowercase letters, digits, '-' and '.'), e.g. "shop-api-keys"`,
    ]);
  });
});

describe("JWT settings", () => {
  it.each([
    ["RS256,ES256", ["RS256", "ES256"]],
    ["none", { invalid: true, detail: '"none" is never accepted' }],
    ["RS256,HS256", { invalid: true, detail: "HS256: HMAC algorithms are never accepted (keys are public)" }],
    ["RS256,RS256", { invalid: true, detail: "it repeats an item" }],
    [
      "RS1",
      {
        invalid: true,
        detail: '"RS1" is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA',
      },
    ],
  ])("reads the algorithms %j", (raw, expected) => {
    expect(parseAlgorithms(raw)).toEqual(expected);
  });

  it.each([
    ["sub=x-user-id,email=X-User-Email", { sub: "x-user-id", email: "x-user-email" }],
    ["Sub=x", { invalid: true, detail: '"Sub=x" is not <claim>=<header>' }],
    ["sub=x-a,email=x-a", { invalid: true, detail: "header x-a is used twice" }],
    ["sub=x-a,sub=x-b", { invalid: true, detail: "claim sub is mapped twice" }],
  ])("reads the claim headers %j", (raw, expected) => {
    expect(parseClaimHeaders(raw)).toEqual(expected);
  });
});

describe("CORS and header edits", () => {
  it.each([
    ["https://shop.example.com,http://localhost:3000", ["https://shop.example.com", "http://localhost:3000"]],
    ["*", ["*"]],
    [
      "https://shop.example.com/",
      {
        invalid: true,
        detail:
          '"https://shop.example.com/" is not an origin such as https://app.example.com (lowercase, no path)',
      },
    ],
  ])("reads the origins %j", (raw, expected) => {
    expect(parseOrigins(raw)).toEqual(expected);
  });

  it.each([
    [
      "set X-Env=prod; add x-via=podgate; remove x-debug,X-Trace",
      { set: { "x-env": "prod" }, add: { "x-via": "podgate" }, remove: ["x-debug", "x-trace"] },
    ],
    [
      "set x-csp=default-src 'self'; img-src *",
      { invalid: true, detail: '"img-src *" does not start with set, add or remove' },
    ],
    ["set x-a=1=2", { set: { "x-a": "1=2" } }],
    ["set x-env", { invalid: true, detail: '"set x-env" is not set <name>=<value>' }],
    ["replace x=1", { invalid: true, detail: '"replace x=1" does not start with set, add or remove' }],
    ["set bad header=1", { invalid: true, detail: '"bad header" is not a header name' }],
    ["set x=1; set x=2", { invalid: true, detail: "set x is given twice" }],
    ["set x=a\u0001b", { invalid: true, detail: "the value of x contains a control character" }],
  ])("reads the header edits %j", (raw, expected) => {
    expect(parseHeaderEdits(raw)).toEqual(expected);
  });
});

describe("route scopes and identities", () => {
  it.each([
    ["/admin/** GET scopes=admin", [{ path: "/admin/**", methods: ["GET"], scopes: ["admin"] }]],
    [
      "/pay POST identities=spiffe://c/ns/a/sa/b,key-1 scopes=pay,write",
      [
        {
          path: "/pay",
          methods: ["POST"],
          identities: ["spiffe://c/ns/a/sa/b", "key-1"],
          scopes: ["pay", "write"],
        },
      ],
    ],
    ["/x scopes=a", [{ path: "/x", methods: ["*"], scopes: ["a"] }]],
    [
      "/x scopes=a GET",
      {
        invalid: true,
        detail: 'route 1: "GET" is neither a method list (which comes first) nor scopes= or identities=',
      },
    ],
    ["/x GET scopes=a scopes=b", { invalid: true, detail: "route 1: scopes= is given twice" }],
    ["/x GET scopes=", { invalid: true, detail: "route 1: scopes= has an empty item" }],
  ])("reads %j", (raw, expected) => {
    expect(parseRoutes(raw)).toEqual(expected);
  });
});
