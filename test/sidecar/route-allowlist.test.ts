import { describe, expect, it } from "vitest";
import type { PolicyOutcome, RequestContext } from "../../sidecar/chain.ts";
import { pathMatcher, routeAllowlist } from "../../sidecar/policies/route-allowlist.ts";

describe("pathMatcher", () => {
  it.each([
    ["/health", "/health", true],
    ["/health", "/health/", false],
    ["/health", "/healthz", false],
    ["/users/*", "/users/42", true],
    ["/users/*", "/users/", false],
    ["/users/*", "/users/42/orders", false],
    ["/users/*/orders", "/users/42/orders", true],
    ["/api/**", "/api", true],
    ["/api/**", "/api/", true],
    ["/api/**", "/api/v1/things", true],
    ["/api/**", "/apix", false],
    ["/api/**", "/other/api", false],
    ["/**", "/anything/at/all", true],
  ])("pattern %s against %s is %s", (pattern, path, expected) => {
    expect(pathMatcher(pattern)(path)).toBe(expected);
  });
});

describe("routeAllowlist", () => {
  const policy = routeAllowlist([
    { path: "/api/**", methods: ["GET", "POST"] },
    { path: "/admin", methods: ["DELETE"] },
    { path: "/open", methods: ["*"] },
  ]);
  const decide = (method: string, path: string) =>
    policy.evaluate({ method, path } as RequestContext) as PolicyOutcome;

  it("allows a listed method on a matching path, and HEAD where GET is allowed", () => {
    expect(decide("POST", "/api/orders")).toBeUndefined();
    expect(decide("HEAD", "/api/orders")).toBeUndefined();
    expect(decide("PATCH", "/open")).toBeUndefined();
  });

  it("answers 404 for a path no route matches", () => {
    const error = decide("GET", "/secret");
    expect(error?.statusCode).toBe(404);
    expect(error?.code).toBe("PODGATE_ROUTE_NOT_FOUND");
  });

  it("answers 405 with Allow for a matching path and an unlisted method", () => {
    const error = decide("PUT", "/api/orders");
    expect(error?.statusCode).toBe(405);
    expect(error?.headers?.allow).toBe("GET, POST, HEAD");
  });
});
