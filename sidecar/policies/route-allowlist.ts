import type { Policy } from "../chain.ts";
import type { RouteConfig } from "../config.ts";
import { MethodNotAllowedError, RouteNotFoundError } from "../errors.ts";

/**
 * Route allowlist: a request passes only when a route's path pattern matches its canonical path and
 * the route allows its method. No matching path answers 404; a matching path with another method
 * answers 405 with `Allow`. Patterns: `/exact`, `/users/*` (exactly one segment), `/api/**` (`/api`
 * and everything below). GET also allows HEAD.
 * @example routeAllowlist([{ path: "/api/**", methods: ["GET", "POST"] }, { path: "/healthz", methods: ["GET"] }])
 */
export function routeAllowlist(routes: readonly RouteConfig[]): Policy {
  const compiled = routes.map(compileRoute);
  return {
    name: "route-allowlist",
    evaluate: function allowlistedRoute(context) {
      let allowed: Set<string> | undefined;
      for (let i = 0; i < compiled.length; i++) {
        const route = compiled[i] as CompiledRoute;
        if (!route.matches(context.path)) continue;
        if (route.methods === undefined || route.methods.has(context.method)) {
          context.routeIndex = i;
          return undefined;
        }
        allowed ??= new Set();
        for (const m of route.methods) allowed.add(m);
      }
      if (allowed === undefined) return new RouteNotFoundError(`no route allows ${context.path}`);
      const allow = [...allowed].join(", ");
      return new MethodNotAllowedError(
        `${context.method} is not allowed on ${context.path}; allowed: ${allow}`,
        {
          headers: { allow },
        },
      );
    },
  };
}

interface CompiledRoute {
  /** Allowed methods, or undefined for all. */
  methods: ReadonlySet<string> | undefined;
  matches(path: string): boolean;
}

function compileRoute(route: RouteConfig): CompiledRoute {
  const methods = route.methods.includes("*") ? undefined : new Set<string>(route.methods);
  if (methods?.has("GET")) methods.add("HEAD");
  return { methods, matches: pathMatcher(route.path) };
}

/** Compiles a path pattern into a matcher over canonical decoded paths. */
export function pathMatcher(pattern: string): (path: string) => boolean {
  if (!pattern.includes("*")) return (path) => path === pattern;
  const segments = pattern.split("/").slice(1);
  const anyDepth = segments.at(-1) === "**";
  if (anyDepth) segments.pop();
  const prefixLength = segments.length;
  return function patternMatch(path) {
    const parts = path.split("/").slice(1);
    if (anyDepth ? parts.length < prefixLength : parts.length !== prefixLength) return false;
    if (anyDepth && parts.length === prefixLength + 1 && parts[prefixLength] === "") return true;
    for (let i = 0; i < prefixLength; i++) {
      const want = segments[i];
      if (want !== "*" && want !== parts[i]) return false;
      if (want === "*" && parts[i] === "") return false;
    }
    return true;
  };
}
