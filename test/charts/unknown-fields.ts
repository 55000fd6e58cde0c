/**
 * Unknown-field detection. The Kubernetes OpenAPI schemas (and so kubernetes-models) accept fields
 * they do not define; the API server's strict field validation refuses them. This walks an object
 * along @kubernetes/client-node's generated attribute maps and reports every field the type lacks.
 */
import * as k8s from "@kubernetes/client-node";

interface Attribute {
  baseName: string;
  type: string;
}

type Generated = { getAttributeTypeMap?: () => Attribute[] } | undefined;

/** Paths of the fields in `value` that the client-node type `type` does not have. */
export function unknownFields(value: unknown, type: string, path = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1] !== undefined) {
    const item = array[1];
    return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, item, `${path}[${i}]`)) : [];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1] !== undefined) {
    const item = map[1];
    return Object.entries(value).flatMap(([key, v]) => unknownFields(v, item, `${path}.${key}`));
  }
  const model = (k8s as unknown as Record<string, Generated>)[type];
  if (typeof model?.getAttributeTypeMap !== "function") return [];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, child]) => {
    const childType = attributes.get(key);
    if (childType === undefined) return [`${path}.${key}`];
    return unknownFields(child, childType, `${path}.${key}`);
  });
}
