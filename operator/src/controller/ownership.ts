import type { KubeObject } from "../kube/client.ts";
import { LABELS, MANAGED_BY_VALUE, OWNER_UID_ANNOTATION } from "../api/labels.ts";

/**
 * Which TenantPlacement or TenantPool an object Landlord wrote belongs to. Names alone cannot say:
 * a pool prefix, a shortened name or a hand-made object can put another owner's object at the name
 * a reconcile wants. The owner's UID, recorded at creation, can: the API server assigns it and no
 * two objects ever share one.
 */

export const isManaged = (object: KubeObject | undefined): boolean => object?.metadata.labels?.[LABELS.managedBy] === MANAGED_BY_VALUE;

export const ownerUidOf = (object: KubeObject | undefined): string | undefined => object?.metadata.annotations?.[OWNER_UID_ANNOTATION];

/** Who wants to write or delete: the owner's UID (undefined only in unit tests' stores) and its identity label. */
export interface Owner {
  uid: string | undefined;
  /** landlord.dev/tenant=<id> for a tenant's objects, landlord.dev/pool=<name> for a pool's. */
  label: readonly [key: string, value: string];
}

/** Who owns a tenant's objects: the TenantPlacement's UID, and its tenant label for objects older than UIDs. */
export function tenantOwner(tenant: KubeObject, tenantId: string): Owner {
  return { uid: tenant.metadata.uid, label: [LABELS.tenant, tenantId] };
}

export function ownerOfDesired(desired: KubeObject): Owner | undefined {
  const labels = desired.metadata.labels ?? {};
  const uid = ownerUidOf(desired);
  const tenant = labels[LABELS.tenant];
  if (tenant !== undefined) return { uid, label: [LABELS.tenant, tenant] };
  const pool = labels[LABELS.pool];
  if (pool !== undefined) return { uid, label: [LABELS.pool, pool] };
  return undefined;
}

/**
 * Why `existing` is not `owner`'s to change or delete, or undefined when it is. An object written
 * before owner UIDs were recorded has none: then the identity label decides, as it did before
 * (and the next write records the UID).
 */
export function foreignOwner(existing: KubeObject | undefined, owner: Owner | undefined): string | undefined {
  if (!existing || !owner) return undefined;
  const what = `${existing.kind ?? "object"} ${existing.metadata.namespace ? `${existing.metadata.namespace}/` : ""}${existing.metadata.name}`;
  if (!isManaged(existing)) return `${what} exists and was not created by Landlord`;
  const recorded = ownerUidOf(existing);
  if (recorded !== undefined && owner.uid !== undefined) {
    return recorded === owner.uid ? undefined : `${what} belongs to another owner (${OWNER_UID_ANNOTATION} ${recorded}, not ${owner.uid})`;
  }
  const [key, value] = owner.label;
  const actual = existing.metadata.labels?.[key];
  return actual === value ? undefined : `${what} belongs to another owner (${key}=${actual ?? "(none)"}, not ${value})`;
}
