import { describe, expect, it } from "vitest";
import { bearerToken, MALFORMED, REPEATED, singleHeader } from "../../sidecar/credential.ts";

describe("singleHeader", () => {
  it("finds a header case-insensitively, and flags a repeated one", () => {
    expect(singleHeader(["Host", "a", "X-Api-Key", "k"], "x-api-key")).toBe("k");
    expect(singleHeader(["Host", "a"], "x-api-key")).toBeUndefined();
    expect(singleHeader(["x-api-key", "k", "X-API-KEY", "j"], "x-api-key")).toBe(REPEATED);
  });
});

describe("bearerToken", () => {
  it.each<[string, string[], string | undefined | typeof MALFORMED]>([
    ["a bearer token", ["Authorization", "Bearer abc.def.ghi"], "abc.def.ghi"],
    ["a lower-case scheme", ["authorization", "bearer abc.def.ghi"], "abc.def.ghi"],
    ["no Authorization", ["Host", "a"], undefined],
    ["another scheme", ["Authorization", "Basic YTpi"], undefined],
    ["a scheme that only starts like Bearer", ["Authorization", "BearerX abc"], undefined],
    ["Bearer without a token", ["Authorization", "Bearer"], MALFORMED],
    ["two tokens", ["Authorization", "Bearer a b"], MALFORMED],
    [
      "a repeated Authorization header",
      ["Authorization", "Bearer a", "authorization", "Bearer b"],
      MALFORMED,
    ],
  ])("%s", (_name, raw, expected) => {
    expect(bearerToken(raw)).toBe(expected);
  });
});
