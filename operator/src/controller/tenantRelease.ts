import { tenantPlacementSpec, type TenantPlacementSpec, type Tier } from "../api/v1alpha1/index.ts";
import { z } from "zod";
import type { ReconcileResult } from "../kube/queue.ts";
import { CHILD_NAMES } from "./children.ts";
import { compact, mergeConditions } from "./conditions.ts";
import { applyStatus, poolKey, setFinalizer, type ControllerContext } from "./context.ts";
import { finishDecision, openDecision } from "./decisions.ts";
import { FINALIZER, LABELS } from "../api/labels.ts";
import { tenantNamespace } from "../api/names.ts";
import { foreignOwner, tenantOwner, type Owner } from "./ownership.ts";
import { findSeat } from "./poolRegistry.ts";
import { EVENT_REASONS } from "./reasons.ts";
import { StackBook, stackOf } from "./stacks.ts";
import type { TenantObject } from "./tenantPlacement.ts";

/**
 * Releasing what no longer serves a tenant: the old home once a cut-over is recorded (the release
 * step of tenantPlacement.ts), and everything when the TenantPlacement is deleted (its finalizer).
 * Only what Landlord created for this tenant (its owner UID) is ever deleted. A pool seat is never
 * released here: the pool reconcile drops it (poolRegistry.ts says when); this only wakes the pool.
 */

/** Deletes the tenant's dedicated namespace if Landlord created it for this tenant; true while it is still there. */
export async function releaseNamespace(ctx: ControllerContext, owner: Owner, tenantId: string): Promise<boolean> {
  const name = tenantNamespace(tenantId);
  const namespace = ctx.store.get("Namespace", name);
  if (!namespace || foreignOwner(namespace, owner) !== undefined) return false;
  if (!namespace.metadata.deletionTimestamp) {
    const answer = await ctx.resources.delete("Namespace", name, undefined, namespace.metadata.uid ? { uid: namespace.metadata.uid } : {});
    if (answer?.metadata) ctx.store.upsert("Namespace", { ...answer, kind: "Namespace" });
  }
  return true;
}

/** The connection ConfigMap only exists while a dedicated database serves the tenant. */
export async function removeConnection(ctx: ControllerContext, owner: Owner, tenantId: string): Promise<void> {
  const namespace = tenantNamespace(tenantId);
  const configMap = ctx.store.get("ConfigMap", CHILD_NAMES.connection, namespace);
  if (configMap && !foreignOwner(configMap, owner)) {
    await ctx.resources.delete("ConfigMap", CHILD_NAMES.connection, namespace);
    ctx.store.remove("ConfigMap", configMap);
  }
}

/** Whether anything of an earlier placement is still there to release once the cut-over to `target` is recorded. */
export function oldHomeRemains(ctx: ControllerContext, owner: Owner, tenantId: string, target: Tier, stacks: StackBook): boolean {
  const namespace = tenantNamespace(tenantId);
  const ns = ctx.store.get("Namespace", namespace);
  if (target === "pooled" && ns && !foreignOwner(ns, owner) && !ns.metadata.deletionTimestamp) return true;
  const connection = ctx.store.get("ConfigMap", CHILD_NAMES.connection, namespace);
  if (target === "namespace" && connection && !foreignOwner(connection, owner)) return true;
  return (stacks.status() ?? []).some((entry) => entry.kind !== stackOf(target));
}

const salvageable = tenantPlacementSpec.extend({ tenantId: z.string().min(1).max(63) });

/**
 * The spec of an invalid tenant for releasing it: each field that is valid on its own, defaults for
 * the rest. The cost center, if invalid, is taken from the tags of its AWS resources (the release of
 * a stack re-runs its program with these tags), else "unknown".
 */
export function salvageSpec(tenant: TenantObject): TenantPlacementSpec | undefined {
  const raw = (typeof tenant.spec === "object" && tenant.spec !== null ? tenant.spec : {}) as Record<string, unknown>;
  const tagged = tenant.status?.resources?.find((r) => r.tags?.[LABELS.costCenter])?.tags?.[LABELS.costCenter];
  const kept: Record<string, unknown> = { tenantId: tenant.metadata.name, costCenter: tagged ?? "unknown" };
  for (const [key, field] of Object.entries(tenantPlacementSpec.shape)) {
    if (key !== "tenantId" && raw[key] !== undefined && field.safeParse(raw[key]).success) kept[key] = raw[key];
  }
  // The pool that seats it, as the status recorded it, if spec.pool itself is what is invalid.
  if (kept.pool === undefined && tenant.status?.pool) kept.pool = tenant.status.pool;
  // A tenant id from before the length and "--" rules (issue 15) must still be deletable: its
  // namespace is found by its old name and released only if its labels say it is this tenant's.
  const parsed = salvageable.safeParse(kept);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Deletion: the pool drops the seat (it skips deleting tenants), the dedicated namespace is
 * deleted, and the finalizer goes once both are gone.
 */
export async function finalizeTenant(ctx: ControllerContext, tenant: TenantObject, spec: TenantPlacementSpec): Promise<ReconcileResult> {
  const tenantId = tenant.metadata.name;
  if (!tenant.metadata.finalizers?.includes(FINALIZER)) return { kind: "done" };
  const previous = tenant.status ?? {};
  const seat = findSeat(ctx, spec.pool, tenantId);
  if (seat) ctx.enqueue(poolKey(spec.pool));
  const namespacePresent = await releaseNamespace(ctx, tenantOwner(tenant, tenantId), tenantId);
  // AWS stacks honour spec.deletionPolicy; a destroy that fails keeps the finalizer and says why.
  const stacks = new StackBook(ctx, spec, tenantId, previous, previous.tier);
  const stacksGone = stacks.releaseAllBut(undefined);
  for (const change of stacks.changes) ctx.events.record(tenant, "Normal", EVENT_REASONS.released, `Released stack ${change.entry.name} (deletionPolicy ${spec.deletionPolicy})`);
  if (seat || namespacePresent || !stacksGone) {
    const now = ctx.now().toISOString();
    const degraded = stacks.conditions.find((c) => c.type === "Degraded");
    await applyStatus(ctx, tenant, compact({
      ...previous,
      phase: "Deleting",
      stacks: stacks.status(),
      resources: (previous.resources ?? []).filter((item) => !item.kind.includes(":")).concat(stacks.inventory()),
      conditions: degraded ? mergeConditions(previous.conditions, [degraded], now, tenant.metadata.generation) : previous.conditions,
    }));
    if (degraded && previous.conditions?.find((c) => c.type === "Degraded")?.reason !== degraded.reason) ctx.events.record(tenant, "Warning", degraded.reason, degraded.message);
    // The seat and the namespace go within a second or two (the pool, the namespace controller); a stack's destroy takes longer.
    const wakeAt = Math.min(...stacks.retryAts, ctx.now().getTime() + (seat || namespacePresent ? 1_000 : 5_000));
    return { kind: "requeueAfter", ms: Math.max(wakeAt - ctx.now().getTime(), 100) };
  }
  const open = openDecision(ctx, tenantId);
  if (open) await finishDecision(ctx, open, "RolledBack", { lastStep: "Deleted", error: "the TenantPlacement was deleted" });
  await setFinalizer(ctx, tenant, FINALIZER, false);
  ctx.events.record(tenant, "Normal", EVENT_REASONS.released, `Released every placement of ${tenantId}`);
  ctx.log.info({}, "Released tenant");
  return { kind: "done" };
}
