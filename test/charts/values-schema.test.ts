/**
 * values.schema.json (JSON Schema draft-07) accepts values.yaml and every example values file with
 * ajv, refuses a wrong type or an unknown key, and helm itself refuses them with the schema's message.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, HELM_MAJORS, runHelm, templateArgs, valuesCases } from "./helm.ts";

const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as Record<
  string,
  unknown
>;
const defaults = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

/** Merges values as helm does: maps merge key by key, anything else replaces. */
function merge(base: unknown, override: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = merge(base[key], value);
  return out;
}

const errors = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

describe("values.schema.json", () => {
  it("is draft-07 and refuses unknown keys at the top", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.additionalProperties).toBe(false);
  });

  it.each(valuesCases())("accepts $name", ({ file }) => {
    const values = file === undefined ? defaults : merge(defaults, parse(readFileSync(file, "utf8")));
    expect(validate(values), errors().join("\n")).toBe(true);
  });

  it.each([
    ["a string timeout", { webhook: { timeoutSeconds: "3" } }, "/webhook/timeoutSeconds must be integer"],
    ["a timeout over 3 s", { webhook: { timeoutSeconds: 5 } }, "/webhook/timeoutSeconds must be <= 3"],
    ["an unknown top-level key", { replicas: 3 }, " must NOT have additional properties"],
    [
      "an unknown nested key",
      { webhook: { failurepolicy: "Fail" } },
      "/webhook must NOT have additional properties",
    ],
    [
      "an unknown failure policy",
      { webhook: { failurePolicy: "Retry" } },
      "/webhook/failurePolicy must be equal to one of the allowed values",
    ],
    [
      "a numeric sidecar quantity",
      { settings: { sidecar: { resources: { requests: { cpu: 1 } } } } },
      "/settings/sidecar/resources/requests/cpu must be string",
    ],
    [
      "an unknown zone field",
      { settings: { zones: { pci: { tls: "mtls", optOut: true } } } },
      "/settings/zones/pci must NOT have additional properties",
    ],
    [
      "a NetworkPolicy without namespaces",
      { networkPolicy: { enabled: true } },
      "/networkPolicy/namespaces must NOT have fewer than 1 items",
    ],
    [
      "an issuerRef without a name",
      { certManager: { enabled: true, issuerRef: { kind: "ClusterIssuer" } } },
      "/certManager/issuerRef must have property name when property kind is present",
    ],
  ])("refuses %s", (_name, override, message) => {
    expect(validate(merge(defaults, override))).toBe(false);
    expect(errors()).toContain(message);
  });
});

/** helm 3.17 reports schema errors with gojsonschema's words, helm 4 with santhosh-tekuri/jsonschema's. */
const HELM_MESSAGES: Record<string, [string, RegExp][]> = {
  v3: [
    [
      "webhook.timeoutSeconds=three",
      /- webhook\.timeoutSeconds: Invalid type\. Expected: integer, given: string/,
    ],
    ["webhook.timeoutSeconds=10", /- webhook\.timeoutSeconds: Must be less than or equal to 3/],
    ["webhook.retries=2", /- webhook: Additional property retries is not allowed/],
    ["replicas=3", /- \(root\): Additional property replicas is not allowed/],
  ],
  v4: [
    ["webhook.timeoutSeconds=three", /- at '\/webhook\/timeoutSeconds': got string, want integer/],
    ["webhook.timeoutSeconds=10", /- at '\/webhook\/timeoutSeconds': maximum: got 10, want 3/],
    ["webhook.retries=2", /- at '\/webhook': additional properties 'retries' not allowed/],
    ["replicas=3", /- at '': additional properties 'replicas' not allowed/],
  ],
};

describe.each(HELM_MAJORS)("helm %s template", (major) => {
  it.each(HELM_MESSAGES[major] ?? [])("refuses --set %s with the schema's message", async (set, message) => {
    const result = await runHelm(major, templateArgs({ set: [set] }));
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
    expect(result.stderr).toMatch(message);
  });
});
