import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { parseConfig, type SidecarConfig } from "./config.ts";
import { ConfigUnreadableError } from "./errors.ts";

/** Where a config comes from: a file (YAML or JSON) or the `PODGATE_CONFIG` JSON text. */
export interface ConfigSourceOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads the config from `--config FILE` (YAML or JSON) or else from `PODGATE_CONFIG` (JSON).
 * With neither, every default applies.
 */
export function loadConfig(options: ConfigSourceOptions): SidecarConfig {
  const env = options.env ?? process.env;
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, "utf8");
    } catch (error) {
      throw new ConfigUnreadableError(`cannot read config file ${options.file}: ${(error as Error).message}`);
    }
    return parseConfig(parseText(text, options.file, "yaml"));
  }
  const inline = env.PODGATE_CONFIG;
  if (inline !== undefined && inline.trim() !== "")
    return parseConfig(parseText(inline, "PODGATE_CONFIG", "json"));
  return parseConfig({});
}

function parseText(text: string, origin: string, format: "yaml" | "json"): unknown {
  try {
    return format === "json" ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new ConfigUnreadableError(
      `${origin} is not valid ${format.toUpperCase()}: ${(error as Error).message}`,
    );
  }
}
