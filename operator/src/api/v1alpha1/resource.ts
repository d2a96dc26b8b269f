import { z } from "zod";
import { API_VERSION } from "./common.ts";

/**
 * The ObjectMeta fields the operator reads. Loose: the API server owns metadata and adds fields
 * (managedFields, ownerReferences, ...) the operator passes through untouched.
 */
export const objectMeta = z
  .looseObject({
    name: z.string().min(1).max(253).describe("Object name; unique among objects of this kind."),
    generation: z.int().optional().describe("Incremented by the API server on every spec change."),
    resourceVersion: z.string().optional().describe("Opaque version for optimistic concurrency."),
    uid: z.string().optional().describe("Unique id assigned by the API server."),
    creationTimestamp: z.string().optional().describe("When the object was created, RFC 3339."),
    deletionTimestamp: z.string().optional().describe("Set when deletion was requested; finalizers still run."),
    labels: z.record(z.string(), z.string()).optional().describe("Labels, e.g. landlord.dev/tenant: acme."),
    annotations: z.record(z.string(), z.string()).optional().describe("Annotations, e.g. landlord.dev/approve-tier."),
    finalizers: z.array(z.string()).optional().describe("Finalizers that must finish before deletion."),
  })
  .describe("Standard object metadata.");
export type ObjectMeta = z.output<typeof objectMeta>;

/** apiVersion + kind + metadata + spec (+ status), the shape every Landlord object has. */
export function resource<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(options: {
  kind: K;
  description: string;
  spec: Spec;
  status: Status;
}) {
  return z
    .strictObject({
      apiVersion: z.literal(API_VERSION).describe(`API version of this object: ${API_VERSION}.`),
      kind: z.literal(options.kind).describe(`Kind of this object: ${options.kind}.`),
      metadata: objectMeta,
      spec: options.spec,
      status: options.status.optional(),
    })
    .describe(options.description);
}

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything the generator needs to turn a kind's zod schema into a CustomResourceDefinition. */
export interface CrdDescriptor {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: "Cluster";
  /** The full object schema; its spec and status become the CRD's openAPIV3Schema. */
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
}

export const AGE_COLUMN: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since the object was created.",
};

export const CATEGORIES = ["landlord"];
