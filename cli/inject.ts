/**
 * `podgate inject [-f FILE | -] [--zone NAME] [--settings FILE] [--namespace NAME]`: injects every
 * pod template it reads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, inside
 * Lists too) with the webhook's code and writes YAML to stdout; other kinds pass through unchanged.
 * Invalid annotations fail with the validating webhook's messages, and nothing is written.
 *   kubectl get deploy web -o yaml | podgate inject - | kubectl apply -f -
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { injectObject, type KubeObject } from "../injector/workloads.ts";
import { contextFor, type ManifestOptions } from "./manifest-context.ts";
import { type CliIo, describeObject, isList, PROCESS_IO, parseDocuments, readInput } from "./manifests.ts";
import { loadSettings } from "./settings-file.ts";

const USAGE_OPTIONS = "[-f FILE | -] [--zone NAME] [--settings FILE] [--namespace NAME]";

/** What happened to the objects read: the output objects, warnings and problems. */
interface InjectReport {
  objects: KubeObject[];
  warnings: string[];
  problems: string[];
}

function injectOne(object: KubeObject, options: ManifestOptions, report: InjectReport): KubeObject {
  if (isList(object))
    return { ...object, items: object.items.map((item) => injectOne(item, options, report)) };
  const result = injectObject(object, contextFor(object, options));
  const label = describeObject(object, options.namespace);
  const decision = result.pod?.decision;
  if (decision?.action === "deny")
    report.problems.push(...decision.problems.map((problem) => `${label}: ${problem}`));
  for (const warning of result.pod?.warnings ?? []) report.warnings.push(`${label}: ${warning}`);
  return result.object;
}

/** Renders objects as multi-document YAML. */
export function renderYaml(objects: KubeObject[]): string {
  return objects
    .map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join("---\n");
}

/** `podgate inject`: returns the exit code (0 done, 1 invalid input, 2 usage). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const input = await readManifests("inject", argv, io);
  if (typeof input === "number") return input;
  const report: InjectReport = { objects: [], warnings: [], problems: [] };
  report.objects = input.objects.map((object) => injectOne(object, input.options, report));
  for (const warning of report.warnings) io.stderr(`podgate: ${warning}\n`);
  if (report.problems.length > 0) {
    for (const problem of report.problems) io.stderr(`podgate: ${problem}\n`);
    return 1;
  }
  io.stdout(renderYaml(report.objects));
  return 0;
}

/** What inject and lint read: the objects, where they came from, and the options. */
export interface ManifestInput {
  objects: KubeObject[];
  origin: string;
  options: ManifestOptions;
}

/** Parses inject's and lint's options and reads their manifests; a usage error prints and returns 2. */
export async function readManifests(
  command: "inject" | "lint",
  argv: string[],
  io: CliIo,
): Promise<ManifestInput | number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    io.stderr(
      `podgate ${command}: ${(error as Error).message}\nusage: podgate ${command} ${USAGE_OPTIONS}\n`,
    );
    return 2;
  }
  const { text, origin } = await readInput(parsed.file, io);
  const options: ManifestOptions = {
    settings: loadSettings(parsed.settings),
    zone: parsed.zone,
    namespace: parsed.namespace,
  };
  return { objects: parseDocuments(text, origin), origin, options };
}

/** Parses inject's and lint's shared options. */
export function parseOptions(argv: string[]): {
  file?: string;
  zone?: string;
  settings?: string;
  namespace: string;
} {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      file: { type: "string", short: "f" },
      zone: { type: "string" },
      settings: { type: "string" },
      namespace: { type: "string", short: "n" },
    },
    allowPositionals: true,
  });
  if (positionals.length > 1 || (positionals.length === 1 && values.file !== undefined)) {
    throw new Error("give one input: -f FILE, -f - or -");
  }
  const file = values.file ?? positionals[0];
  return {
    ...(file === undefined ? {} : { file }),
    ...(values.zone === undefined ? {} : { zone: values.zone }),
    ...(values.settings === undefined ? {} : { settings: values.settings }),
    namespace: values.namespace ?? "default",
  };
}
