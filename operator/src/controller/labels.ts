import type { Tier } from "../api/v1alpha1/index.ts";

/** The cost keys of DESIGN.md section 3: labels in Kubernetes, tags in AWS. */
export const LABELS = {
  tenant: "landlord.dev/tenant",
  tier: "landlord.dev/tier",
  pool: "landlord.dev/pool",
  costCenter: "landlord.dev/cost-center",
  managedBy: "landlord.dev/managed-by",
  shard: "landlord.dev/shard",
  ingress: "landlord.dev/ingress",
} as const;

export const MANAGED_BY_VALUE = "landlord";
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY_VALUE}`;
export const FINALIZER = "landlord.dev/finalizer";
export const APPROVE_ANNOTATION = "landlord.dev/approve-tier";

/** Labels on everything Landlord creates for one tenant: the required cost keys, then the tenant's own tags. */
export function tenantLabels(options: { tenantId: string; tier: Tier; costCenter: string; tags?: Record<string, string>; pool?: string }): Record<string, string> {
  return {
    // The tenant's own tags first so they can never overwrite a required key (the schema forbids
    // landlord.dev/ keys too; this keeps the guarantee even for objects that bypassed validation).
    ...(options.tags ?? {}),
    [LABELS.tenant]: options.tenantId,
    [LABELS.tier]: options.tier,
    [LABELS.costCenter]: options.costCenter,
    [LABELS.managedBy]: MANAGED_BY_VALUE,
    ...(options.pool ? { [LABELS.pool]: options.pool } : {}),
  };
}

/** Labels on a pool's shared objects: they belong to the pool, not to any one tenant. */
export function poolLabels(pool: string, shardIndex: number): Record<string, string> {
  return {
    [LABELS.pool]: pool,
    [LABELS.tier]: "pooled",
    [LABELS.shard]: String(shardIndex),
    [LABELS.managedBy]: MANAGED_BY_VALUE,
  };
}

export const REQUIRED_TENANT_LABELS = [LABELS.tenant, LABELS.tier, LABELS.costCenter, LABELS.managedBy] as const;
