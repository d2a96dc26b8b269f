import { MAX_LISTED_UNSEATABLE, MAX_UNSEATABLE_REASON, type TenantPoolStatus } from "../api/v1alpha1/index.ts";
import { ellipsize } from "../api/text.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ControllerContext } from "./context.ts";

/**
 * Tenants a pool cannot seat travel from the pool's reconcile to the tenant's through
 * TenantPool.status, never through process memory: a new leader reads them from its cache at once,
 * and a tenant that stops seeking a seat drops off the list at the pool's next reconcile.
 */

/** The status fields for the placer's unplaceable arrivals (in arrival order: oldest first). */
export function unseatableStatus(unplaceable: readonly { tenantId: string; reason: string }[]): Pick<TenantPoolStatus, "unseatable" | "unseatableTotal"> {
  if (unplaceable.length === 0) return {};
  return {
    unseatable: unplaceable.slice(0, MAX_LISTED_UNSEATABLE).map(({ tenantId, reason }) => ({ tenantId, reason: ellipsize(reason, MAX_UNSEATABLE_REASON) })),
    unseatableTotal: unplaceable.length,
  };
}

/**
 * Why `poolName` could not seat `tenantId`, as the pool's status says; undefined when it does not
 * say so. A tenant beyond the listed ones learns only that the pool has more unseatable tenants than
 * it lists (it may be one of them; its own seat, once found, clears this).
 */
export function unseatableReason(ctx: Pick<ControllerContext, "store">, poolName: string, tenantId: string): string | undefined {
  const status = ctx.store.get<KubeObject & { status?: TenantPoolStatus }>("TenantPool", poolName)?.status;
  const listed = status?.unseatable ?? [];
  const entry = listed.find((u) => u.tenantId === tenantId);
  if (entry) return entry.reason;
  const total = status?.unseatableTotal ?? 0;
  if (total > listed.length) {
    return `TenantPool ${poolName} cannot seat ${total} tenants and its status lists the oldest ${listed.length} with their reasons; this tenant has no seat yet and may be one of the others`;
  }
  return undefined;
}
