import { COST_KEYS, MANAGED_BY_VALUE, REQUIRED_COST_KEYS, RESERVED_PREFIX, TAG_LABEL_PREFIX, tagLabelKey } from "../operator/src/api/labels.ts";
import { shortenWithHash } from "../operator/src/api/names.ts";
import { LABEL_KEY, LABEL_VALUE, TAG_KEY, type Tier } from "../operator/src/api/v1alpha1/common.ts";

/**
 * The cost tags, made in one place: tags in AWS (through each provider's defaultTags) and labels in
 * Kubernetes (tenantLabels delegates here), so the two never disagree. The keys are the API's
 * (operator/src/api/labels.ts).
 *
 * No @pulumi/* import: the operator calls this on every reconcile, and loading Pulumi there would
 * cost tens of MiB for nothing.
 */

/** AWS limits (docs: "Tagging AWS resources"): per resource, counting every user tag. */
export const AWS_TAG_LIMITS = { maxTags: 50, maxKeyLength: 128, maxValueLength: 256 } as const;
const AWS_TAG_CHARS = /^[\p{L}\p{N} _.:/=+\-@]*$/u;
const MAX_LABEL_VALUE = 63;

export interface CostTagInput {
  tenantId: string;
  tier: Tier;
  costCenter: string;
  /** Only for pooled tenants: the TenantPool serving them. */
  pool?: string;
  /** The tenant's own tags (spec.tags). */
  tags?: Record<string, string>;
}

export class TagError extends Error {
  override name = "TagError";
  constructor(readonly problems: string[]) {
    super(`invalid cost tags: ${problems.join("; ")}`);
  }
}

/** Why a tag set is not valid as AWS tags whose keys are also Kubernetes label keys; empty when it is. */
export function tagProblems(tags: Record<string, string>): string[] {
  const problems: string[] = [];
  const entries = Object.entries(tags);
  if (entries.length > AWS_TAG_LIMITS.maxTags) {
    problems.push(
      `${entries.length} tags, but AWS allows at most ${AWS_TAG_LIMITS.maxTags} per resource (Landlord sets ${REQUIRED_COST_KEYS.length} or ${REQUIRED_COST_KEYS.length + 1} itself): remove some of spec.tags`,
    );
  }
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > AWS_TAG_LIMITS.maxKeyLength) {
      problems.push(`tag key ${JSON.stringify(key)} has ${key.length} characters; AWS needs 1 to ${AWS_TAG_LIMITS.maxKeyLength}`);
    }
    if (key.toLowerCase().startsWith("aws:")) {
      problems.push(`tag key ${JSON.stringify(key)} starts with aws:, which AWS reserves: rename it (e.g. without the prefix)`);
    }
    if (!AWS_TAG_CHARS.test(key)) {
      problems.push(`tag key ${JSON.stringify(key)} has characters AWS rejects: use letters, digits, spaces and _ . : / = + - @`);
    }
    // Keys are shared verbatim by tags and labels, so a selector on the label finds the same key as the tag.
    if (!LABEL_KEY.test(key)) {
      problems.push(
        `tag key ${JSON.stringify(key)} is not a Kubernetes label key: use an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit (e.g. team or example.com/team)`,
      );
    }
    if (value.length > AWS_TAG_LIMITS.maxValueLength) {
      problems.push(`tag ${key} has a value of ${value.length} characters; AWS allows at most ${AWS_TAG_LIMITS.maxValueLength}`);
    }
    if (!AWS_TAG_CHARS.test(value)) {
      problems.push(
        `tag ${key} has value ${JSON.stringify(value)} with characters AWS rejects: use letters, digits, spaces and _ . : / = + - @`,
      );
    }
  }
  return problems;
}

/**
 * The cost tags of one tenant: the tenant's own tags, then the required keys. Throws TagError
 * listing every problem, including a tenant tag under landlord.dev/ (it could otherwise pose as a
 * required key).
 */
export function costTags(input: CostTagInput): Record<string, string> {
  const own = input.tags ?? {};
  const problems = Object.keys(own)
    .filter((key) => !TAG_KEY.test(key))
    .map((key) =>
      key.startsWith(RESERVED_PREFIX)
        ? `tag key ${key} is reserved for the tags Landlord sets itself: remove it from spec.tags or rename it (e.g. ${key.slice(RESERVED_PREFIX.length)})`
        : `tag key ${JSON.stringify(key)} is not a label name without a prefix (at most 63 letters, digits, '-', '_' or '.', e.g. team): its label would be ${TAG_LABEL_PREFIX}<key>`,
    );
  for (const [field, value] of [
    ["tenantId", input.tenantId],
    ["costCenter", input.costCenter],
  ] as const) {
    if (value.length === 0) problems.push(`${field} is empty; every tenant needs one (e.g. ${field === "tenantId" ? "acme" : "cc-1234"})`);
  }
  // Own tags first so a required key always wins, whatever slipped past validation.
  const tags: Record<string, string> = {
    ...own,
    [COST_KEYS.tenant]: input.tenantId,
    [COST_KEYS.tier]: input.tier,
    [COST_KEYS.costCenter]: input.costCenter,
    [COST_KEYS.managedBy]: MANAGED_BY_VALUE,
    ...(input.pool ? { [COST_KEYS.pool]: input.pool } : {}),
  };
  problems.push(...tagProblems(tags));
  if (problems.length > 0) throw new TagError(problems);
  return tags;
}

/**
 * A Kubernetes label value for an AWS tag value: the value itself when it is already valid (the
 * usual case, since spec.tags and costCenter are validated as label values), otherwise a
 * deterministic stand-in that keeps a readable prefix and ends in a hash of the whole value, so two
 * different tag values never share a label value.
 */
export function toLabelValue(value: string): string {
  if (value.length <= MAX_LABEL_VALUE && LABEL_VALUE.test(value)) return value;
  const readable = value.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[^A-Za-z0-9]+/, "");
  return shortenWithHash(readable, MAX_LABEL_VALUE, value);
}

/** The label key of a cost tag key: the required keys as they are, a tenant's own under tags.landlord.dev/. */
export function labelKeyOf(tagKey: string): string {
  return tagKey.startsWith(RESERVED_PREFIX) ? tagKey : tagLabelKey(tagKey);
}

/** Kubernetes labels carrying exactly the cost tags: keys mapped by labelKeyOf, values by toLabelValue. */
export function costLabels(input: CostTagInput): Record<string, string> {
  return Object.fromEntries(Object.entries(costTags(input)).map(([key, value]) => [labelKeyOf(key), toLabelValue(value)]));
}

/** The keys of `tags` that a resource must carry and does not (or carries with another value). */
export function missingCostTags(required: Record<string, string>, actual: Record<string, string> | undefined): string[] {
  return Object.entries(required)
    .filter(([key, value]) => actual?.[key] !== value)
    .map(([key]) => key);
}
