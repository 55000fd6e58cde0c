/**
 * The README's annotation reference, generated from the annotation table, the reason codes, the
 * shipped zone floors and the error codes. `scripts/generate-annotation-reference.ts` writes it
 * between the README's markers, and test/injector/readme.test.ts fails when the README is stale.
 */
import type { Annotation } from "./annotation-row.ts";
import {
  ANNOTATIONS,
  annotationForConfigPath,
  INJECTED_LABEL,
  NAMESPACE_INJECT_LABEL,
  STATUS_ANNOTATION,
  ZONE_LABEL,
} from "./annotations.ts";
import { INJECTOR_ERROR_SPECS } from "./errors.ts";
import { REASONS } from "./reasons.ts";
import { SECRET_FILE_MODE } from "./secret-mounts.ts";
import { DEFAULT_ZONES } from "./settings.ts";
import { FLOOR_RULES } from "./zones.ts";

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

const TRANSPORT_TEXT = {
  none: "plain HTTP allowed",
  tls: "TLS required (`podgate.io/tls-secret`)",
  mtls: 'mTLS required (`podgate.io/tls-secret`, `podgate.io/client-ca-secret`, `podgate.io/client-certificates: "required"`)',
} as const;

function zoneRows(): string[][] {
  return Object.entries(DEFAULT_ZONES).map(([name, floor]) => [
    `\`${name}\``,
    floor.allowOptOut ? "yes" : "no",
    floor.requireRoutes ? "required" : "optional",
    `\`${JSON.stringify(floor.config)}\``,
    `${TRANSPORT_TEXT[floor.tls]}; ${floor.authentication === "required" ? "authentication required (API keys, JWT or client certificates)" : "authentication optional"}`,
  ]);
}

const RULE_TEXT = {
  lower: "a lower or equal value",
  higher: "a higher or equal value",
  true: "only true",
  subset: "only entries the floor's list allows",
  union: "more entries; they add to the floor's",
  rates:
    "more limits, which add to the floor's; a limit on the same key (covering the same requests) with the same period only as strict or stricter, in rate and burst",
  quotas: "more quotas, which add to the floor's; one on the same key and period only as low or lower",
} as const;

/** A floor field no annotation sets (audit, redaction) comes only from the floor or cluster settings. */
function annotationRef(name: string | undefined): string {
  return name === undefined ? "— (floor only)" : `\`${name}\``;
}

function floorRuleRows(): string[][] {
  return Object.entries(FLOOR_RULES).map(([path, rule]) => [
    `\`${path}\``,
    annotationRef(annotationForConfigPath(path)?.name),
    RULE_TEXT[rule],
  ]);
}

/** The config fields a row sets: its path, or each field of the object it writes there. */
function configFields(row: Annotation<unknown>): string[] {
  const value = row.configValue?.({ secretName: "example" });
  const keys = typeof value === "object" && value !== null ? Object.keys(value) : [""];
  return keys.map((key) => `\`${row.configPath ?? ""}${key === "" ? "" : `.${key}`}\``);
}

function secretRows(): string[][] {
  return ANNOTATIONS.flatMap((row) =>
    row.secret === undefined
      ? []
      : [
          [
            `\`${row.name}\``,
            `\`${row.secret.volume}\``,
            `\`${row.secret.directory}\``,
            row.secret.files,
            configFields(row).join(", "),
          ],
        ],
  );
}

function secretSection(): string[] {
  return [
    "### Secrets mounted into the sidecar",
    "",
    `Annotations that name a Secret (in the pod's namespace) add a volume (\`secret\`, \`defaultMode: 0${SECRET_FILE_MODE.toString(8)}\` since the non-root sidecar must read root-owned files, \`optional: false\`) and a read-only mount to the sidecar only, and point the config at the files. Volume names are fixed, so re-invocation adds nothing twice; a pod that already has a volume of that name is not injected (\`volume_name_taken\`).`,
    "",
    ...table(["Annotation", "Volume", "Mount path", "Files read", "Config"], secretRows()),
    "",
  ];
}

function zoneSection(): string[] {
  return [
    "### Zone floors shipped by default",
    "",
    "A pod may tighten a floor (lower limits, fewer routes, more rate limits) but never loosen it; fields it leaves unset take the floor's value. The transport and authentication a zone requires are enforced: a pod without them is denied by mutate and validate, naming the floor.",
    "",
    ...table(["Zone", "Opt-out", "Routes", "Floor config", "Transport and auth"], zoneRows()),
    "",
    "A floor (in the cluster settings' `zones`) may set these fields; a pod may set each to:",
    "",
    ...table(["Field", "Annotation", "A pod may set"], floorRuleRows()),
    "",
  ];
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
    ...secretSection(),
    ...zoneSection(),
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
