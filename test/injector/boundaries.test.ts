/**
 * The injector is pure: it imports only @kubernetes/client-node types and sidecar/config.ts, and
 * uses no fs, network, clock or randomness. webhooks/ imports of sidecar/ only the redact.ts leaf.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

function sources(folder: string): { file: string; text: string }[] {
  return readdirSync(join(ROOT, folder))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => ({ file: `${folder}/${file}`, text: readFileSync(join(ROOT, folder, file), "utf8") }));
}

function imports(text: string): { specifier: string; typeOnly: boolean }[] {
  return [...text.matchAll(/^import (type )?[^;]*? from "([^"]+)";/gms)].map((match) => ({
    specifier: match[2] ?? "",
    typeOnly: match[1] !== undefined,
  }));
}

describe("module boundaries", () => {
  it.each(sources("injector"))(
    "$file imports only injector files, client-node types and sidecar/config.ts",
    ({ text }) => {
      for (const { specifier, typeOnly } of imports(text)) {
        const allowed =
          (specifier.startsWith("./") && !specifier.includes("..")) ||
          specifier === "../sidecar/config.ts" ||
          (specifier === "@kubernetes/client-node" && typeOnly);
        expect(allowed, specifier).toBe(true);
      }
    },
  );

  it.each(sources("injector"))("$file uses no clock, randomness or process state", ({ text }) => {
    // String literals may mention them: the startup-gate script runs in the container, not here.
    const code = text.replace(/(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
    expect(code).not.toMatch(/Date\.now|new Date\(|Math\.random|crypto\.|process\.|performance\./);
  });

  // sidecar/redact.ts is a leaf (it imports nothing at run time) that sidecar/config.ts, and so the
  // injector, already use: the webhook's logs redact with the same code as the sidecar's.
  it.each(sources("webhooks"))(
    "$file does not import sidecar internals (only the redact.ts leaf)",
    ({ text }) => {
      for (const { specifier } of imports(text)) {
        const internal = specifier.startsWith("../sidecar/") && specifier !== "../sidecar/redact.ts";
        expect(internal, specifier).toBe(false);
      }
    },
  );

  it("keeps sidecar/redact.ts a leaf: type-only imports", () => {
    const text = readFileSync(join(ROOT, "sidecar", "redact.ts"), "utf8");
    for (const { specifier, typeOnly } of imports(text)) expect(typeOnly, specifier).toBe(true);
  });
});
