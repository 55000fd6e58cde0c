// Writes the README's configuration reference from the sidecar's config schema, between the
// markers `<!-- config:start -->` and `<!-- config:end -->`. `--check` only compares, and exits 1
// when the README is stale. test/sidecar/config-reference.test.ts runs the same comparison.
import { readFileSync, writeFileSync } from "node:fs";
import type { TSchema } from "@sinclair/typebox";
import { SidecarConfigSchema } from "../sidecar/config.ts";

const README = new URL("../README.md", import.meta.url);
const START = "<!-- config:start -->";
const END = "<!-- config:end -->";

interface Row {
  key: string;
  type: string;
  defaultValue: string;
  description: string;
}

function rows(schema: TSchema, prefix: string): Row[] {
  const out: Row[] = [];
  for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    const key = prefix === "" ? name : `${prefix}.${name}`;
    if (child.type === "object" && child.properties !== undefined) {
      if (child.description !== undefined && prefix === "")
        out.push({ key, type: "section", defaultValue: "—", description: child.description });
      out.push(...rows(child, key));
      continue;
    }
    out.push({
      key,
      type: typeName(child),
      defaultValue: defaultOf(child),
      description: child.description ?? "",
    });
    if (child.type === "array" && (child.items as TSchema | undefined)?.type === "object") {
      out.push(...rows(child.items as TSchema, `${key}[]`));
    }
  }
  return out;
}

function typeName(schema: TSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v: string) => `\`${v}\``).join(" \\| ");
  if (schema.type === "array") return `list of ${typeName(schema.items as TSchema)}`;
  if (schema.type === "object") return "map of string";
  return String(schema.type ?? "value");
}

function defaultOf(schema: TSchema): string {
  return schema.default === undefined ? "—" : `\`${JSON.stringify(schema.default)}\``;
}

/** The generated markdown table. */
export function configReference(): string {
  const lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"];
  for (const row of rows(SidecarConfigSchema, "")) {
    lines.push(
      `| \`${row.key}\` | ${row.type} | ${row.defaultValue} | ${row.description.replace(/\|/g, "\\|")} |`,
    );
  }
  return lines.join("\n");
}

/** The README with the reference replaced. */
export function withReference(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`README.md lacks the ${START} / ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${configReference()}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = readFileSync(README, "utf8");
  const updated = withReference(readme);
  if (process.argv.includes("--check")) {
    if (updated !== readme) {
      console.error("README.md's configuration reference is stale: run node scripts/config-reference.ts");
      process.exit(1);
    }
  } else {
    writeFileSync(README, updated);
  }
}
