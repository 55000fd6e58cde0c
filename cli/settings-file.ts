/** Reads the cluster settings file (`--settings FILE`, YAML or JSON) for the webhook and the CLI. */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { type ClusterSettings, parseSettings } from "../injector/settings.ts";

/** Loads and validates a settings file; with no file, every default applies. Throws with every problem. */
export function loadSettings(file: string | undefined): ClusterSettings {
  if (file === undefined) return parseSettings({});
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read settings file ${file}: ${(error as Error).message}`, { cause: error });
  }
  let input: unknown;
  try {
    input = parseYaml(text);
  } catch (error) {
    throw new Error(`settings file ${file} is not valid YAML or JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseSettings(input ?? {});
}
