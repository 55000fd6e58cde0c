/**
 * `podgate lint [-f FILE | -] [--zone NAME] [--settings FILE] [--namespace NAME]`: the validating
 * webhook's checks, offline. Prints every problem and exits 1 when there is one.
 */
import { type KubeObject, validateObject } from "../injector/workloads.ts";
import { readManifests } from "./inject.ts";
import { contextFor, type ManifestOptions } from "./manifest-context.ts";
import { type CliIo, describeObject, isList, PROCESS_IO } from "./manifests.ts";

function lintOne(object: KubeObject, options: ManifestOptions): string[] {
  if (isList(object)) return object.items.flatMap((item) => lintOne(item, options));
  const label = describeObject(object, options.namespace);
  return validateObject(object, contextFor(object, options)).map((problem) => `${label}: ${problem}`);
}

/** `podgate lint`: returns the exit code (0 clean, 1 problems found, 2 usage). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const input = await readManifests("lint", argv, io);
  if (typeof input === "number") return input;
  const problems = input.objects.flatMap((object) => lintOne(object, input.options));
  for (const problem of problems) io.stdout(`${input.origin}: ${problem}\n`);
  io.stderr(`podgate lint: ${input.objects.length} object(s), ${problems.length} problem(s)\n`);
  return problems.length > 0 ? 1 : 0;
}
