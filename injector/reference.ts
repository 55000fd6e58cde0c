/**
 * The README's annotation reference, generated from the annotation table, the reason codes, the
 * shipped zone floors and the error codes. `scripts/generate-annotation-reference.ts` writes it
 * between the README's markers, and test/injector/readme.test.ts fails when the README is stale.
 */
import {
  ANNOTATIONS,
  INJECTED_LABEL,
  NAMESPACE_INJECT_LABEL,
  STATUS_ANNOTATION,
  ZONE_LABEL,
} from "./annotations.ts";
import { INJECTOR_ERROR_SPECS } from "./errors.ts";
import { REASONS } from "./reasons.ts";
import { DEFAULT_ZONES } from "./settings.ts";

/** The README markers the reference sits between. */
export const README_MARKERS = {
  start: "<!-- annotations:start -->",
  end: "<!-- annotations:end -->",
} as const;

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ];
}

function annotationRows(): string[][] {
  return ANNOTATIONS.map((row) => [
    `\`${row.name}\``,
    row.type,
    row.default,
    `\`${row.example}\``,
    `${row.description} Expected: ${row.expected}.`,
  ]);
}

function zoneRows(): string[][] {
  return Object.entries(DEFAULT_ZONES).map(([name, floor]) => [
    `\`${name}\``,
    floor.allowOptOut ? "yes" : "no",
    floor.requireRoutes ? "required" : "optional",
    `\`${JSON.stringify(floor.config)}\``,
    `${floor.tls}, authentication ${floor.authentication} (recorded; enforced once the sidecar has TLS and auth policies)`,
  ]);
}

/** Renders the reference (Markdown, without the markers). */
export function renderReference(
  errorSpecs: Record<string, { statusCode: number; title: string }> = {},
): string {
  const errors = { ...INJECTOR_ERROR_SPECS, ...errorSpecs };
  const lines = [
    "## Annotation reference",
    "",
    "Generated from `injector/annotations.ts` by `node scripts/generate-annotation-reference.ts`; do not edit by hand.",
    "",
    `A namespace opts in with the label \`${NAMESPACE_INJECT_LABEL}=enabled\` and may name a zone with \`${ZONE_LABEL}=<name>\`. Injected pods get the label \`${INJECTED_LABEL}: "true"\` and the annotation \`${STATUS_ANNOTATION}\` (injector version, capture mode and a hash of the effective policy).`,
    "",
    ...table(["Annotation", "Type", "Default", "Example", "Description"], annotationRows()),
    "",
    "### Zone floors shipped by default",
    "",
    "A pod may tighten a floor (lower limits, fewer routes, fewer trusted proxies) but never loosen it; fields it leaves unset take the floor's value.",
    "",
    ...table(["Zone", "Opt-out", "Routes", "Floor config", "Transport and auth"], zoneRows()),
    "",
    "### Injection reason codes",
    "",
    ...table(
      ["Code", "Action", "Meaning"],
      Object.entries(REASONS).map(([code, reason]) => [`\`${code}\``, reason.action, reason.summary]),
    ),
    "",
    "### Injector and webhook error codes",
    "",
    ...table(
      ["Code", "HTTP status", "Title"],
      Object.entries(errors).map(([code, spec]) => [`\`${code}\``, String(spec.statusCode), spec.title]),
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** Returns the README text with the reference replaced between the markers. Throws when the markers are missing. */
export function replaceReference(readme: string, reference: string): string {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  if (start < 0 || end < start)
    throw new Error(`README lacks ${README_MARKERS.start} … ${README_MARKERS.end}`);
  return `${readme.slice(0, start + README_MARKERS.start.length)}\n${reference}${readme.slice(end)}`;
}
