/** The README's annotation reference is generated from the annotation table; a stale README fails here. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../injector/annotations.ts";
import { README_MARKERS, renderReference, replaceReference } from "../../injector/reference.ts";
import { WEBHOOK_ERROR_SPECS } from "../../webhooks/errors.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README annotation reference", () => {
  it("is up to date with injector/annotations.ts (regenerate: node scripts/generate-annotation-reference.ts)", () => {
    expect(readme).toBe(replaceReference(readme, renderReference(WEBHOOK_ERROR_SPECS)));
  });

  it("lists every annotation in the table", () => {
    const section = readme.slice(readme.indexOf(README_MARKERS.start), readme.indexOf(README_MARKERS.end));
    for (const row of ANNOTATIONS) expect(section).toContain(`| \`${row.name}\` |`);
  });

  it("fails on a README whose reference drifted", () => {
    const stale = replaceReference(readme, "## Annotation reference\n\n(old)\n");
    expect(stale).not.toBe(replaceReference(stale, renderReference(WEBHOOK_ERROR_SPECS)));
  });
});
