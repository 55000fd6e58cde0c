/**
 * cert-manager's kinds are custom resources, so neither kubernetes-models nor @kubernetes/client-node
 * knows them. This is a hand-written subset of the cert-manager.io/v1 Certificate and Issuer schemas
 * (https://cert-manager.io/docs/reference/api-docs/): the fields the chart may render, with their
 * types and enums, and nothing else (additionalProperties: false), so a typo fails here. It does not
 * replace the CRDs' own schemas; the e2e install exercises those.
 */
import { ObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";
import { Ajv } from "ajv";
import type { KubeObject } from "./helm.ts";
import { unknownFields } from "./unknown-fields.ts";

const string = { type: "string", minLength: 1 };
const duration = { type: "string", pattern: "^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$" };
const strict = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  additionalProperties: false,
  properties,
  required,
});

const USAGES = [
  "signing",
  "digital signature",
  "content commitment",
  "key encipherment",
  "key agreement",
  "data encipherment",
  "cert sign",
  "crl sign",
  "encipher only",
  "decipher only",
  "any",
  "server auth",
  "client auth",
  "code signing",
  "email protection",
];

const issuerRef = strict({ name: string, kind: string, group: string }, ["name"]);

const certificateSpec = strict(
  {
    secretName: string,
    issuerRef,
    commonName: string,
    dnsNames: { type: "array", items: string, minItems: 1 },
    duration,
    renewBefore: duration,
    isCA: { type: "boolean" },
    usages: { type: "array", items: { enum: USAGES } },
    privateKey: strict({
      algorithm: { enum: ["RSA", "ECDSA", "Ed25519"] },
      size: { type: "integer" },
      encoding: { enum: ["PKCS1", "PKCS8"] },
      rotationPolicy: { enum: ["Never", "Always"] },
    }),
  },
  ["secretName", "issuerRef"],
);

const issuerSpec = {
  ...strict({
    selfSigned: strict({ crlDistributionPoints: { type: "array", items: string } }),
    ca: strict({ secretName: string, crlDistributionPoints: { type: "array", items: string } }, [
      "secretName",
    ]),
  }),
  minProperties: 1,
  maxProperties: 1,
};

const resource = (kind: string, spec: unknown) =>
  strict(
    {
      apiVersion: { const: "cert-manager.io/v1" },
      kind: { const: kind },
      metadata: { type: "object" },
      spec,
    },
    ["apiVersion", "kind", "metadata", "spec"],
  );

const ajv = new Ajv({ allErrors: true });
const validators = {
  Certificate: ajv.compile(resource("Certificate", certificateSpec)),
  Issuer: ajv.compile(resource("Issuer", issuerSpec)),
};

/** Problems with a cert-manager.io/v1 object: its metadata as Kubernetes sees it, its spec against the subset. */
export function certManagerProblems(object: KubeObject): string[] {
  const validate = validators[object.kind as keyof typeof validators];
  if (validate === undefined) return [`cert-manager.io/v1 ${object.kind}: no schema to check it against`];
  const problems: string[] = [];
  try {
    new ObjectMeta(object.metadata).validate();
  } catch (error) {
    problems.push(`metadata: ${(error as Error).message}`);
  }
  problems.push(
    ...unknownFields(object.metadata, "V1ObjectMeta", ".metadata").map((f) => `unknown field ${f}`),
  );
  if (!validate(object)) {
    for (const e of validate.errors ?? [])
      problems.push(`${e.instancePath || "(root)"} ${e.message} ${JSON.stringify(e.params)}`);
  }
  return problems;
}
