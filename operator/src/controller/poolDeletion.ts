import type { KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { readRegistry, CHILD_NAMES } from "./children.ts";
import type { ConditionInput } from "./conditions.ts";
import { setFinalizer, tenantKey, type ControllerContext } from "./context.ts";
import { FINALIZER, LABELS } from "../api/labels.ts";
import { REASONS } from "./reasons.ts";
import { foreignOwner, isManaged, type Owner } from "./ownership.ts";
import { trustedRegistry } from "./poolRegistry.ts";

/**
 * Deleting a TenantPool. Its shard namespaces are the pool's (created for its UID), so they go with
 * it; but they are also where its tenants are served, so the pool waits, as a PersistentVolumeClaim
 * in use does: while any tenant is seated or served there it stays (Terminating, Ready=False
 * reason Deleting, naming who it waits for) and seats no one new. Once the last tenant has left
 * (deleted, or moved to another tier or pool), its shard namespaces are deleted and the finalizer
 * goes when they are gone. Deleting a pool therefore never takes a tenant's home away.
 */

/** Re-checks while the shard namespaces are being deleted (their informer events wake it sooner). */
const NAMESPACES_POLL_MS = 2_000;
/** How many of the waiting tenants the condition names (the rest are counted). */
const NAMED_TENANTS = 5;

const deleting = (pool: KubeObject): boolean => Boolean(pool.metadata.deletionTimestamp);

const poolOwner = (pool: KubeObject): Owner => ({ uid: pool.metadata.uid, label: [LABELS.pool, pool.metadata.name] });

/** The pool's own shard namespaces: labelled with its name and created for its UID, never another's. */
function ownNamespaces(ctx: ControllerContext, pool: KubeObject): KubeObject[] {
  return ctx.store.byLabel("Namespace", LABELS.pool, pool.metadata.name).filter((ns) => isManaged(ns) && foreignOwner(ns, poolOwner(pool)) === undefined);
}

/**
 * Tenants that keep the pool: a seat in one of its registries, or a status that says it serves
 * them (a lost registry entry must not let the pool delete a namespace a tenant is served from).
 * A tenant being deleted keeps it only through its seat: once the pool has dropped that, nothing
 * would wake the pool when the tenant object finally goes.
 */
export function tenantsKeepingPool(ctx: ControllerContext, pool: KubeObject): string[] {
  const name = pool.metadata.name;
  const ids = new Set<string>();
  for (const namespace of ownNamespaces(ctx, pool)) {
    const registry = ctx.store.get("ConfigMap", CHILD_NAMES.registry, namespace.metadata.name);
    if (registry && trustedRegistry(ctx, name, registry)) for (const entry of readRegistry(registry)) ids.add(entry.tenantId);
  }
  for (const tenant of ctx.store.list<KubeObject & { status?: { tier?: string; pool?: string } }>("TenantPlacement")) {
    if (tenant.status?.tier === "pooled" && tenant.status.pool === name && !tenant.metadata.deletionTimestamp) ids.add(tenant.metadata.name);
  }
  return [...ids].sort();
}

/** Why a pool being deleted seats nobody new; undefined while it is not being deleted. */
export function refusedArrival(pool: KubeObject): string | undefined {
  return deleting(pool) ? `TenantPool ${pool.metadata.name} is being deleted and seats no new tenant; set spec.pool to another pool` : undefined;
}

/** The Ready condition of a pool being deleted while tenants keep it; undefined otherwise. */
export function deletingCondition(pool: KubeObject, seated: readonly string[]): ConditionInput | undefined {
  if (!deleting(pool)) return undefined;
  const named = seated.slice(0, NAMED_TENANTS).join(", ") + (seated.length > NAMED_TENANTS ? ` and ${seated.length - NAMED_TENANTS} more` : "");
  return {
    type: "Ready",
    status: "False",
    reason: REASONS.deleting,
    message: `Being deleted: waiting for ${seated.length} tenant(s) still served here to leave (${named}); delete them or move them to another pool or tier. Its shard namespaces are deleted once the last one has gone.`,
  };
}

/**
 * The lifecycle part of a pool's reconcile, run first. A pool not being deleted gets the finalizer
 * (before its first shard exists, so no namespace of a pool can outlive it) and the reconcile goes
 * on. A pool being deleted that still has tenants also goes on (undefined): seats must still be
 * given up by the tenants that leave. Otherwise this finishes the reconcile: the pool's shard
 * namespaces are deleted, and the finalizer removed once they are gone.
 */
export async function finalizePool(ctx: ControllerContext, pool: KubeObject): Promise<ReconcileResult | undefined> {
  if (!deleting(pool)) {
    await setFinalizer(ctx, pool, FINALIZER, true);
    return undefined;
  }
  if (!pool.metadata.finalizers?.includes(FINALIZER)) return { kind: "done" };
  if (tenantsKeepingPool(ctx, pool).length > 0) return undefined;
  const namespaces = ownNamespaces(ctx, pool);
  for (const namespace of namespaces) {
    if (namespace.metadata.deletionTimestamp) continue;
    // The UID precondition: only the namespace this store saw, never one recreated at that name.
    const answer = await ctx.resources.delete("Namespace", namespace.metadata.name, undefined, namespace.metadata.uid ? { uid: namespace.metadata.uid } : {});
    if (answer?.metadata) ctx.store.upsert("Namespace", { ...answer, kind: "Namespace" });
    ctx.events.record(pool, "Normal", "Released", `Deleting shard namespace ${namespace.metadata.name}: the pool is being deleted and no tenant is left in it`);
  }
  if (namespaces.length > 0) return { kind: "requeueAfter", ms: NAMESPACES_POLL_MS };
  await setFinalizer(ctx, pool, FINALIZER, false);
  // Tenants that still name the pool learn at once that it is gone (PoolNotFound).
  for (const tenant of ctx.store.list<KubeObject & { spec?: { pool?: string } }>("TenantPlacement")) {
    if (tenant.spec?.pool === pool.metadata.name) ctx.enqueue(tenantKey(tenant.metadata.name));
  }
  ctx.log.info({ pool: pool.metadata.name }, "Released pool");
  return { kind: "done" };
}
