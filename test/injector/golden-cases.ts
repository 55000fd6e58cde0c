/**
 * Loads the injector's golden cases from test/injector/testdata: `<case>.yaml` holds the object
 * under test, optionally its Namespace (labels: opt-in, zone) and a `GoldenCase` document with the
 * context (cluster settings, native sidecars, explicit injection as `podgate inject` does).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { InjectContext } from "../../injector/index.ts";
import { parseSettings } from "../../injector/settings.ts";
import type { KubeObject } from "../../injector/workloads.ts";

export const TESTDATA = join(import.meta.dirname, "testdata");
export const OUTPUT_SUFFIXES = [".injected.yaml", ".patch.json"] as const;
export const VERSION = "0.1.0-golden";

export interface GoldenCase {
  name: string;
  object: KubeObject;
  context: InjectContext;
  description: string;
}

interface CaseHeader {
  description?: string;
  nativeSidecars?: boolean;
  explicit?: boolean;
  settings?: unknown;
}

/** Every `<case>.yaml` that is not an output. */
export function caseNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((file) => file.endsWith(".yaml") && !file.endsWith(".injected.yaml"))
    .map((file) => file.slice(0, -".yaml".length))
    .sort();
}

/** Output files whose input is gone: stale goldens fail the run. */
export function orphanOutputs(): string[] {
  const names = new Set(caseNames());
  return readdirSync(TESTDATA).filter((file) => {
    const suffix = OUTPUT_SUFFIXES.find((s) => file.endsWith(s));
    return suffix !== undefined && !names.has(file.slice(0, -suffix.length));
  });
}

export function loadCase(name: string): GoldenCase {
  const docs = parseAllDocuments(readFileSync(join(TESTDATA, `${name}.yaml`), "utf8")).map(
    (doc) => doc.toJS() as KubeObject,
  );
  const header = (docs.find((doc) => doc.kind === "GoldenCase") ?? {}) as CaseHeader;
  const namespace = docs.find((doc) => doc.kind === "Namespace");
  const objects = docs.filter((doc) => doc.kind !== "GoldenCase" && doc.kind !== "Namespace");
  if (objects.length !== 1 || objects[0] === undefined)
    throw new Error(`${name}.yaml: expected exactly one object under test`);
  const object = objects[0];
  const context: InjectContext = {
    settings: parseSettings(header.settings ?? {}),
    namespace: {
      name: namespace?.metadata?.name ?? object.metadata?.namespace ?? "default",
      labels: namespace?.metadata?.labels ?? {},
    },
    nativeSidecars: header.nativeSidecars ?? true,
    injectorVersion: VERSION,
    explicit: header.explicit ?? false,
  };
  return { name, object, context, description: header.description ?? name };
}
