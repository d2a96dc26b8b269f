import { tenantPoolSpec, tenantPlacementSpec, type TenantPoolSpec, type TenantPoolStatus } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { placeTenants, parseShardIndex } from "../placement/placer.ts";
import { capQuota, sumQuotas, type Quota } from "../placement/quantity.ts";
import { CHILD_NAMES, readRegistry, registryEntry, shardObjects, type RegistryEntry } from "./children.ts";
import { compact, mergeConditions, specIssues, type Condition } from "./conditions.ts";
import { applyIfChanged, applyStatus, ForeignObjectError, tenantKey, type ControllerContext } from "./context.ts";
import { wantsPoolSeat } from "./desiredTier.ts";
import { LABELS } from "./labels.ts";
import { parsedSpec } from "./parsedSpec.ts";
import { unseatableStatus } from "./unseatable.ts";
import { trustedRegistry, type TenantObject } from "./tenantPlacement.ts";

const EMPTY_QUOTA: Quota = { cpu: "0", memory: "0", storage: "0", pods: "0" };

interface PoolObject extends KubeObject {
  spec: TenantPoolSpec;
  status?: TenantPoolStatus;
}

interface Seeker {
  tenantId: string;
  entry: RegistryEntry;
  /** The shard the tenant's status says serves it: where a lost registry entry is restored. */
  lastShard: string | undefined;
}

/** Tenants that should hold a seat in `pool`, oldest first so earlier arrivals are seated first. */
function seekers(ctx: ControllerContext, pool: string, defaults: Quota, seated: ReadonlyMap<string, RegistryEntry>): Seeker[] {
  const out: { created: string; seeker: Seeker }[] = [];
  for (const tenant of ctx.store.list<TenantObject>("TenantPlacement")) {
    const spec = parsedSpec(tenantPlacementSpec, tenant);
    const served = tenant.status?.tier;
    if (!spec) {
      // An invalid spec (stored before a stricter schema) is not acted on, and that includes its
      // seat: a tenant served from this pool keeps it as it is, rather than losing its only home.
      const entry = seated.get(tenant.metadata.name);
      if (entry && served === "pooled" && tenant.status?.pool === pool && !tenant.metadata.deletionTimestamp) {
        out.push({ created: tenant.metadata.creationTimestamp ?? "", seeker: { tenantId: tenant.metadata.name, entry, lastShard: tenant.status.namespace } });
      }
      continue;
    }
    if (spec.pool !== pool) continue;
    if (!wantsPoolSeat({ deleting: Boolean(tenant.metadata.deletionTimestamp), servedTier: served, targetTier: tenant.status?.targetTier })) continue;
    out.push({
      created: tenant.metadata.creationTimestamp ?? "",
      seeker: { tenantId: spec.tenantId, entry: registryEntry(spec, defaults), lastShard: served === "pooled" && tenant.status?.pool === pool ? tenant.status.namespace : undefined },
    });
  }
  out.sort((a, b) => a.created.localeCompare(b.created) || a.seeker.tenantId.localeCompare(b.seeker.tenantId));
  return out.map((o) => o.seeker);
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
  const now = ctx.now().toISOString();
  const generation = pool.metadata.generation;
  const parsed = tenantPoolSpec.safeParse(pool.spec);
  if (!parsed.success) {
    const message = specIssues(parsed.error);
    await applyStatus(ctx, pool, compact({
      ...(pool.status ?? {}),
      observedGeneration: generation,
      conditions: mergeConditions(pool.status?.conditions as Condition[] | undefined, [{ type: "Ready", status: "False", reason: "InvalidSpec", message }], now, generation),
    }));
    return { kind: "error", error: new Error(message), terminal: true };
  }
  const spec = parsed.data;
  const defaults = spec.tenantDefaults as Quota;

  // Current seats, from the registry ConfigMap of each shard namespace.
  const shards = new Map<number, RegistryEntry[]>();
  for (const namespace of ctx.store.byLabel("Namespace", LABELS.pool, poolName)) {
    const index = parseShardIndex(spec.namespacePrefix, namespace.metadata.name);
    if (index === undefined) continue;
    const registry = ctx.store.get("ConfigMap", CHILD_NAMES.registry, namespace.metadata.name);
    // Seats only from a registry this pool wrote; anything else at that name is not believed.
    shards.set(index, readRegistry(registry && trustedRegistry(ctx, poolName, registry) ? registry : undefined));
  }
  const wanted = seekers(ctx, poolName, defaults, new Map([...shards.values()].flat().map((e) => [e.tenantId, e])));
  const wantedIds = new Map(wanted.map((s) => [s.tenantId, s.entry]));
  let seated = new Set([...shards.values()].flat().map((e) => e.tenantId));
  // Drift repair: a served tenant whose entry (or whole ConfigMap or shard) was deleted gets its
  // seat back where its status says it is served, rather than being placed anew elsewhere.
  for (const seeker of wanted) {
    const index = seeker.lastShard ? parseShardIndex(spec.namespacePrefix, seeker.lastShard) : undefined;
    if (seated.has(seeker.tenantId) || index === undefined) continue;
    shards.set(index, [...(shards.get(index) ?? []), seeker.entry]);
  }
  seated = new Set([...shards.values()].flat().map((e) => e.tenantId));
  const departures = [...seated].filter((id) => !wantedIds.has(id));
  const arrivals = wanted.filter((s) => !seated.has(s.tenantId)).map((s) => ({ tenantId: s.tenantId, quota: s.entry.quota }));

  const placement = placeTenants({
    prefix: spec.namespacePrefix,
    capacity: spec.capacity,
    shards: [...shards].map(([index, members]) => ({ index, members: members.map((m) => ({ tenantId: m.tenantId, quota: wantedIds.get(m.tenantId)?.quota ?? m.quota })) })),
    arrivals,
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
      conditions: mergeConditions(pool.status?.conditions as Condition[] | undefined, [{ type: "Ready", status: "False", reason: "OwnerConflict", message: error.message }], now, generation),
    }));
    if (pool.status?.conditions?.find((c) => c.type === "Ready")?.reason !== "OwnerConflict") ctx.events.record(pool, "Warning", "OwnerConflict", error.message);
    return { kind: "error", error };
  }

  // Arrivals learn from the status written below whether they were seated or why not.
  const wake = [...arrivals.map((a) => a.tenantId), ...departures];

  const total = shardStatus.reduce((sum, s) => sum + s.tenants, 0);
  const unplaceable = placement.unplaceable.length;
  await applyStatus(ctx, pool, compact({
    observedGeneration: generation,
    tenants: total,
    shards: shardStatus,
    ...unseatableStatus(placement.unplaceable),
    conditions: mergeConditions(pool.status?.conditions as Condition[] | undefined, [
      unplaceable > 0
        ? { type: "Ready", status: "False", reason: "Unplaceable", message: `${unplaceable} tenant(s) fit no shard: ${placement.unplaceable[0]?.reason}` }
        : { type: "Ready", status: "True", reason: "Seated", message: `${total} tenant(s) in ${shardStatus.length} shard(s)` },
    ], now, generation),
  }));
  // Only after every write succeeded: a failing pool must not wake its tenants in a tight loop.
  for (const tenantId of wake) ctx.enqueue(tenantKey(tenantId));
  return { kind: "done" };
}
