import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configReference, withReference } from "../../scripts/config-reference.ts";

describe("README configuration reference", () => {
  it("is the one generated from the schema (refresh: node scripts/config-reference.ts)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(withReference(readme)).toBe(readme);
  });

  it("lists every leaf key with its default", () => {
    const table = configReference();
    expect(table).toContain("| `limits.maxBodyBytes` | integer | `10485760` |");
    expect(table).toContain("| `routes[].path` | string | — |");
  });
});
