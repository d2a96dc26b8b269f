import { costLabels } from "../../../pulumi/tags.ts";
import { LABELS, MANAGED_BY_VALUE } from "../api/labels.ts";
import type { PodSecurityLevel, Tier } from "../api/v1alpha1/index.ts";

/**
 * Labels on everything Landlord creates for one tenant: exactly the AWS cost tags (pulumi/tags.ts),
 * so a label selector and a Cost Explorer tag filter always find the same tenant. Throws TagError
 * for tags no valid TenantPlacement can carry (a landlord.dev/ key, an invalid AWS tag).
 */
export function tenantLabels(options: { tenantId: string; tier: Tier; costCenter: string; tags?: Record<string, string>; pool?: string }): Record<string, string> {
  return costLabels(options);
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

/** Pod Security Admission: enforced (and warned and audited) at the chosen level, on every namespace Landlord creates. */
export const POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce";
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    [POD_SECURITY_ENFORCE]: level,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": level,
    "pod-security.kubernetes.io/audit": level,
  };
}
