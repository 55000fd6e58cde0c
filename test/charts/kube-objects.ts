/**
 * Checks rendered objects against the Kubernetes OpenAPI schemas. kubernetes-models validates types,
 * enums and required fields but lets unknown fields through (the OpenAPI schemas allow them), so a
 * second pass walks each object along @kubernetes/client-node's generated attribute maps and reports
 * any field the API does not have, as the API server's strict field validation would. cert-manager
 * kinds are not in either package; they are checked against the subset schema in cert-manager.ts.
 */
import {
  MutatingWebhookConfiguration,
  ValidatingWebhookConfiguration,
} from "kubernetes-models/admissionregistration.k8s.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, Service, ServiceAccount } from "kubernetes-models/v1";
import { certManagerProblems } from "./cert-manager.ts";
import type { KubeObject } from "./helm.ts";
import { unknownFields } from "./unknown-fields.ts";

interface Model {
  new (data: never): { validate(): void };
}

/** apiVersion/kind → the kubernetes-models class and the @kubernetes/client-node type name. */
const KINDS: Record<string, [Model, string]> = {
  "v1/ConfigMap": [ConfigMap, "V1ConfigMap"],
  "v1/Service": [Service, "V1Service"],
  "v1/ServiceAccount": [ServiceAccount, "V1ServiceAccount"],
  "apps/v1/Deployment": [Deployment, "V1Deployment"],
  "policy/v1/PodDisruptionBudget": [PodDisruptionBudget, "V1PodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": [NetworkPolicy, "V1NetworkPolicy"],
  "rbac.authorization.k8s.io/v1/ClusterRole": [ClusterRole, "V1ClusterRole"],
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": [ClusterRoleBinding, "V1ClusterRoleBinding"],
  "rbac.authorization.k8s.io/v1/Role": [Role, "V1Role"],
  "rbac.authorization.k8s.io/v1/RoleBinding": [RoleBinding, "V1RoleBinding"],
  "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration": [
    MutatingWebhookConfiguration,
    "V1MutatingWebhookConfiguration",
  ],
  "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": [
    ValidatingWebhookConfiguration,
    "V1ValidatingWebhookConfiguration",
  ],
};

/** Every problem with one rendered object: schema errors, unknown fields, or a kind nobody checks. */
export function objectProblems(object: KubeObject): string[] {
  if (object.apiVersion === "cert-manager.io/v1") return certManagerProblems(object);
  const entry = KINDS[`${object.apiVersion}/${object.kind}`];
  if (entry === undefined) return [`${object.apiVersion} ${object.kind}: no schema to check it against`];
  const [Model, typeName] = entry;
  const problems: string[] = [];
  try {
    new Model(object as never).validate();
  } catch (error) {
    problems.push((error as Error).message);
  }
  for (const field of unknownFields(object, typeName)) problems.push(`unknown field ${field}`);
  return problems;
}

/** `Kind/name` of an object, for test names and messages. */
export function objectName(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`;
}
