import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createLocalJWKSet, errors, type JWK, type JWTVerifyGetKey } from "jose";
import type { Logger } from "pino";
import { ConfigUnreadableError } from "./errors.ts";
import { watchPath } from "./file-watch.ts";

/**
 * Where JWT verification keys come from: a JWKS endpoint (RFC 7517 §5) or a mounted JWKS file. Only
 * public asymmetric keys are kept (RSA, EC, OKP): a symmetric `oct` key would let anyone who knows
 * it mint tokens, and a private key does not belong in a JWKS. Keys are parsed when fetched or read,
 * never per request.
 */

/** Resolves the key for a token's protected header; throws JwksUnavailableError when none can be had. */
export interface KeySource {
  readonly getKey: JWTVerifyGetKey;
}

/** No keys could be obtained to verify a token: the request is answered 503, never allowed. */
export class JwksUnavailableError extends Error {
  override readonly name = "JwksUnavailableError";
}

/** A JWKS larger than this is refused. */
const MAX_JWKS_BYTES = 512 * 1024;
const ASYMMETRIC = new Set(["RSA", "EC", "OKP"]);

/**
 * Parses a JWKS document into a key resolver, keeping only public asymmetric keys.
 * Throws when the document is malformed or holds no usable key.
 * @example parseJwks('{"keys":[{"kty":"RSA","kid":"k1","n":"...","e":"AQAB"}]}')
 */
export function parseJwks(text: string): JWTVerifyGetKey {
  const document = JSON.parse(text) as { keys?: unknown };
  if (document === null || typeof document !== "object" || !Array.isArray(document.keys)) {
    throw new Error("not a JWKS: expected an object with a keys array");
  }
  const keys = (document.keys as JWK[]).filter(
    (jwk) =>
      jwk !== null && typeof jwk === "object" && ASYMMETRIC.has(String(jwk.kty)) && jwk.d === undefined,
  );
  if (keys.length === 0) throw new Error("the JWKS holds no public RSA, EC or OKP key");
  return createLocalJWKSet({ keys });
}

/** Options of remoteJwks. */
export interface RemoteJwksOptions {
  url: string;
  /** Keys older than this are refreshed in the background, in ms. */
  cacheMs: number;
  /** At most one fetch per this many ms, whatever the tokens' kids, in ms. */
  cooldownMs: number;
  /** A fetch that takes longer fails, in ms; default 5000. */
  timeoutMs?: number;
  now: () => number;
  log: Logger;
}

interface RemoteState {
  keys: JWTVerifyGetKey | undefined;
  fetchedAt: number;
  attemptedAt: number;
  /** The last fetch failed. */
  failed: boolean;
  inflight: Promise<void> | undefined;
}

/**
 * Keys from a JWKS endpoint, fetched at construction and then: refreshed in the background once
 * they are `cacheMs` old; refetched when a token names an unknown `kid` (key rotation), at most
 * once per `cooldownMs` so that tokens with invented kids cannot flood the identity provider. When
 * a refresh fails the keys already held keep working. A token that cannot be checked because no
 * keys are held, or because its kid is unknown and the refetch failed, gets JwksUnavailableError.
 * @example remoteJwks({ url: "https://idp.example/jwks", cacheMs: 600_000, cooldownMs: 30_000, now: Date.now, log })
 */
export function remoteJwks(options: RemoteJwksOptions): KeySource {
  const { now } = options;
  const state: RemoteState = {
    keys: undefined,
    fetchedAt: Number.NEGATIVE_INFINITY,
    attemptedAt: Number.NEGATIVE_INFINITY,
    failed: false,
    inflight: undefined,
  };
  const refresh = (): Promise<void> => {
    if (state.inflight !== undefined) return state.inflight;
    state.attemptedAt = now();
    state.inflight = fetchJwks(options.url, options.timeoutMs ?? 5000)
      .then(
        (keys) => {
          state.keys = keys;
          state.fetchedAt = now();
          state.failed = false;
        },
        (error: unknown) => {
          state.failed = true;
          options.log.warn({ url: options.url, err: (error as Error).message }, "JWKS fetch failed");
        },
      )
      .finally(() => {
        state.inflight = undefined;
      });
    return state.inflight;
  };
  const mayFetch = () => now() - state.attemptedAt >= options.cooldownMs;
  const stale = () => now() - state.fetchedAt >= options.cacheMs;
  void refresh();
  return { getKey: remoteKeyResolver(state, { refresh, mayFetch, stale }) };
}

