import { z } from "zod";
import { GROUP, VERSION, type CelRule, type CrdDescriptor } from "./v1alpha1/index.ts";

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the generator emits. */
export interface JSONSchemaProps {
  description?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: CelRule[];
}

/** Output key order: what a reader looks for first comes first, and the YAML is stable. */
const KEY_ORDER: (keyof JSONSchemaProps)[] = [
  "description",
  "type",
  "format",
  "enum",
  "default",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "x-kubernetes-int-or-string",
  "anyOf",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "items",
  "properties",
  "required",
  "additionalProperties",
  "x-kubernetes-validations",
];

/** What z.toJSONSchema may emit that a structural schema does not need; dropped silently. */
const DROPPED = new Set(["$schema", "readOnly", "propertyNames"]);

type Json = z.core.JSONSchema.BaseSchema;

/** Refuses anything without a structural meaning instead of emitting a CRD the API server rejects. */
function fail(path: string, problem: string): never {
  throw new Error(`crd: ${path || "<root>"}: ${problem}`);
}

function ordered(props: JSONSchemaProps): JSONSchemaProps {
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (props[key] !== undefined) out[key] = props[key];
  return out as JSONSchemaProps;
}

// zod writes these bounds for every z.int(); they say nothing an int64 does not already say.
const isSafeIntBound = (n: unknown) => n === Number.MAX_SAFE_INTEGER || n === Number.MIN_SAFE_INTEGER;

function intOrString(node: Json, path: string): JSONSchemaProps {
  const stringBranch = (node.anyOf ?? []).find((b) => b.type === "string");
  if (stringBranch?.maxLength === undefined) fail(path, "int-or-string needs a string branch with maxLength (CEL cost)");
  return ordered({
    description: node.description,
    default: node.default,
    maxLength: stringBranch.maxLength,
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
    "x-kubernetes-validations": node["x-kubernetes-validations"] as CelRule[] | undefined,
  });
}

/** Keys the converter builds itself; every other key of KEY_ORDER is copied as zod wrote it. */
const BUILT = new Set<string>(["type", "items", "properties", "additionalProperties", "anyOf", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields"]);
const COPIED = KEY_ORDER.filter((key) => !BUILT.has(key));
const HANDLED = new Set<string>([...COPIED, ...DROPPED, "type", "items", "properties", "additionalProperties"]);

/** z.union([z.literal("a"), z.literal("b")]) arrives as anyOf of one-value enums: make it one enum. */
function literalUnion(node: Json): Json | undefined {
  const branches = node.anyOf;
  if (!branches?.length) return undefined;
  const type = branches[0]?.type;
  const isLiteral = (b: Json) =>
    b.type === type && Array.isArray(b.enum) && Object.keys(b).every((k) => k === "type" || k === "enum");
  if (!branches.every(isLiteral)) return undefined;
  const { anyOf: _, ...rest } = node;
  return { ...rest, type, enum: [...new Set(branches.flatMap((b) => b.enum ?? []))] };
}

/** Converts one z.toJSONSchema node (OpenAPI 3.0 flavour) into a structural schema node. */
export function structural(node: Json, path = ""): JSONSchemaProps {
  if (node["x-kubernetes-int-or-string"]) return intOrString(node, path);
  const merged = literalUnion(node);
  if (merged) return structural(merged, path);
  if (node["x-kubernetes-preserve-unknown-fields"]) {
    return ordered({ description: node.description, type: "object", "x-kubernetes-preserve-unknown-fields": true });
  }
  for (const key of Object.keys(node)) {
    if (!HANDLED.has(key)) fail(path, `"${key}" has no structural equivalent (unions need CEL, see rules.ts)`);
  }
  const type = node.type;
  if (typeof type !== "string" || type === "null") fail(path, `needs a single type, got ${JSON.stringify(type)}`);

  const out: Record<string, unknown> = { type };
  for (const key of COPIED) if (node[key] !== undefined) out[key] = node[key];
  if (isSafeIntBound(out.minimum)) delete out.minimum;
  if (isSafeIntBound(out.maximum)) delete out.maximum;
  if (out.format !== undefined && out.format !== "date-time") delete out.format;
  // Kubernetes validates date-time itself; zod's pattern for it is not RE2.
  if (out.format === "date-time") delete out.pattern;

  if (type === "array") {
    if (!node.items || Array.isArray(node.items)) fail(path, "array needs a single items schema");
    out.items = structural(node.items as Json, `${path}[]`);
  }
  if (type === "object") {
    if (node.properties) {
      out.properties = Object.fromEntries(
        Object.entries(node.properties).map(([k, v]) => [k, structural(v as Json, `${path}.${k}`)]),
      );
    }
    const extra = node.additionalProperties;
    // additionalProperties: false is the default for structural schemas (unknown fields are pruned).
    if (extra !== undefined && extra !== false) {
      if (extra === true || Object.keys(extra).length === 0) {
        fail(path, "free-form object: mark it with x-kubernetes-preserve-unknown-fields");
      }
      out.additionalProperties = structural(extra as Json, `${path}[*]`);
    }
  }
  return ordered(out as JSONSchemaProps);
}

export function toJsonSchema(schema: z.ZodType): Json {
  // io "input": defaults make a field optional for the user, and show up as `default:` for the API server.
  return z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    reused: "inline",
    cycles: "throw",
    unrepresentable: "throw",
  }) as Json;
}

/** openAPIV3Schema for a kind: spec and status from zod; apiVersion/kind/metadata as Kubernetes requires. */
export function crdSchema(descriptor: CrdDescriptor): JSONSchemaProps {
  const root = toJsonSchema(descriptor.schema);
  const props = (root.properties ?? {}) as Record<string, Json>;
  const { spec, status, apiVersion, kind } = props;
  if (!spec || !status || !apiVersion || !kind) fail(descriptor.kind, "object schema needs apiVersion, kind, spec and status");
  return ordered({
    description: root.description,
    type: "object",
    properties: {
      apiVersion: { description: apiVersion.description, type: "string" },
      kind: { description: kind.description, type: "string" },
      // Kubernetes owns metadata; a root schema may not say more about it than `type: object`.
      metadata: { type: "object" },
      spec: structural(spec, ".spec"),
      status: structural(status, ".status"),
    },
    required: ["spec"],
    "x-kubernetes-validations": root["x-kubernetes-validations"] as CelRule[] | undefined,
  });
}

/** The CustomResourceDefinition manifest for a kind. */
export function customResourceDefinition(descriptor: CrdDescriptor): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    // The chart, the CLI and the integration tests find Landlord's CRDs by this label.
    metadata: { name: `${descriptor.plural}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "landlord" } },
    spec: {
      group: GROUP,
      names: {
        kind: descriptor.kind,
        listKind: descriptor.listKind,
        plural: descriptor.plural,
        singular: descriptor.singular,
        shortNames: descriptor.shortNames,
        categories: descriptor.categories,
      },
      scope: descriptor.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: descriptor.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: crdSchema(descriptor) },
        },
      ],
    },
  };
}
