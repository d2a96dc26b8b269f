/**
 * The label, annotation and finalizer keys of the Landlord API, in one place: the operator writes
 * them, the admission policies, the CLI and the Pulumi programs read them, and users select on them.
 */

/**
 * The cost keys: labels in Kubernetes and tags in AWS with the same key and value, so a label
 * selector and a Cost Explorer tag filter always find the same tenant (pulumi/tags.ts makes both).
 */
export const COST_KEYS = {
  tenant: "landlord.dev/tenant",
  tier: "landlord.dev/tier",
  pool: "landlord.dev/pool",
  costCenter: "landlord.dev/cost-center",
  managedBy: "landlord.dev/managed-by",
} as const;

/** Keys every tenant resource carries; pool only when the tenant is pooled. */
export const REQUIRED_COST_KEYS = [COST_KEYS.tenant, COST_KEYS.tier, COST_KEYS.costCenter, COST_KEYS.managedBy] as const;

/** Every label Landlord sets: the cost keys and the ones that only exist in Kubernetes. */
export const LABELS = {
  ...COST_KEYS,
  shard: "landlord.dev/shard",
  ingress: "landlord.dev/ingress",
  decision: "landlord.dev/decision",
} as const;

export const MANAGED_BY_VALUE = "landlord";
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY_VALUE}`;

/** Keys Landlord sets itself; a tenant's own tag may not use this prefix. */
export const RESERVED_PREFIX = "landlord.dev/";

/**
 * The label of a tenant's own tag `<key>` is `tags.landlord.dev/<key>`: tags are tenant input, and
 * a label such as pod-security.kubernetes.io/enforce or one a NetworkPolicy selects on must never
 * come from it. The AWS tag keeps the key as written, so a Cost Explorer filter on `team` and a
 * label selector on `tags.landlord.dev/team` find the same tenant.
 */
export const TAG_LABEL_PREFIX = "tags.landlord.dev/";
export const tagLabelKey = (key: string): string => `${TAG_LABEL_PREFIX}${key}`;

/**
 * The UID of the TenantPlacement or TenantPool an object was created for. Names can be guessed or
 * taken; a UID cannot: Landlord never writes to or deletes an object carrying another owner's UID.
 */
export const OWNER_UID_ANNOTATION = "landlord.dev/owner-uid";
export const FINALIZER = "landlord.dev/finalizer";
/**
 * The hash of what Landlord last applied to an object (controller/lastApplied.ts). Not a label:
 * nothing selects on it, and the chart's admission policy reserves only landlord.dev/ labels.
 */
export const APPLIED_HASH_ANNOTATION = "landlord.dev/applied-hash";
/** A person's approval of a move the policy holds for one (`promotion: Manual`): the tier approved. */
export const APPROVE_ANNOTATION = "landlord.dev/approve-tier";