interface Refresher {
  /** Starts a fetch, or joins the one under way. */
  refresh(): Promise<void>;
  /** The cooldown since the last fetch has passed. */
  mayFetch(): boolean;
  /** The keys are older than the cache time. */
  stale(): boolean;
}

function remoteKeyResolver(state: RemoteState, refresher: Refresher): JWTVerifyGetKey {
  /** The keys to try first: fetched now if there are none, refreshed in the background when stale. */
  const current = async (): Promise<JWTVerifyGetKey> => {
    if (state.keys === undefined && (state.inflight !== undefined || refresher.mayFetch())) {
      await refresher.refresh();
    } else if (state.keys !== undefined && refresher.stale() && refresher.mayFetch()) {
      void refresher.refresh();
    }
    if (state.keys === undefined) throw new JwksUnavailableError("no JWKS keys are available");
    return state.keys;
  };
  /** After an unknown kid: fresh keys, or undefined when the last fetch was recent and succeeded. */
  const refetched = async (): Promise<JWTVerifyGetKey | undefined> => {
    if (state.inflight === undefined && !refresher.mayFetch() && !state.failed) return undefined;
    if (state.inflight !== undefined || refresher.mayFetch()) await refresher.refresh();
    if (state.failed || state.keys === undefined) {
      throw new JwksUnavailableError("the JWKS cannot be fetched to find the token's key");
    }
    return state.keys;
  };
  return async function remoteKey(header, token) {
    const keys = await current();
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // An unknown kid may be a key the issuer has just rotated in: refetch, once per cooldown.
      const fresh = await refetched();
      if (fresh === undefined) throw error;
      return fresh(header, token);
    }
  };
}

async function fetchJwks(url: string, timeoutMs: number): Promise<JWTVerifyGetKey> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: "application/jwk-set+json, application/json" },
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`the JWKS endpoint answered ${response.status}`);
  }
  if (Number(response.headers.get("content-length") ?? 0) > MAX_JWKS_BYTES) {
    await response.body?.cancel();
    throw new Error(`the JWKS is larger than ${MAX_JWKS_BYTES} bytes`);
  }
  const text = await response.text();
  if (text.length > MAX_JWKS_BYTES) throw new Error(`the JWKS is larger than ${MAX_JWKS_BYTES} bytes`);
  return parseJwks(text);
}

/** Options of fileJwks. */
export interface FileJwksOptions {
  path: string;
  /** Re-read the file this often even without a change event, in ms. */
  rescanMs: number;
  signal?: AbortSignal | undefined;
  log: Logger;
}

/**
 * Keys from a mounted JWKS file, read at construction (an unreadable or invalid file throws) and
 * re-read when it changes; a reload that fails keeps the previous keys. An unknown kid is invalid.
 * @example fileJwks({ path: "/etc/podgate/jwks/jwks.json", rescanMs: 30_000, log })
 */
export function fileJwks(options: FileJwksOptions): KeySource {
  const { path, log } = options;
  let text: string;
  let keys: JWTVerifyGetKey;
  try {
    text = readFileSync(path, "utf8");
    keys = parseJwks(text);
  } catch (error) {
    throw new ConfigUnreadableError(
      `policies.jwt.jwksFile: cannot use ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const reload = () => {
    try {
      const next = readFileSync(path, "utf8");
      if (next === text) return;
      keys = parseJwks(next);
      text = next;
      log.info({ path }, "JWKS file reloaded");
    } catch (error) {
      log.error(
        { path, err: (error as Error).message },
        "JWKS file reload failed; keeping the previous keys",
      );
    }
  };
  // Watch the folder: a mounted file is a symlink that Kubernetes swaps, not a file written in place.
  watchPath(dirname(path), reload, { intervalMs: options.rescanMs, signal: options.signal, log });
  return { getKey: (header, token) => keys(header, token) };
}
