/** Dotted-path access to plain JSON objects (`limits.maxBodyBytes`), for config drafts and floors. */

/** A partial sidecar config as JSON: what annotations and floors set before defaults apply. */
export type ConfigDraft = Record<string, unknown>;

/** Reads a dotted path; undefined when any step is missing. */
export function getPath(object: ConfigDraft, path: string): unknown {
  let node: unknown = object;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Writes a dotted path, creating the objects on the way. */
export function setPath(object: ConfigDraft, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop() ?? path;
  let node = object;
  for (const key of keys) {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as ConfigDraft;
  }
  node[last] = value;
}

/** Every leaf path of a JSON object (arrays are leaves). */
export function leafPaths(object: ConfigDraft, prefix = ""): string[] {
  const paths: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    const path = `${prefix}${key}`;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      paths.push(...leafPaths(value as ConfigDraft, `${path}.`));
    } else paths.push(path);
  }
  return paths;
}

function isPlainObject(value: unknown): value is ConfigDraft {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Writes a dotted path, merging into an object already there (two annotations may fill one object). */
export function mergePath(object: ConfigDraft, path: string, value: unknown): void {
  const existing = getPath(object, path);
  setPath(object, path, isPlainObject(existing) && isPlainObject(value) ? { ...existing, ...value } : value);
}
