/**
 * RFC 6902 JSON Patch, built while it is applied to a copy of the document, so the patch and the
 * mutated object can never disagree. https://www.rfc-editor.org/rfc/rfc6902
 */

/** One RFC 6902 operation (the subset the injector emits). */
export type PatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/**
 * Escapes one reference token per RFC 6901: `~` becomes `~0` and `/` becomes `~1`, in that order,
 * so an annotation key like `podgate.io/status` becomes `podgate.io~1status`.
 * https://www.rfc-editor.org/rfc/rfc6901#section-3
 */
export function escapeToken(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Joins reference tokens into a JSON Pointer. */
export function pointer(tokens: readonly string[]): string {
  return tokens.map((token) => `/${escapeToken(token)}`).join("");
}

type Node = Record<string, unknown> | unknown[];

/** Records operations and applies them to its own deep copy of the document. */
export class PatchBuilder<T extends object> {
  readonly document: T;
  readonly operations: PatchOperation[] = [];

  constructor(document: T) {
    this.document = structuredClone(document);
  }

  private parentOf(tokens: readonly string[]): { parent: Node; key: string } {
    let node: unknown = this.document;
    for (const token of tokens.slice(0, -1)) node = (node as Record<string, unknown>)[token];
    return { parent: node as Node, key: tokens[tokens.length - 1] ?? "" };
  }

  /** Sets a member: `replace` when it exists, `add` when it does not. */
  set(tokens: readonly string[], value: unknown): void {
    const { parent, key } = this.parentOf(tokens);
    const exists = Object.hasOwn(parent, key);
    this.operations.push({
      op: exists ? "replace" : "add",
      path: pointer(tokens),
      value: structuredClone(value),
    });
    (parent as Record<string, unknown>)[key] = structuredClone(value);
  }

  /** Removes a member. */
  remove(tokens: readonly string[]): void {
    const { parent, key } = this.parentOf(tokens);
    this.operations.push({ op: "remove", path: pointer(tokens) });
    delete (parent as Record<string, unknown>)[key];
  }

  /** Inserts into an array at `index`, creating the array when it is absent (adding to `/-` of a missing array fails). */
  insert(arrayTokens: readonly string[], index: number, value: unknown): void {
    const { parent, key } = this.parentOf(arrayTokens);
    const array = (parent as Record<string, unknown>)[key];
    if (!Array.isArray(array)) {
      this.set(arrayTokens, [value]);
      return;
    }
    this.operations.push({
      op: "add",
      path: pointer([...arrayTokens, String(index)]),
      value: structuredClone(value),
    });
    array.splice(index, 0, structuredClone(value));
  }

  /** Appends to an array, creating it when absent; the index is explicit, so re-reading the patch needs no `-`. */
  append(arrayTokens: readonly string[], value: unknown): void {
    const { parent, key } = this.parentOf(arrayTokens);
    const array = (parent as Record<string, unknown>)[key];
    this.insert(arrayTokens, Array.isArray(array) ? array.length : 0, value);
  }

  /** Sets one key of a map, creating the map when it is absent. */
  setEntry(mapTokens: readonly string[], key: string, value: unknown): void {
    const { parent, key: mapKey } = this.parentOf(mapTokens);
    const map = (parent as Record<string, unknown>)[mapKey];
    if (typeof map !== "object" || map === null) this.set(mapTokens, { [key]: value });
    else this.set([...mapTokens, key], value);
  }

  /** Emits the changes between two versions of one object, member by member (one level deep). */
  diff(tokens: readonly string[], before: Record<string, unknown>, after: Record<string, unknown>): void {
    for (const key of Object.keys(before)) {
      if (!Object.hasOwn(after, key) || after[key] === undefined) this.remove([...tokens, key]);
    }
    for (const [key, value] of Object.entries(after)) {
      if (value !== undefined && JSON.stringify(before[key]) !== JSON.stringify(value))
        this.set([...tokens, key], value);
    }
  }
}
