/**
 * Moves: 100 pooled tenants cross the namespace threshold at once (their billing system reports
 * $25,000 of monthly revenue in one burst of merge patches). Per tenant, from the moment the new
 * signal is visible on a watch to the moment its PlacementDecision appears, and to the moment it is
 * Active in the namespace tier, all on the benchmark's watches (the same latency the operator's
 * informers see).
 */
import type { KubeObject } from "../../operator/src/kube/client.ts";
import { apiserverWrites, byLandlord, diffCounts, sumCounts, type BenchCluster } from "./cluster.ts";
import { readyIn, watchCollection, type TenantView } from "./watch.ts";
import { BILLING_MANAGER, DECISIONS_PATH, tenantName, tenantPath, TENANTS_PATH } from "./workload.ts";

export const MOVE_REVENUE = 25_000;

export interface MovesResult {
  moved: number;
  toDecisionMs: number[];
  toActiveMs: number[];
  toCutOverMs: number[];
  totalMs: number;
  /** Landlord's writes during the moves, per moved tenant. */
  writesPerMove: number;
  writes: Map<string, number>;
}

/** The tenants that move: spread over the population (every shard); `offset` picks another set. */
export function movers(n: number, count: number, offset = 0): string[] {
  const step = Math.max(1, Math.floor(n / count));
  return Array.from({ length: Math.min(count, n) }, (_, k) => tenantName((k * step + offset) % n));
}

/** The billing system's burst: every mover's new revenue at once, as merge patches. */
export async function reportRevenue(cluster: BenchCluster, names: readonly string[]): Promise<void> {
  await Promise.all(
    names.map((name) =>
      cluster.client.request({
        method: "PATCH",
        path: tenantPath(name),
        query: { fieldManager: BILLING_MANAGER },
        body: { spec: { reportedSignals: { monthlyRevenueUSD: MOVE_REVENUE } } },
        contentType: "application/merge-patch+json",
      }),
    ),
  );
}

/**
 * Times the moves of `names` that `drive` brings about: by default the billing burst alone (the
 * operator does the rest); the floor passes the burst followed by its own writes.
 */
export async function moveTenants(
  cluster: BenchCluster,
  names: readonly string[],
  options: { timeoutMs?: number; drive?: (names: readonly string[]) => Promise<void> } = {},
): Promise<MovesResult> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const drive = options.drive ?? ((chosen: readonly string[]) => reportRevenue(cluster, chosen));
  const chosen = new Set(names);
  const signalAt = new Map<string, number>();
  const decisionAt = new Map<string, number>();
  const activeAt = new Map<string, number>();
  /** Served from the namespace (status.tier) while the pool still has to release the seat. */
  const cutOverAt = new Map<string, number>();
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));

  const tenants = await watchCollection(cluster.kubeConfig, cluster.client, TENANTS_PATH, (type, object, at) => {
    const name = object.metadata.name;
    if (type === "DELETED" || !chosen.has(name)) return;
    const tenant = object as TenantView;
    if (!signalAt.has(name) && tenant.spec?.reportedSignals?.monthlyRevenueUSD === MOVE_REVENUE) signalAt.set(name, at);
    if (!cutOverAt.has(name) && tenant.status?.tier === "namespace") cutOverAt.set(name, at);
    if (!activeAt.has(name) && readyIn(tenant, "namespace")) {
      activeAt.set(name, at);
      if (activeAt.size === chosen.size) resolveAll();
    }
  });
  const decisions = await watchCollection(cluster.kubeConfig, cluster.client, DECISIONS_PATH, (type, object: KubeObject, at) => {
    const spec = object.spec as { tenant?: string; to?: string } | undefined;
    if (type === "ADDED" && spec?.tenant && chosen.has(spec.tenant) && spec.to === "namespace" && !decisionAt.has(spec.tenant)) decisionAt.set(spec.tenant, at);
  });
  try {
    const before = await apiserverWrites(cluster.client);
    const started = performance.now();
    await drive(names);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    const totalMs = performance.now() - started;
    const writes = new Map([...diffCounts(before, await apiserverWrites(cluster.client))].filter(([key]) => byLandlord(key)));
    const toDecisionMs: number[] = [];
    const toActiveMs: number[] = [];
    const toCutOverMs: number[] = [];
    for (const name of names) {
      const signal = signalAt.get(name);
      if (signal === undefined) continue;
      const decision = decisionAt.get(name);
      const active = activeAt.get(name);
      if (decision !== undefined) toDecisionMs.push(decision - signal);
      if (active !== undefined) toActiveMs.push(active - signal);
      const cutOver = cutOverAt.get(name);
      if (cutOver !== undefined) toCutOverMs.push(cutOver - signal);
    }
    // The billing patches themselves are not the operator's.
    const operatorWrites = sumCounts(writes) - (writes.get("tenantplacements PATCH") ?? 0);
    return { moved: activeAt.size, toDecisionMs, toActiveMs, toCutOverMs, totalMs, writesPerMove: operatorWrites / names.length, writes };
  } finally {
    tenants.stop();
    decisions.stop();
  }
}
