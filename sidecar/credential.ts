import type { Policy } from "./chain.ts";

/**
 * What the credential policies (client certificate, API key, JWT) share. A credential policy passes
 * without an identity when the request carries none of its credential, denies with 401 when the
 * credential is present but not valid, and sets `context.identity` when it is valid. The
 * authentication policy runs them all and decides what a request without any credential gets.
 */

/** A policy that verifies one kind of credential. */
export interface CredentialPolicy extends Policy {
  /**
   * The `WWW-Authenticate` challenge naming this credential (RFC 9110 §11.6.1), e.g.
   * `Bearer realm="podgate"`; undefined for client certificates, which no header can carry.
   */
  readonly challenge: string | undefined;
}

/** Marks a header that occurs more than once where one value is expected. */
export const REPEATED: unique symbol = Symbol("repeated header");

/**
 * The value of a header that must occur at most once, read from `rawHeaders` (so Node's joining or
 * dropping of duplicates cannot hide a second copy). `name` must be lower case.
 * @example singleHeader(req.rawHeaders, "x-api-key") // "k3y", undefined, or REPEATED
 */
export function singleHeader(raw: readonly string[], name: string): string | undefined | typeof REPEATED {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const candidate = raw[i] as string;
    if (candidate.length !== name.length || candidate.toLowerCase() !== name) continue;
    if (value !== undefined) return REPEATED;
    value = raw[i + 1] as string;
  }
  return value;
}

/** A bearer token that is not one: a repeated Authorization header, or `Bearer` without a token68. */
export const MALFORMED: unique symbol = Symbol("malformed bearer token");

// RFC 6750 §2.1: `Bearer` 1*SP token68; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer token of a request's Authorization header: undefined when there is no Authorization
 * header or it uses another scheme (Basic is not ours to judge), MALFORMED when it cannot be one token.
 * @example bearerToken(["Authorization", "Bearer eyJ..."]) // "eyJ..."
 */
export function bearerToken(raw: readonly string[]): string | undefined | typeof MALFORMED {
  const value = singleHeader(raw, "authorization");
  if (value === REPEATED) return MALFORMED;
  if (value === undefined || !/^bearer(?: |$)/i.test(value)) return undefined;
  return BEARER.exec(value)?.[1] ?? MALFORMED;
}

/** Joins the challenges of the credential policies into one `WWW-Authenticate` value. */
export function challengesOf(credentials: readonly CredentialPolicy[]): string | undefined {
  const challenges = credentials.flatMap((credential) =>
    credential.challenge === undefined ? [] : [credential.challenge],
  );
  return challenges.length === 0 ? undefined : challenges.join(", ");
}
