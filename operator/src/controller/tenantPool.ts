import { tenantPoolSpec, type TenantPoolSpec, type TenantPoolStatus } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { placeTenants } from "../placement/placer.ts";
import { capQuota, sumQuotas, type Quota } from "../placement/quantity.ts";
import { shardObjects, type RegistryEntry } from "./children.ts";
import { compact, mergeConditions, specIssues, type Condition } from "./conditions.ts";
import { applyIfChanged, applyStatus, ForeignObjectError, tenantKey, type ControllerContext } from "./context.ts";
import { deletingCondition, finalizePool, refusedArrival } from "./poolDeletion.ts";
import { seatChanges } from "./poolRegistry.ts";
import { REASONS } from "./reasons.ts";
import { unseatableReason, unseatableStatus } from "./unseatable.ts";

const EMPTY_QUOTA: Quota = { cpu: "0", memory: "0", storage: "0", pods: "0" };

interface PoolObject extends KubeObject {
  spec: TenantPoolSpec;
  status?: TenantPoolStatus;
}

/** Shards written at once by one pool reconcile. */
const SHARD_WRITE_CONCURRENCY = 8;

/**
 * Applies each shard's objects in order (its Namespace first), several shards at once. Written one
 * shard after another, a reconcile that touches every shard (tenants leaving all over the pool at
 * once: a burst of promotions) waited for 2 round trips per shard — 50 at 25 shards — while every
 * departing tenant waited for it. Shards are independent: a tenant is seated in exactly one and
 * members never move. Every write has returned (or failed) before this returns, so the next
 * reconcile of the pool never overlaps this one's writes; the first failure is then rethrown.
 */
async function applyShards(ctx: ControllerContext, shards: KubeObject[][]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < shards.length) {
      for (const object of shards[next++] as KubeObject[]) await applyIfChanged(ctx, object);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(SHARD_WRITE_CONCURRENCY, shards.length) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Seats the pool's tenants in shards. One reconcile per pool at a time (the work queue guarantees
 * it) and reads that include the operator's own last writes (the store's overlay) are what keep
 * concurrent arrivals from overfilling a shard or opening an extra one.
 */
export async function reconcilePool(ctx: ControllerContext, poolName: string): Promise<ReconcileResult> {
  const pool = ctx.store.get<PoolObject>("TenantPool", poolName);
  if (!pool) return { kind: "done" };
  const finalized = await finalizePool(ctx, pool);
  if (finalized) return finalized;
  const now = ctx.now().toISOString();
  const generation = pool.metadata.generation;
  const parsed = tenantPoolSpec.safeParse(pool.spec);
  if (!parsed.success) {
    const message = specIssues(parsed.error);
    await applyStatus(ctx, pool, compact({
      ...(pool.status ?? {}),
      observedGeneration: generation,
      conditions: mergeConditions(pool.status?.conditions as Condition[] | undefined, [{ type: "Ready", status: "False", reason: REASONS.invalidSpec, message }], now, generation),
    }));
    return { kind: "error", error: new Error(message), terminal: true };
  }
  const spec = parsed.data;
  // Who arrives and who leaves: decided in poolRegistry.ts, applied here.
  const { shards, wanted: wantedIds, departures, arrivals } = seatChanges(ctx, poolName, spec);

  const refused = refusedArrival(pool);
  const placement = placeTenants({
    prefix: spec.namespacePrefix,
    capacity: spec.capacity,
    shards: [...shards].map(([index, members]) => ({ index, members: members.map((m) => ({ tenantId: m.tenantId, quota: wantedIds.get(m.tenantId)?.quota ?? m.quota })) })),
    arrivals: refused ? [] : arrivals,
    departures,
  });

  const shardStatus: NonNullable<TenantPoolStatus["shards"]> = [];
  const shardWrites: KubeObject[][] = [];
  for (const shard of placement.shards) {
    const members = shard.members.map((m) => wantedIds.get(m.tenantId)).filter((e): e is RegistryEntry => e !== undefined);
    // An empty shard allows nothing; with members, the quota is their sum capped by the capacity.
    const allocated = members.length > 0 ? sumQuotas(members.map((m) => m.quota)) : EMPTY_QUOTA;
    const quota = capQuota(allocated, { cpu: spec.capacity.cpu, memory: spec.capacity.memory });
    shardWrites.push(shardObjects({
      pool: poolName,
      index: shard.index,
      namespace: shard.namespace,
      quota,
      members,
      owner: pool.metadata.uid,
      podSecurity: spec.podSecurity,
      egress: ctx.egress ?? [],
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
    }));
    shardStatus.push({ namespace: shard.namespace, tenants: members.length, allocated: { cpu: String(allocated.cpu), memory: String(allocated.memory) } });
  }
  try {
    await applyShards(ctx, shardWrites);
  } catch (error) {
    if (!(error instanceof ForeignObjectError)) throw error;
    // A shard name taken by someone else (another pool with the same prefix, a hand-made
    // namespace): never taken over; said on the pool, and retried with backoff.
    await applyStatus(ctx, pool, compact({
      ...(pool.status ?? {}),
      observedGeneration: generation,
      conditions: mergeConditions(pool.status?.conditions as Condition[] | undefined, [{ type: "Ready", status: "False", reason: REASONS.ownerConflict, message: error.message }], now, generation),
    }));
    if (pool.status?.conditions?.find((c) => c.type === "Ready")?.reason !== REASONS.ownerConflict) ctx.events.record(pool, "Warning", REASONS.ownerConflict, error.message);
    return { kind: "error", error };
  }

  // Arrivals learn from the status written below whether they were seated or why not. What each was
  // told before, to wake an unseated one only when its reason changes: it wakes the pool again on
  // every pass while it has no seat, and waking it back each time was a loop that never idled.
  const told = new Map(arrivals.map((a) => [a.tenantId, unseatableReason(ctx, poolName, a.tenantId)]));

  const total = shardStatus.reduce((sum, s) => sum + s.tenants, 0);
  const unplaceable = placement.unplaceable.length;
  await applyStatus(ctx, pool, compact({
    observedGeneration: generation,
    tenants: total,
    shards: shardStatus,
    // A pool being deleted seats nobody new: its arrivals are unseatable, and say why.
    ...unseatableStatus(refused ? [...placement.unplaceable, ...arrivals.map((a) => ({ tenantId: a.tenantId, reason: refused }))] : placement.unplaceable),
    conditions: mergeConditions(pool.status?.conditions as Condition[] | undefined, [
      deletingCondition(pool, placement.shards.flatMap((s) => s.members.map((m) => m.tenantId)).sort()) ??
      (unplaceable > 0
        ? { type: "Ready", status: "False", reason: REASONS.unplaceable, message: `${unplaceable} tenant(s) fit no shard: ${placement.unplaceable[0]?.reason}` }
        : { type: "Ready", status: "True", reason: REASONS.seated, message: `${total} tenant(s) in ${shardStatus.length} shard(s)` }),
    ], now, generation),
  }));
  // Only after every write succeeded: a failing pool must not wake its tenants in a tight loop.
  const wake = [...arrivals.map((a) => a.tenantId).filter((id) => { const now = unseatableReason(ctx, poolName, id); return now === undefined || now !== told.get(id); }), ...departures];
  for (const tenantId of wake) ctx.enqueue(tenantKey(tenantId));
  return { kind: "done" };
}
