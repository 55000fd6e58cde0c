/**
 * The shape of one row of the annotation table, and the building blocks rows share (sizes,
 * durations, booleans, lists). The table itself is `annotations.ts`; the policy rows live in
 * `traffic-annotations.ts` and `auth-annotations.ts`.
 */
import { SidecarConfigSchema } from "../sidecar/config.ts";
import {
  formatDuration,
  formatSize,
  type ParseResult,
  parseBoolean,
  parseDuration,
  parseOneOf,
  parseQuantity,
  parseSize,
} from "./parsers.ts";

/** A Secret an annotation names, mounted read-only into the sidecar (see secrets.ts). */
export interface SecretMount {
  /** The pod volume's name: a DNS label, fixed per kind, so injection stays deterministic. */
  readonly volume: string;
  /** Where the Secret is mounted in the sidecar. */
  readonly directory: string;
  /** The file read when the annotation names no key (`<secret>/<key>`); undefined for whole-folder mounts. */
  readonly defaultKey?: string;
  /** Which of the Secret's keys the sidecar reads, for the docs. */
  readonly files: string;
}

/** One annotation: how to parse it, what it means and, for policy rows, which config field it sets. */
export interface Annotation<T> {
  readonly name: string;
  /** The value's type as the docs name it. */
  readonly type: string;
  /** The default, in annotation syntax, or a sentence. */
  readonly default: string;
  readonly description: string;
  readonly example: string;
  /** What a value must be, for error messages: `is not ${noun}; expected ${expected}`. */
  readonly noun: string;
  readonly expected: string;
  parse(raw: string): ParseResult<T>;
  /** The sidecar config field this sets, as a dotted path (`limits.maxBodyBytes`). */
  readonly configPath?: string;
  /** The config value for a parsed value, when it differs (a Secret becomes a file path); merged into objects. */
  configValue?(value: T): unknown;
  /** Formats a config value back in annotation syntax (for zone floor messages). */
  format?(value: T): string;
  /** Set on rows that name a Secret: how it is mounted. */
  readonly secret?: SecretMount;
}

/** Reads a default from the sidecar's JSON Schema, so the docs follow the schema. */
function schemaDefault(path: string): unknown {
  let schema: unknown = SidecarConfigSchema;
  for (const key of path.split(".")) {
    schema = (schema as { properties?: Record<string, unknown> }).properties?.[key];
  }
  return (schema as { default?: unknown } | undefined)?.default;
}

/** The schema's default for a config path, written with `format`; "unset" when it has none. */
export function configDefault<T>(path: string, format: (value: T) => string): string {
  const value = schemaDefault(path);
  return value === undefined ? "unset" : format(value as T);
}

export const SIZE = {
  type: "size",
  noun: "a size",
  expected: "<bytes>[Ki|Mi|Gi|k|M|G]",
  parse: parseSize,
  format: formatSize,
};
export const DURATION = {
  type: "duration",
  noun: "a duration",
  expected: "<number><ms|s|m|h>",
  parse: (raw: string) => parseDuration(raw),
  format: formatDuration,
};
export const BOOLEAN = {
  type: "boolean",
  noun: "a boolean",
  expected: '"true" or "false"',
  parse: parseBoolean,
  format: String,
};
export const QUANTITY = {
  type: "quantity",
  noun: "a quantity",
  expected: "a Kubernetes quantity",
  parse: parseQuantity,
};

/** The common fields of a row, for the row helpers. */
export interface RowText {
  name: string;
  description: string;
  example: string;
}

/** A size row that sets a config field. */
export function sizeRow(text: RowText, configPath: string): Annotation<number> {
  return { ...SIZE, ...text, configPath, default: configDefault(configPath, formatSize) };
}

/** A duration row that sets a config field in milliseconds. */
export function durationRow(text: RowText, configPath: string): Annotation<number> {
  return { ...DURATION, ...text, configPath, default: configDefault(configPath, formatDuration) };
}

/** A boolean row that sets a config field. */
export function booleanRow(text: RowText, configPath: string): Annotation<boolean> {
  return { ...BOOLEAN, ...text, configPath, default: configDefault(configPath, String) };
}

/** A row whose value is one of a few words, setting a config field. */
export function wordRow<const W extends readonly string[]>(
  text: RowText,
  options: { words: W; noun: string; configPath?: string; default?: string },
): Annotation<W[number]> {
  const { words, configPath } = options;
  const fallback = configPath === undefined ? "unset" : configDefault(configPath, String);
  return {
    ...text,
    type: "enum",
    noun: options.noun,
    expected: `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`,
    parse: parseOneOf(words),
    format: String,
    ...(configPath === undefined ? {} : { configPath }),
    default: options.default ?? fallback,
  };
}

/** A resource row (the sidecar's requests and limits). */
export function resourceRow(text: RowText): Annotation<string> {
  return { ...QUANTITY, ...text, default: "the cluster settings' sidecar resources" };
}
