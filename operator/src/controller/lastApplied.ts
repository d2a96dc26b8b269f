/**
 * "Is what we would apply already there?" without missing a removal. A subset check of the desired
 * object against the cached one cannot see a field Landlord stopped setting (a tag removed from
 * spec.tags, an admin, a quota key): the cached object still has it, so the desired one is still a
 * subset, and the apply that would remove it never happened. So each apply carries a hash of the
 * desired object in an annotation: a different hash means the desired object changed, in whatever
 * way, and the apply runs; server-side apply under the same field manager then drops every field
 * the manager owned and no longer sets. The subset check stays for drift: someone else changed a
 * field Landlord sets, which the hash cannot see.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../audit/chain.ts";
import { APPLIED_HASH_ANNOTATION } from "../api/labels.ts";
import type { KubeObject } from "../kube/client.ts";
import type { Kind } from "../kube/resources.ts";
import { isSubset, type QuantityField } from "../placement/compare.ts";

// Anyone who edits the annotation causes one apply more, which writes it back.

/** sha256 of the canonical JSON of the desired object (without the hash annotation itself), base64url. */
export function appliedHash(desired: KubeObject): string {
  const { [APPLIED_HASH_ANNOTATION]: _ignored, ...annotations } = desired.metadata.annotations ?? {};
  const unhashed = { ...desired, metadata: { ...desired.metadata, annotations } };
  return createHash("sha256").update(canonicalJson(unhashed)).digest("base64url");
}

/** `desired` with its hash annotation, as it is applied. */
export function withAppliedHash(desired: KubeObject): KubeObject {
  return { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: appliedHash(desired) } } };
}

const ANY = "*";
const LIMIT_RANGE_QUANTITIES = ["default", "defaultRequest", "max", "min", "maxLimitRequestRatio"];

/**
 * Where the API server normalises quantities ("0.5" comes back as "500m"): only there are two
 * strings compared by value. Elsewhere "1.10" and "1.1" are different label values.
 */
const QUANTITY_FIELDS: Partial<Record<Kind, readonly (readonly string[])[]>> = {
  ResourceQuota: [["spec", "hard", ANY]],
  LimitRange: LIMIT_RANGE_QUANTITIES.map((field) => ["spec", "limits", ANY, field, ANY]),
};

/** The quantity fields of `kind`, for isSubset. */
export function quantityFields(kind: string): QuantityField {
  const patterns = QUANTITY_FIELDS[kind as Kind];
  if (!patterns) return () => false;
  return (path) => patterns.some((pattern) => pattern.length === path.length && pattern.every((part, i) => part === ANY || part === path[i]));
}

/**
 * True when applying `desired` would change nothing: Landlord last applied exactly this (the hash)
 * and every field it sets still has its value (no drift).
 */
export function alreadyApplied(desired: KubeObject, cached: KubeObject | undefined): boolean {
  if (!cached) return false;
  if (cached.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== appliedHash(desired)) return false;
  return isSubset(desired, cached, quantityFields(desired.kind));
}
