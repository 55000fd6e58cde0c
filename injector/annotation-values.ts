/**
 * Parsing a pod's `podgate.io/` annotations with the annotation table, and the messages for bad
 * values and unknown names. Mutate, validate and the CLI all call parseAnnotations.
 */
import { crossAnnotationProblems } from "./annotation-checks.ts";
import type { Annotation } from "./annotation-row.ts";
import { ANNOTATIONS, PREFIX, STATUS_ANNOTATION } from "./annotations.ts";
import { isInvalid } from "./parsers.ts";

const BY_NAME = new Map(ANNOTATIONS.map((row) => [row.name, row]));

/** A pod's podgate annotations, parsed, with every problem found. */
export interface ParsedAnnotations {
  readonly problems: string[];
  /** The raw text of each podgate annotation the pod sets. */
  readonly raw: ReadonlyMap<string, string>;
  get<T>(annotation: Annotation<T>): T | undefined;
}

/**
 * Parses every `podgate.io/` annotation of a pod with the table's parsers.
 * @example parseAnnotations({ "podgate.io/max-body-size": "1Mi" }).problems // []
 */
export function parseAnnotations(annotations: Record<string, string> | undefined): ParsedAnnotations {
  const values = new Map<string, unknown>();
  const raw = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, text] of Object.entries(annotations ?? {})) {
    if (!name.startsWith(PREFIX) || name === STATUS_ANNOTATION) continue;
    const row = BY_NAME.get(name);
    if (row === undefined) {
      problems.push(unknownAnnotationProblem(name));
      continue;
    }
    raw.set(name, text);
    const value = row.parse(text);
    if (isInvalid(value)) problems.push(invalidValueProblem(row, text, value.detail));
    else values.set(name, value);
  }
  problems.push(
    ...crossAnnotationProblems({ has: (name) => raw.has(name), value: (name) => values.get(name) }),
  );
  return {
    problems,
    raw,
    get: <T>(annotation: Annotation<T>) => values.get(annotation.name) as T | undefined,
  };
}

function invalidValueProblem(row: Annotation<unknown>, text: string, detail: string | undefined): string {
  const why = detail === undefined ? "" : ` (${detail})`;
  return `${row.name}: ${JSON.stringify(text)} is not ${row.noun}${why}; expected ${row.expected}, e.g. ${JSON.stringify(row.example)}`;
}

function unknownAnnotationProblem(name: string): string {
  const suggestion = closestName(name);
  const hint = suggestion === undefined ? "" : `; did you mean ${suggestion}?`;
  return `${name}: not a podgate annotation${hint}`;
}

function closestName(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const row of ANNOTATIONS) {
    const distance = editDistance(name, row.name);
    if (distance <= 5 && (best === undefined || distance < best.distance))
      best = { name: row.name, distance };
  }
  return best?.name;
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
