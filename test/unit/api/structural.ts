import type { JSONSchemaProps } from "../../../operator/src/api/crd.ts";
import type { CelRule } from "../../../operator/src/api/v1alpha1/index.ts";

/**
 * A small re-statement of the API server's structural-schema rules (and of our own bounds for CEL
 * cost estimation), so a bad generator change fails here without a cluster. Returns one line per
 * problem, naming the schema path.
 */
export function structuralProblems(root: JSONSchemaProps): string[] {
  const problems: string[] = [];
  visit(root, "", true, problems);
  return problems;
}

const FORBIDDEN = [
  "$ref",
  "$defs",
  "definitions",
  "$schema",
  "oneOf",
  "allOf",
  "not",
  "nullable",
  "const",
  "propertyNames",
  "patternProperties",
  "id",
];

function visit(node: JSONSchemaProps, path: string, isRoot: boolean, problems: string[]): void {
  const at = path || "<root>";
  const raw = node as Record<string, unknown>;
  for (const key of FORBIDDEN) if (key in raw) problems.push(`${at}: forbidden keyword ${key}`);
  if (typeof raw.additionalProperties === "boolean") problems.push(`${at}: additionalProperties must be a schema`);

  if (node["x-kubernetes-int-or-string"]) {
    const anyOf = JSON.stringify(node.anyOf);
    if (anyOf !== JSON.stringify([{ type: "integer" }, { type: "string" }])) {
      problems.push(`${at}: int-or-string must be anyOf [integer, string], got ${anyOf}`);
    }
    if (node.type !== undefined) problems.push(`${at}: int-or-string must not set type`);
    if (node.maxLength === undefined) problems.push(`${at}: int-or-string without maxLength`);
    return;
  }
  if (node.anyOf) problems.push(`${at}: anyOf outside int-or-string`);
  if (!node.type) {
    problems.push(`${at}: no type`);
    return;
  }
  // Root apiVersion and kind are checked by the API server before any schema sees them.
  const serverOwned = path === ".apiVersion" || path === ".kind";
  if (node.type === "string" && node.maxLength === undefined && !node.enum && node.format !== "date-time" && !serverOwned) {
    problems.push(`${at}: string without maxLength (CEL cost is estimated from it)`);
  }
  if (node.type === "array") {
    if (node.maxItems === undefined) problems.push(`${at}: array without maxItems`);
    if (!node.items) problems.push(`${at}: array without items`);
    else visit(node.items, `${path}[]`, false, problems);
    const keys = node["x-kubernetes-list-map-keys"];
    if (node["x-kubernetes-list-type"] === "map") {
      for (const key of keys ?? []) {
        if (!node.items?.required?.includes(key)) problems.push(`${at}: list-map key ${key} is not required`);
      }
    }
  }
  if (node.type === "object") {
    if (node["x-kubernetes-preserve-unknown-fields"]) return;
    if (node.additionalProperties) {
      if (node.properties) problems.push(`${at}: both properties and additionalProperties`);
      if (node.maxProperties === undefined) problems.push(`${at}: map without maxProperties`);
      visit(node.additionalProperties, `${path}[*]`, false, problems);
    }
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (name === "metadata" && !isRoot) problems.push(`${at}: metadata in a nested object`);
      visit(child, `${path}.${name}`, false, problems);
    }
  }
}

/** Paths of properties without a description (root metadata excepted: Kubernetes forbids one). */
export function undescribed(root: JSONSchemaProps): string[] {
  const missing: string[] = [];
  const walk = (node: JSONSchemaProps, path: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const childPath = `${path}.${name}`;
      if (childPath !== ".metadata" && !child.description?.trim()) missing.push(childPath);
      walk(child, childPath);
    }
    if (node.items) walk(node.items, `${path}[]`);
    if (node.additionalProperties) {
      if (!node.additionalProperties.description?.trim()) missing.push(`${path}[*]`);
      walk(node.additionalProperties, `${path}[*]`);
    }
  };
  walk(root, "");
  return missing;
}

/** The schema node at a dotted path such as ".spec.tier" ("[]" steps into items, "[*]" into a map). */
export function nodeAt(root: JSONSchemaProps, path: string): JSONSchemaProps {
  let node: JSONSchemaProps | undefined = root;
  for (const step of path.match(/\.[^.[]+|\[\]|\[\*\]/g) ?? []) {
    if (step === "[]") node = node?.items;
    else if (step === "[*]") node = node?.additionalProperties;
    else node = node?.properties?.[step.slice(1)];
  }
  if (!node) throw new Error(`no schema node at ${path}`);
  return node;
}

/** Every x-kubernetes-validations entry in the schema, with the path of its node. */
export function celRules(root: JSONSchemaProps): { path: string; rule: CelRule }[] {
  const found: { path: string; rule: CelRule }[] = [];
  const walk = (node: JSONSchemaProps, path: string) => {
    for (const rule of node["x-kubernetes-validations"] ?? []) found.push({ path: path || "<root>", rule });
    for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`);
    if (node.items) walk(node.items, `${path}[]`);
    if (node.additionalProperties) walk(node.additionalProperties, `${path}[*]`);
  };
  walk(root, "");
  return found;
}
