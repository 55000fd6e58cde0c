import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { closeServer } from "./upstream.ts";

/** A key pair an identity provider signs with, and its public JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public key as a JWK with `kid`, `alg` and `use`. */
  readonly jwk: JWK;
  /** The public key as SPKI PEM, for the HMAC key-confusion attack. */
  readonly pem: string;
}

/** Generates a signing key (RS256 by default) with jose. */
export async function signingKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) };
}

/** Options of mintToken: the header fields to send, and times relative to `now` in seconds. */
export interface MintOptions {
  /** Seconds since the epoch to count from; default now. */
  now?: number;
  /** `exp` this many seconds after now; null for no exp. Default 300. */
  expiresIn?: number | null;
  /** `iat` this many seconds after now (negative: in the past); null for no iat. Default 0. */
  issuedAt?: number | null;
  /** `nbf` this many seconds after now; default none. */
  notBefore?: number;
  /** Header fields to set or override (`kid`, `typ`). */
  header?: Record<string, unknown>;
}

/** Signs a JWT with `key`: `claims` as given, plus exp/iat/nbf per `options`. */
export async function mintToken(
  key: SigningKey,
  claims: JWTPayload,
  options: MintOptions = {},
): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { ...claims };
  if (options.issuedAt !== null) payload.iat = now + (options.issuedAt ?? 0);
  if (options.expiresIn !== null) payload.exp = now + (options.expiresIn ?? 300);
  if (options.notBefore !== undefined) payload.nbf = now + options.notBefore;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...options.header })
    .sign(key.privateKey);
}

/** The unsigned token of the `alg: none` attack (RFC 8725 §2.1). */
export function unsecuredToken(claims: JWTPayload, header: Record<string, unknown> = {}): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT", ...header })}.${part(claims)}.`;
}

/** A JWKS endpoint on 127.0.0.1:0 whose keys a test can rotate, take down, and count requests to. */
export interface JwksServer {
  readonly url: string;
  /** The keys served; replace to rotate. */
  keys: JWK[];
  /** When true, every request's connection is destroyed without an answer. */
  down: boolean;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts a JWKS endpoint serving `keys` at `/jwks.json`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, down: false, requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, {
      "content-type": "application/jwk-set+json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    close: () => closeServer(server),
  });
}
