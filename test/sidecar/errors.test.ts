import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_SPECS, PROBLEM_TYPE_BASE, RateLimitedError } from "../../sidecar/errors.ts";

describe("error codes", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const documented = new Map(
    [...readme.matchAll(/^\| `(PODGATE_[A-Z_]+)` \| (\d{3}) \| `([a-z-]+)` \|/gm)].map((m) => [
      m[1],
      { status: Number(m[2]), slug: m[3] },
    ]),
  );

  it("are all documented in the README with their status and problem type, and nothing else is", () => {
    const inCode = new Map(
      Object.entries(ERROR_SPECS).map(([code, spec]) => [code, { status: spec.statusCode, slug: spec.slug }]),
    );
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(inCode));
  });

  it("follow PODGATE_<AREA>_<WHAT> and have distinct problem types", () => {
    for (const code of Object.keys(ERROR_SPECS)) expect(code).toMatch(/^PODGATE_[A-Z]+_[A-Z_]+$/);
    const slugs = Object.values(ERROR_SPECS).map((spec) => spec.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(PROBLEM_TYPE_BASE).toBe("https://podgate.io/problems/");
  });

  it("are built without a stack trace (a denial is data) and keep the cause's stack", () => {
    const limit = Error.stackTraceLimit;
    const cause = new Error("socket hang up");
    const error = new RateLimitedError("too many requests", { cause });
    expect(error.stack).toBe("PODGATE_TRAFFIC_RATE_LIMITED: too many requests");
    expect(error.cause).toBe(cause);
    expect(cause.stack?.split("\n").length).toBeGreaterThan(1);
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
