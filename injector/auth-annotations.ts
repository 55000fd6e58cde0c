/**
 * The identity annotations: API keys, JWT, authentication, lockout, and the TLS listener with client
 * certificates (mTLS). Rows naming Secrets mount them into the sidecar (secret-mounts.ts).
 */
import {
  JWT_ALGORITHMS,
  parseAlgorithms,
  parseClaimHeaders,
  parseHttpUrl,
  parseSeconds,
  parseSecretKeyRef,
  parseSecretName,
  parseWord,
  parseWords,
  type SecretRef,
} from "./access-parsers.ts";
import { type Annotation, BOOLEAN, configDefault, wordRow } from "./annotation-row.ts";
import { formatSeconds } from "./option-syntax.ts";
import { invalid } from "./parsers.ts";
import { SECRET_MOUNTS, secretFile } from "./secret-mounts.ts";
import { formatLockout, type LockoutConfig, parseLockout } from "./traffic-parsers.ts";

const SECRET_NAME = {
  type: "Secret name",
  noun: "a Secret name",
  expected: "the name of a Secret in the pod's namespace (lowercase letters, digits, '-' and '.')",
  parse: parseSecretName,
};
const SECRET_KEY_REF = {
  type: "Secret[/key]",
  noun: "a Secret reference",
  expected: "<secret-name>[/<key>], a Secret in the pod's namespace",
  parse: parseSecretKeyRef,
};
const mounted = (directory: string) => `Mounted read-only at ${directory}.`;

export const API_KEYS: Annotation<SecretRef> = {
  ...SECRET_NAME,
  name: "podgate.io/api-keys",
  default: "unset (no API keys)",
  configPath: "policies.apiKeys.directory",
  configValue: () => SECRET_MOUNTS.apiKeys.directory,
  secret: SECRET_MOUNTS.apiKeys,
  description: `API keys: a Secret with one entry per key; the entry's name is the key id, which becomes the caller's identity. ${mounted(SECRET_MOUNTS.apiKeys.directory)}`,
  example: "shop-api-keys",
};
export const API_KEY_HEADER: Annotation<string> = {
  name: "podgate.io/api-key-header",
  type: "header name",
  noun: "a header name",
  expected: "an HTTP header name such as x-api-key",
  parse: (raw) => (/^[A-Za-z0-9-]+$/.test(raw) ? raw.toLowerCase() : invalid()),
  configPath: "policies.apiKeys.header",
  default: configDefault("policies.apiKeys.header", String),
  description: "The header that carries the API key (never the query string). Needs podgate.io/api-keys.",
  example: "x-api-key",
};

export const JWT_ISSUER: Annotation<string> = {
  name: "podgate.io/jwt-issuer",
  type: "string",
  noun: "an issuer",
  expected: "the exact `iss` value, without spaces",
  parse: parseWord,
  configPath: "policies.jwt.issuer",
  default: "unset (no JWT)",
  description:
    "Turns on JWT bearer tokens: the required `iss`; `sub` becomes the identity. Needs podgate.io/jwt-audience and podgate.io/jwks-url or podgate.io/jwks-secret.",
  example: "https://auth.example.com/",
};
export const JWT_AUDIENCE: Annotation<string[]> = {
  name: "podgate.io/jwt-audience",
  type: "list",
  noun: "an audience list",
  expected: "comma-separated `aud` values",
  parse: parseWords,
  format: (value) => value.join(","),
  configPath: "policies.jwt.audience",
  default: "unset",
  description: "Accepted `aud` values; a token must carry one of them.",
  example: "shop-api",
};
export const JWKS_URL: Annotation<string> = {
  name: "podgate.io/jwks-url",
  type: "URL",
  noun: "a JWKS URL",
  expected: "an https:// (or in-cluster http://) URL",
  parse: parseHttpUrl,
  configPath: "policies.jwt.jwksUrl",
  default: "unset",
  description:
    "Where the signing keys are fetched (cached; refetched on an unknown kid). Or podgate.io/jwks-secret.",
  example: "https://auth.example.com/.well-known/jwks.json",
};
export const JWKS_SECRET: Annotation<SecretRef> = {
  ...SECRET_KEY_REF,
  name: "podgate.io/jwks-secret",
  default: `unset; the key defaults to ${SECRET_MOUNTS.jwks.defaultKey}`,
  configPath: "policies.jwt.jwksFile",
  configValue: (ref) => secretFile(SECRET_MOUNTS.jwks, ref),
  secret: SECRET_MOUNTS.jwks,
  description: `The signing keys as a JWKS file in a Secret (reloaded when it changes), instead of podgate.io/jwks-url. ${mounted(SECRET_MOUNTS.jwks.directory)}`,
  example: "auth-jwks/jwks.json",
};

export const LOCKOUT: Annotation<LockoutConfig> = {
  name: "podgate.io/lockout",
  type: "lockout",
  noun: "a lockout",
  expected: "<failures> in <window> lock <duration>",
  parse: parseLockout,
  format: formatLockout,
  configPath: "policies.lockout",
  default: "unset (no lockout); zones may set one",
  description:
    "After this many failed authentications by one principal or client IP within the window, refuse it for the lock duration (PCI DSS 8.3.4: at most 10 attempts, at least 30 minutes). Needs a credential.",
  example: "10 in 15m lock 30m",
};

