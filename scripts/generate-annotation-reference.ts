/**
 * Writes the annotation reference (generated from injector/annotations.ts) into README.md between
 * `<!-- annotations:start -->` and `<!-- annotations:end -->`. Run after changing the annotation table:
 *   node scripts/generate-annotation-reference.ts
 * `--check` exits 1 instead of writing when the README is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { renderReference, replaceReference } from "../injector/reference.ts";
import { WEBHOOK_ERROR_SPECS } from "../webhooks/errors.ts";

const path = new URL("../README.md", import.meta.url);
const current = readFileSync(path, "utf8");
const next = replaceReference(current, renderReference(WEBHOOK_ERROR_SPECS));
if (process.argv.includes("--check")) {
  process.stdout.write(
    current === next
      ? "README annotation reference is up to date\n"
      : "README annotation reference is stale\n",
  );
  process.exitCode = current === next ? 0 : 1;
} else if (current !== next) {
  writeFileSync(path, next);
  process.stdout.write("README annotation reference updated\n");
}
