import { decodeJwt, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from "jose";
import type { Logger } from "pino";
import { editsOf, type Identity, type RequestContext } from "../chain.ts";
import { bearerToken, type CredentialPolicy, MALFORMED } from "../credential.ts";
import { AuthInvalidError, AuthUnavailableError, type PodgateError } from "../errors.ts";
import { fileJwks, JwksUnavailableError, type KeySource, remoteJwks } from "../jwks.ts";
import type { JwtConfig } from "../policy-config.ts";

/** Options of jwtAuth. */
export interface JwtAuthOptions {
  log: Logger;
  /** The clock, in ms since the epoch, for claim checks and the JWKS cache; default Date.now. */
  now?: () => number;
  /** Re-read a `jwksFile` this often even without a change event, in ms; default 30 000. */
  rescanMs?: number;
  /** Stops watching a `jwksFile` when aborted. */
  signal?: AbortSignal | undefined;
}

const CHALLENGE = 'Bearer realm="podgate"';
/** Claim values longer than this are not forwarded in a header. */
const MAX_CLAIM_HEADER_LENGTH = 4096;

/**
 * JWT bearer tokens (RFC 7519, with the RFC 8725 best practices): the signature is checked with a
 * key from `jwksUrl` or `jwksFile` under an allowlist of asymmetric algorithms (`none` and HMAC are
 * never accepted, whatever the token says); `iss` and `aud` must match; `exp` is required unless
 * `requireExp` is false; `exp`, `nbf` and `iat` allow `clockSkewSeconds`; a token may not live longer
 * than `maxLifetimeSeconds`; `sub` is required and becomes the identity, with the claims and scopes
 * (`scope`, space-separated, or `scp`). The `claimHeaders` are removed from every request and set
 * from the verified claims; Authorization is removed when `forwardToken` is false. An invalid token
 * is 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1); a token that cannot
 * be checked for want of keys is 503.
 * @example jwtAuth({ jwksUrl: "https://idp.example/.well-known/jwks.json", issuer: "https://idp.example/",
 *   audience: ["orders"], algorithms: ["RS256"], requireExp: true, clockSkewSeconds: 30,
 *   maxLifetimeSeconds: 86_400, jwksCacheSeconds: 600, jwksCooldownSeconds: 30,
 *   claimHeaders: { sub: "x-user-id" }, forwardToken: false }, { log })
 */
export function jwtAuth(config: JwtConfig, options: JwtAuthOptions): CredentialPolicy {
  const now = options.now ?? Date.now;
  const verify = tokenVerifier(config, keySource(config, options, now), now);
  const claimHeaders = Object.entries(config.claimHeaders).map(([claim, header]) => ({
    claim,
    header: header.toLowerCase(),
  }));
  const forged = claimHeaders.map(({ header }) => header);
  return {
    name: "jwt-auth",
    challenge: CHALLENGE,
    evaluate: function bearerCredential(context) {
      // Whatever authenticates this request, the app must only ever see claim headers we set.
      if (forged.length > 0) editsOf(context, "upstream").remove.push(...forged);
      const token = bearerToken(context.req.rawHeaders);
      if (token === undefined) return undefined;
      if (token === MALFORMED) return invalidToken("the Authorization header is not one bearer token");
      return verify(token).then((payload) => {
        context.identity = identityOf(payload);
        const upstream = editsOf(context, "upstream");
        for (const { claim, header } of claimHeaders) {
          const value = claimHeaderValue(payload, claim);
          if (value !== undefined) upstream.set.push(header, value);
        }
        if (!config.forwardToken) upstream.remove.push("authorization");
        return undefined;
      }, rejection);
    },
  };
}

function keySource(config: JwtConfig, options: JwtAuthOptions, now: () => number): KeySource {
  const { log } = options;
  if (config.jwksUrl !== undefined) {
    const cacheMs = config.jwksCacheSeconds * 1000;
    const cooldownMs = config.jwksCooldownSeconds * 1000;
    return remoteJwks({ url: config.jwksUrl, cacheMs, cooldownMs, now, log });
  }
  if (config.jwksFile === undefined) throw new Error("policies.jwt: expected jwksUrl or jwksFile");
  const rescanMs = options.rescanMs ?? 30_000;
  return fileJwks({ path: config.jwksFile, rescanMs, signal: options.signal, log });
}

/** Verifies a token's signature and claims; rejects with a jose error or JwksUnavailableError. */
function tokenVerifier(config: JwtConfig, keys: KeySource, now: () => number) {
  const skew = config.clockSkewSeconds;
  const base: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: [...config.audience],
    algorithms: [...config.algorithms],
    clockTolerance: skew,
    requiredClaims: config.requireExp ? ["exp", "sub"] : ["sub"],
  };
  return async function verifyToken(token: string): Promise<JWTPayload> {
    const currentDate = new Date(now());
    const { payload } = await jwtVerify(token, keys.getKey, { ...base, currentDate });
    const problem = lifetimeProblem(payload, Math.floor(currentDate.getTime() / 1000), {
      skew,
      max: config.maxLifetimeSeconds,
    });
    if (problem !== undefined) throw new errors.JWTClaimValidationFailed(problem, payload);
    if (typeof payload.sub !== "string" || payload.sub === "") {
      throw new errors.JWTClaimValidationFailed("the sub claim must be a non-empty string", payload, "sub");
    }
    return payload;
  };
}