export const TLS_SECRET: Annotation<SecretRef> = {
  ...SECRET_NAME,
  name: "podgate.io/tls-secret",
  type: "Secret name",
  default: "unset (plain HTTP)",
  configPath: "listener.tls",
  configValue: () => ({
    certFile: `${SECRET_MOUNTS.tls.directory}/tls.crt`,
    keyFile: `${SECRET_MOUNTS.tls.directory}/tls.key`,
  }),
  secret: SECRET_MOUNTS.tls,
  description: `Serve TLS with this kubernetes.io/tls Secret (tls.crt, tls.key; reloaded when it changes). ${mounted(SECRET_MOUNTS.tls.directory)}`,
  example: "shop-tls",
};

export const TLS_MIN_VERSION: Annotation<"TLSv1.2" | "TLSv1.3"> = wordRow(
  {
    name: "podgate.io/tls-min-version",
    description: "The lowest TLS version accepted. Needs podgate.io/tls-secret.",
    example: "TLSv1.3",
  },
  {
    words: ["TLSv1.2", "TLSv1.3"] as const,
    noun: "a TLS version",
    configPath: "listener.tls.minVersion",
  },
);

export const CLIENT_CA_SECRET: Annotation<SecretRef> = {
  ...SECRET_KEY_REF,
  name: "podgate.io/client-ca-secret",
  default: `unset; the key defaults to ${SECRET_MOUNTS.clientCa.defaultKey}`,
  configPath: "listener.tls.clientCaFile",
  configValue: (ref) => secretFile(SECRET_MOUNTS.clientCa, ref),
  secret: SECRET_MOUNTS.clientCa,
  description: `The CA bundle client certificates must chain to (mTLS). Needs podgate.io/tls-secret and podgate.io/client-certificates. ${mounted(SECRET_MOUNTS.clientCa.directory)}`,
  example: "mesh-ca/ca.crt",
};

export const CLIENT_CERTIFICATES: Annotation<"optional" | "required"> = wordRow(
  {
    name: "podgate.io/client-certificates",
    description:
      "Ask clients for a certificate (mTLS): required refuses the handshake without one; optional lets other credentials serve. Its SAN becomes the identity. Needs podgate.io/client-ca-secret.",
    example: "required",
  },
  {
    words: ["optional", "required"] as const,
    noun: "a client certificate mode",
    configPath: "listener.tls.clientCertificates",
    default: "unset (no client certificates)",
  },
);

export const CLIENT_IDENTITY_FROM: Annotation<"uri" | "dns"> = wordRow(
  {
    name: "podgate.io/client-identity-from",
    description: "Where a client certificate's identity comes from: its SAN URI (a SPIFFE ID) or DNS name.",
    example: "dns",
  },
  { words: ["uri", "dns"] as const, noun: "an identity source", configPath: "listener.tls.identityFrom" },
);

/** The identity rows, in docs order. */
export const AUTH_ANNOTATIONS: readonly Annotation<unknown>[] = [
  API_KEYS,
  API_KEY_HEADER,
  JWT_ISSUER,
  JWT_AUDIENCE,
  JWKS_URL,
  JWKS_SECRET,
  {
    name: "podgate.io/jwt-algorithms",
    type: "list",
    noun: "an algorithm list",
    expected: `comma-separated algorithms from ${JWT_ALGORITHMS.join(", ")}`,
    parse: parseAlgorithms,
    format: (value) => value.join(","),
    configPath: "policies.jwt.algorithms",
    default: configDefault("policies.jwt.algorithms", (value: string[]) => value.join(",")),
    description: "Accepted `alg` values; `none` and HMAC (HS*) are always refused.",
    example: "RS256,ES256",
  } satisfies Annotation<string[]>,
  {
    name: "podgate.io/jwt-claim-headers",
    type: "map",
    noun: "a claim-to-header map",
    expected: '<claim>=<header> pairs separated by ","',
    parse: parseClaimHeaders,
    configPath: "policies.jwt.claimHeaders",
    default: "none",
    description:
      "Verified claims forwarded to the app in these headers; copies the client sent are stripped.",
    example: "sub=x-user-id,email=x-user-email",
  } satisfies Annotation<Record<string, string>>,
  {
    ...BOOLEAN,
    name: "podgate.io/jwt-forward-token",
    configPath: "policies.jwt.forwardToken",
    default: configDefault("policies.jwt.forwardToken", String),
    description: '"false" strips the Authorization header before the request reaches the app.',
    example: "false",
  },
  {
    name: "podgate.io/jwt-max-lifetime",
    type: "duration",
    noun: "a duration",
    expected: "whole seconds as <number><s|m|h>",
    parse: parseSeconds(),
    format: formatSeconds,
    configPath: "policies.jwt.maxLifetimeSeconds",
    default: configDefault("policies.jwt.maxLifetimeSeconds", formatSeconds),
    description: "Tokens whose lifetime (exp - iat) is longer are refused.",
    example: "1h",
  } satisfies Annotation<number>,
  {
    ...BOOLEAN,
    name: "podgate.io/auth-required",
    configPath: "policies.authentication.required",
    default:
      "true when a credential (API keys, JWT or client certificates) is set; true in zones that require authentication",
    description:
      'Whether every request needs a valid credential (else 401). "false" lets requests without one through as anonymous; a wrong credential is still refused.',
    example: "true",
  },
  LOCKOUT,
  TLS_SECRET,
  TLS_MIN_VERSION,
  CLIENT_CA_SECRET,
  CLIENT_CERTIFICATES,
  CLIENT_IDENTITY_FROM,
];
