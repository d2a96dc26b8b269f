import { tenantPlacementSpec, type Quota, type TenantPlacementSpec, type TenantPoolSpec, type Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { parseShardIndex } from "../placement/placer.ts";
import { CHILD_NAMES, readRegistry, registryEntry, type RegistryEntry } from "./children.ts";
import type { ControllerContext } from "./context.ts";
import { LABELS } from "../api/labels.ts";
import { foreignOwner, type Owner } from "./ownership.ts";
import { parsedSpec } from "./parsedSpec.ts";
import type { TenantObject } from "./tenantPlacement.ts";

/**
 * The pool registry: who holds a seat in a pool, read from and written to the landlord-tenants
 * ConfigMap of each shard namespace. Where a tenant enters and where it leaves are both decided
 * here, by one rule (`wantsPoolSeat`) over the tenant's status:
 *
 * - A tenant gets a seat while its status says it is served from the pool or moving there
 *   (status.targetTier pooled, written by the tenant reconcile before anything else of the move).
 * - A tenant leaves the registry when that rule turns false: it is being deleted, or its status
 *   says it is served from a dedicated tier (status.tier changes only at cut-over, so a tenant moving
 *   out keeps its seat until the new home serves it). `seatChanges` then lists it in `departures`,
 *   and the pool's reconcile (tenantPool.ts) rewrites the shard's ConfigMap without it.
 *
 * Nothing else edits the registry: the tenant reconcile only reads it (`findSeat`) and wakes the
 * pool when its status changes what the rule says.
 */

/**
 * Whether the tenant should hold a seat in its pool: it is served there now, or its status says a
 * move there is under way. The tenant reconciler owns that intent (status.targetTier); the pool
 * only follows it, so both agree however the target was chosen (pin, floor, policy).
 */
export function wantsPoolSeat(options: { deleting: boolean; servedTier: Tier | undefined; targetTier: Tier | undefined }): boolean {
  if (options.deleting) return false;
  // A tenant moving out keeps its seat until it is served elsewhere (status.tier changes at cut-over).
  return options.targetTier === "pooled" || options.servedTier === "pooled";
}

/**
 * Whether a registry ConfigMap is one the pool's reconcile wrote: in a shard namespace of that
 * pool (its prefix), both created for that TenantPool (its UID). Anyone may create a ConfigMap
 * named landlord-tenants with Landlord's labels in a namespace they can write (a tenant admin in
 * their own namespace); believing it let them claim seats, stall moves and point status at it.
 */
export function trustedRegistry(ctx: ControllerContext, poolName: string, configMap: KubeObject): boolean {
  const pool = ctx.store.get<KubeObject & { spec?: { namespacePrefix?: string } }>("TenantPool", poolName);
  const namespaceName = configMap.metadata.namespace ?? "";
  const prefix = pool?.spec?.namespacePrefix;
  if (!pool || !prefix || configMap.metadata.name !== CHILD_NAMES.registry || parseShardIndex(prefix, namespaceName) === undefined) return false;
  const owner: Owner = { uid: pool.metadata.uid, label: [LABELS.pool, poolName] };
  const namespace = ctx.store.get("Namespace", namespaceName);
  return namespace !== undefined && foreignOwner(namespace, owner) === undefined && foreignOwner(configMap, owner) === undefined;
}

export interface Seat {
  /** The shard namespace. */
  namespace: string;
  /** The registry entry as written (JSON). */
  entry: string;
}

/** Where the tenant holds a seat in its pool, read from the shards' registry ConfigMaps. */
export function findSeat(ctx: ControllerContext, pool: string, tenantId: string): Seat | undefined {
  for (const configMap of ctx.store.byLabel("ConfigMap", LABELS.pool, pool)) {
    if (!trustedRegistry(ctx, pool, configMap)) continue;
    const data = (configMap.data ?? {}) as Record<string, string>;
    const entry = data[tenantId];
    if (entry !== undefined) return { namespace: configMap.metadata.namespace ?? "", entry };
  }
  return undefined;
}

/** Whether the seat's registry entry still says what the spec says (cost center, quota). */
export function seatUpToDate(ctx: ControllerContext, spec: TenantPlacementSpec, seat: Seat): boolean {
  const pool = ctx.store.get<KubeObject & { spec?: { tenantDefaults?: Quota } }>("TenantPool", spec.pool);
  const expected = registryEntry(spec, pool?.spec?.tenantDefaults ?? {});
  return seat.entry === JSON.stringify(expected);
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

export interface SeatChanges {
  /** Current members by shard index, including seats restored from the tenants' status. */
  shards: Map<number, RegistryEntry[]>;
  /** Registry entry of every tenant that should hold a seat. */
  wanted: Map<string, RegistryEntry>;
  /** Seated tenants that no longer want a seat: they leave the registry. */
  departures: string[];
  /** Tenants that want a seat and hold none yet. */
  arrivals: { tenantId: string; quota: Quota }[];
}

/** Who holds a seat in the pool now, who should, and so who arrives and who leaves. */
export function seatChanges(ctx: ControllerContext, poolName: string, spec: TenantPoolSpec): SeatChanges {
  const defaults = spec.tenantDefaults as Quota;
  const shards = new Map<number, RegistryEntry[]>();
  for (const namespace of ctx.store.byLabel("Namespace", LABELS.pool, poolName)) {
    const index = parseShardIndex(spec.namespacePrefix, namespace.metadata.name);
    if (index === undefined) continue;
    const registry = ctx.store.get("ConfigMap", CHILD_NAMES.registry, namespace.metadata.name);
    // Seats only from a registry this pool wrote; anything else at that name is not believed.
    shards.set(index, readRegistry(registry && trustedRegistry(ctx, poolName, registry) ? registry : undefined));
  }
  const wantedList = seekers(ctx, poolName, defaults, new Map([...shards.values()].flat().map((e) => [e.tenantId, e])));
  const wanted = new Map(wantedList.map((s) => [s.tenantId, s.entry]));
  let seated = new Set([...shards.values()].flat().map((e) => e.tenantId));
  // Drift repair: a served tenant whose entry (or whole ConfigMap or shard) was deleted gets its
  // seat back where its status says it is served, rather than being placed anew elsewhere.
  for (const seeker of wantedList) {
    const index = seeker.lastShard ? parseShardIndex(spec.namespacePrefix, seeker.lastShard) : undefined;
    if (seated.has(seeker.tenantId) || index === undefined) continue;
    shards.set(index, [...(shards.get(index) ?? []), seeker.entry]);
  }
  seated = new Set([...shards.values()].flat().map((e) => e.tenantId));
  return {
    shards,
    wanted,
    departures: [...seated].filter((id) => !wanted.has(id)),
    arrivals: wantedList.filter((s) => !seated.has(s.tenantId)).map((s) => ({ tenantId: s.tenantId, quota: s.entry.quota })),
  };
}
