/**
 * The chart README documents every value in values.yaml (and nothing that is not one), every example
 * values file, and the GitOps ignore rules for both webhook configurations.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR } from "./helm.ts";

const readme = readFileSync(join(CHART_DIR, "README.md"), "utf8");
const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;

/** Every leaf path of the values: scalars, lists and empty maps. */
function leaves(value: unknown, path: string): string[] {
  const isMap = typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isMap || Object.keys(value).length === 0) return [path];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, path === "" ? key : `${path}.${key}`));
}

/** The first cell of each row of the Values table. */
function documented(): string[] {
  const section = readme.split("## Values")[1]?.split("\n## ")[0] ?? "";
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] ?? "");
}

const hasPath = (path: string) =>
  path
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values) !==
  undefined;

describe("charts/podgate/README.md", () => {
  it.each(leaves(values, ""))("documents %s", (path) => {
    const rows = documented();
    const parts = path.split(".");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("."));
    expect(
      prefixes.some((prefix) => rows.includes(prefix)),
      `no row for ${path}`,
    ).toBe(true);
  });

  it("documents only real values", () => {
    expect(documented().filter((row) => row !== "global" && !hasPath(row))).toEqual([]);
  });

  it("names every example values file", () => {
    for (const file of readdirSync(join(CHART_DIR, "examples"))) expect(readme).toContain(`\`${file}\``);
  });

  it("tells Argo CD and Flux to ignore the caBundle of both webhook configurations", () => {
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) {
      expect(readme.match(new RegExp(`kind: ${kind}`, "g"))?.length).toBe(2);
    }
    expect(readme).toContain('jqPathExpressions: [".webhooks[]?.clientConfig.caBundle"]');
    expect(readme).toContain("driftDetection:");
  });
});
