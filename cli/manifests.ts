/**
 * Reading Kubernetes manifests for `podgate inject` and `podgate lint`: multi-document YAML or JSON
 * from a file or stdin, with `kind: List` (and `PodList`, `DeploymentList`, …) expanded to its items.
 */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../injector/workloads.ts";

/** Where the CLI reads and writes; process streams by default, replaced in tests. */
export interface CliIo {
  readStdin(): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The process's stdin, stdout and stderr. */
export const PROCESS_IO: CliIo = {
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Reads `-f FILE`, `-f -` or a bare `-` (stdin, also the default). */
export async function readInput(
  file: string | undefined,
  io: CliIo,
): Promise<{ text: string; origin: string }> {
  if (file === undefined || file === "-") return { text: await io.readStdin(), origin: "<stdin>" };
  return { text: readFileSync(file, "utf8"), origin: file };
}

/** Parses every document; throws with the document's position when one is not valid YAML or JSON. */
export function parseDocuments(text: string, origin: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [index, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) {
      throw new Error(
        `${origin}: document ${index + 1} is not valid YAML or JSON: ${doc.errors[0]?.message ?? ""}`,
      );
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value))
      throw new Error(`${origin}: document ${index + 1} is not an object`);
    objects.push(value as KubeObject);
  }
  return objects;
}

/** Whether an object is a list (`kind: List` or `<Kind>List`) carrying `items`. */
export function isList(object: KubeObject): object is KubeObject & { items: KubeObject[] } {
  return typeof object.kind === "string" && object.kind.endsWith("List") && Array.isArray(object.items);
}

/** `Kind namespace/name` for messages. */
export function describeObject(object: KubeObject, fallbackNamespace: string): string {
  const name = object.metadata?.name ?? "(unnamed)";
  return `${object.kind ?? "(no kind)"} ${object.metadata?.namespace ?? fallbackNamespace}/${name}`;
}
