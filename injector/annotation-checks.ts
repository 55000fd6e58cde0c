/**
 * Checks across annotations: settings that only mean something together (a JWT issuer needs an
 * audience and keys; client certificates need a CA and a TLS listener). Each problem names the
 * annotation and what it needs, so mutate, validate and lint all say the same.
 */
import type { RouteConfig } from "../sidecar/config.ts";

const P = "podgate.io/";

/** Annotations that mean nothing without another one: [annotation, what it needs, why]. */
const NEEDS: readonly (readonly [string, string, string?])[] = [
  [`${P}api-key-header`, `${P}api-keys`],
  ...["methods", "headers", "expose-headers", "credentials", "max-age"].map(
    (name) => [`${P}cors-${name}`, `${P}cors-origins`] as const,
  ),
  [`${P}tls-min-version`, `${P}tls-secret`],
  [`${P}client-ca-secret`, `${P}tls-secret`, "client certificates are asked for in the TLS handshake"],
  [`${P}client-ca-secret`, `${P}client-certificates`, "optional or required; without it none is asked for"],
  [`${P}client-certificates`, `${P}tls-secret`, "client certificates are asked for in the TLS handshake"],
  [`${P}client-certificates`, `${P}client-ca-secret`, "the CA that client certificates must chain to"],
  [`${P}client-identity-from`, `${P}client-certificates`],
];

const JWT = ["issuer", "audience", "algorithms", "claim-headers", "forward-token", "max-lifetime"]
  .map((name) => `${P}jwt-${name}`)
  .concat([`${P}jwks-url`, `${P}jwks-secret`]);

/** What a credential is, for messages. */
export const CREDENTIALS = `${P}api-keys, a JWT issuer (${P}jwt-issuer) or client certificates (${P}client-certificates)`;

/** What the checks read: which annotations are set, and parsed values by name. */
export interface CheckInput {
  has(name: string): boolean;
  value(name: string): unknown;
}

function jwtProblems(input: CheckInput): string[] {
  const set = JWT.filter((name) => input.has(name));
  const first = set[0];
  if (first === undefined) return [];
  const missing = [`${P}jwt-issuer`, `${P}jwt-audience`].filter((name) => !input.has(name));
  const url = input.has(`${P}jwks-url`);
  const secret = input.has(`${P}jwks-secret`);
  if (!url && !secret) missing.push(`${P}jwks-url or ${P}jwks-secret`);
  const problems =
    missing.length === 0 ? [] : [`${first}: JWT verification also needs ${missing.join(" and ")}`];
  if (url && secret) problems.push(`${P}jwks-secret: set ${P}jwks-url or ${P}jwks-secret, not both`);
  return problems;
}

/** Whether the pod's annotations configure any credential. */
export function hasCredential(input: CheckInput): boolean {
  return input.has(`${P}api-keys`) || input.has(`${P}jwt-issuer`) || input.has(`${P}client-certificates`);
}

function credentialProblems(input: CheckInput): string[] {
  const problems: string[] = [];
  const credential = hasCredential(input);
  if (input.value(`${P}auth-required`) === true && !credential) {
    problems.push(`${P}auth-required: "true" needs a credential: ${CREDENTIALS}`);
  }
  if (input.has(`${P}lockout`) && !credential) {
    problems.push(`${P}lockout: counts failed authentications, so it needs a credential: ${CREDENTIALS}`);
  }
  const routes = (input.value(`${P}routes`) ?? []) as RouteConfig[];
  if (routes.some((route) => route.scopes !== undefined) && !input.has(`${P}jwt-issuer`)) {
    problems.push(`${P}routes: scopes= needs JWT (${P}jwt-issuer); scopes come from the token`);
  }
  if (routes.some((route) => route.identities !== undefined) && !credential) {
    problems.push(`${P}routes: identities= needs a credential: ${CREDENTIALS}`);
  }
  return problems;
}

/**
 * Every problem across annotations, one sentence each.
 * @example crossAnnotationProblems(input) // ['podgate.io/api-key-header needs podgate.io/api-keys']
 */
export function crossAnnotationProblems(input: CheckInput): string[] {
  const problems = NEEDS.filter(([name, needed]) => input.has(name) && !input.has(needed)).map(
    ([name, needed, why]) => `${name} needs ${needed}${why === undefined ? "" : ` (${why})`}`,
  );
  return [...problems, ...jwtProblems(input), ...credentialProblems(input)];
}