/**
 * What is wrong with a token's lifetime: issued in the future (beyond the skew), or meant to live
 * longer than `max` seconds, counted from `iat` or, without one, from now.
 */
export function lifetimeProblem(
  payload: JWTPayload,
  nowSeconds: number,
  limits: { skew: number; max: number },
): string | undefined {
  const { iat, exp } = payload;
  if (iat !== undefined && iat > nowSeconds + limits.skew) return "the token was issued in the future";
  if (exp !== undefined && exp - (iat ?? nowSeconds) > limits.max) {
    return `the token lives longer than ${limits.max} seconds`;
  }
  if (exp === undefined && iat !== undefined && nowSeconds - iat > limits.max + limits.skew) {
    return `the token is older than ${limits.max} seconds`;
  }
  return undefined;
}

function identityOf(payload: JWTPayload): Identity {
  return { id: payload.sub as string, source: "jwt", claims: payload, scopes: scopesOf(payload) };
}

/** Scopes from `scope` (RFC 8693 §4.2, space-separated) and `scp` (an array, or a string in some IdPs). */
export function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const scopes = new Set<string>();
  for (const claim of [payload.scope, payload.scp]) {
    const list = typeof claim === "string" ? claim.split(/\s+/) : Array.isArray(claim) ? claim : [];
    for (const scope of list) if (typeof scope === "string" && scope !== "") scopes.add(scope);
  }
  return scopes;
}

/**
 * A claim as a header value: strings as they are, other values as JSON. A value with characters a
 * header cannot carry (RFC 9110 §5.5) is percent-encoded; an overlong one is not forwarded.
 * A name with dots (`realm_access.roles`) is looked up as is, then as a path.
 */
export function claimHeaderValue(payload: JWTPayload, claim: string): string | undefined {
  let value: unknown = payload[claim];
  if (value === undefined && claim.includes(".")) {
    value = claim
      .split(".")
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)?.[part], payload);
  }
  if (value === undefined || value === null) return undefined;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const safe = /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
  return safe.length > MAX_CLAIM_HEADER_LENGTH ? undefined : safe;
}

/**
 * The `sub` a bearer token claims, read without verifying anything: only the lockout uses it, to
 * count failures per claimed principal. Undefined when there is no readable token or sub.
 */
export function claimedSubject(context: RequestContext): string | undefined {
  const token = bearerToken(context.req.rawHeaders);
  if (token === undefined || token === MALFORMED) return undefined;
  try {
    const { sub } = decodeJwt(token);
    return typeof sub === "string" && sub !== "" && sub.length <= 256 ? sub : undefined;
  } catch {
    return undefined;
  }
}

function invalidToken(detail: string): PodgateError {
  return new AuthInvalidError(detail, {
    headers: { "www-authenticate": `${CHALLENGE}, error="invalid_token", error_description="${detail}"` },
  });
}

function rejection(error: unknown): PodgateError {
  if (error instanceof JwksUnavailableError) {
    return new AuthUnavailableError("the keys to verify the token cannot be fetched; try again later", {
      headers: { "retry-after": "5" },
    });
  }
  if (error instanceof errors.JOSEError) return invalidToken(describe(error));
  throw error;
}

/** A fixed sentence per jose error: never the token, and nothing an attacker could inject. */
function describe(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "the token is not valid yet";
    if (error.reason === "missing") return `the token has no ${error.claim} claim`;
    if (["iss", "aud", "sub", "iat", "exp"].includes(error.claim))
      return `the token's ${error.claim} claim is not accepted`;
    return /^[\w .]+$/.test(error.message) ? error.message : "the token's claims are not accepted";
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return "the token's algorithm is not accepted";
  }
  if (error instanceof errors.JWKSNoMatchingKey) return "no key matches the token's kid";
  if (error instanceof errors.JWKSMultipleMatchingKeys)
    return "the token names no kid and several keys match";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature is not valid";
  return "the token is malformed";
}
