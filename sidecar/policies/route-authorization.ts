import type { Policy } from "../chain.ts";
import type { RouteConfig } from "../config.ts";
import { AccessForbiddenError, AuthMissingError } from "../errors.ts";

/** Options of routeAuthorization. */
export interface RouteAuthorizationOptions {
  /** The `WWW-Authenticate` challenge for an anonymous caller on a protected route. */
  challenge?: string | undefined;
}

interface RouteRule {
  readonly scopes: readonly string[];
  /** The RFC 6750 challenge for a caller without the scopes. */
  readonly insufficientScope: string;
  /** Allowed identity ids; undefined when the route allows any identity. */
  readonly identities: ReadonlySet<string> | undefined;
}

/** True when a route names required scopes or allowed identities. */
export function routeHasRequirements(route: RouteConfig): boolean {
  return (route.scopes?.length ?? 0) > 0 || route.identities !== undefined;
}

/**
 * Route authorization: on the route the allowlist matched (`context.routeIndex`), the caller must
 * hold every scope in `scopes` (from a JWT) and its identity id (certificate SAN, API key id or JWT
 * sub) must be in `identities`. An anonymous caller there gets 401; a caller without the right gets
 * 403, naming the missing scopes (RFC 6750 §3.1 `insufficient_scope`) but never listing who else is
 * allowed. Routes without requirements, and requests without a matched route, pass.
 * @example routeAuthorization([{ path: "/admin/**", methods: ["*"], identities: ["spiffe://cluster.local/ns/ops/sa/admin"] },
 *   { path: "/orders/**", methods: ["POST"], scopes: ["orders:write"] }])
 */
export function routeAuthorization(
  routes: readonly RouteConfig[],
  options: RouteAuthorizationOptions = {},
): Policy {
  const rules = routes.map((route): RouteRule | undefined =>
    routeHasRequirements(route)
      ? {
          scopes: route.scopes ?? [],
          insufficientScope: insufficientScopeChallenge(route.scopes ?? []),
          identities: route.identities && new Set(route.identities),
        }
      : undefined,
  );
  const missingHeaders =
    options.challenge === undefined ? undefined : { headers: { "www-authenticate": options.challenge } };
  return {
    name: "route-authorization",
    evaluate: function authorizedForRoute(context) {
      const rule = rules[context.routeIndex];
      if (rule === undefined) return undefined;
      const identity = context.identity;
      if (identity === undefined)
        return new AuthMissingError("this route needs an authenticated caller", missingHeaders);
      if (rule.identities !== undefined && !rule.identities.has(identity.id)) {
        return new AccessForbiddenError(`this ${identity.source} identity may not use this route`);
      }
      const missing = rule.scopes.filter((scope) => identity.scopes?.has(scope) !== true);
      if (missing.length === 0) return undefined;
      return new AccessForbiddenError(`missing scopes: ${missing.join(" ")}`, {
        headers: { "www-authenticate": rule.insufficientScope },
      });
    },
  };
}

// RFC 6749 §3.3: scope tokens are %x21 / %x23-5B / %x5D-7E, so they fit in a quoted-string as they are.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function insufficientScopeChallenge(scopes: readonly string[]): string {
  const challenge = 'Bearer realm="podgate", error="insufficient_scope"';
  return scopes.every((scope) => SCOPE_TOKEN.test(scope))
    ? `${challenge}, scope="${scopes.join(" ")}"`
    : challenge;
}
