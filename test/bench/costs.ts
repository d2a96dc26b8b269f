/**
 * The cost loop's writes at scale: `landlord costs --record` over N tenants on a fresh control
 * plane (no operator), in-process with the same functions the command runs (list, allocate, build
 * the CostRun, apply the signals, create the report). Every tenant carries its own tagged bill row
 * with a heavy-tailed cost, so every tenant gets figures. Four runs:
 *   1. first run, unlimited write rate: one apply per tenant and one CostReport;
 *   2. the same inputs again: no write at all;
 *   3. 1% of the tenants report new revenue: only their margins change;
 *   4. every cost changes (a new bill), at the command's default rate: what a monthly run takes.
 * Writes are the API server's own counters (apiserver_request_total).
 */
import type { KubeClient, KubeList, KubeObject } from "../../operator/src/kube/client.ts";
import { createResources } from "../../operator/src/kube/resources.ts";
import type { AwsCostRow } from "../../operator/src/costs/allocate.ts";
import { allocationInput } from "../../operator/src/cli/costs.ts";
import { buildCostRun, writeRate, type LoopPlacement } from "../../operator/src/costs/run/command.ts";
import { recordCostRun, type RecordResult } from "../../operator/src/costs/run/record.ts";
import { DEFAULT_SIGNAL_NAMES } from "../../operator/src/costs/run/signals.ts";
import { apiserverWrites, diffCounts, formatCounts, inParallel, sumCounts, type BenchCluster } from "./cluster.ts";
import { apply, APPLY_CONCURRENCY, BILLING_MANAGER, tenantObject, tenantPath, TENANTS_PATH } from "./workload.ts";

export interface CostRunFigure {
  label: string;
  ms: number;
  result: RecordResult;
  /** API writes to tenantplacements and costreports by "resource VERB" (nothing else writes them here). */
  writes: Map<string, number>;
  totalWrites: number;
}

/** A heavy tail: a few tenants cost most (Pareto-like), in cents. */
function bill(n: number, scale: number): AwsCostRow[] {
  return Array.from({ length: n }, (_, i) => ({ linkedAccount: "111111111111", tenantTag: tenantObject(i).metadata.name, service: "Amazon Elastic Compute Cloud", cents: Math.round((scale * 5_000_000) / (i + 1) ** 1.1) + 100 }));
}

async function recordOnce(cluster: BenchCluster, label: string, rows: AwsCostRow[], perSecond: number): Promise<CostRunFigure> {
  const client: KubeClient = cluster.client;
  const before = await apiserverWrites(client);
  const started = performance.now();
  const tenants = (await client.request<KubeList<LoopPlacement & KubeObject>>({ method: "GET", path: TENANTS_PATH })).items;
  const run = buildCostRun({
    tenants,
    allocation: allocationInput({ tenants, poolCosts: {}, awsRows: rows }),
    from: "the cluster",
    period: { start: "2026-11-01", end: "2026-12-01" },
    basis: "unblended",
    revenueSignal: DEFAULT_SIGNAL_NAMES.revenue,
  });
  const result = await recordCostRun({
    client,
    resources: createResources(client),
    run,
    tenants: tenants.map((t) => ({ name: t.metadata.name, reportedSignals: t.spec?.reportedSignals })),
    names: DEFAULT_SIGNAL_NAMES,
    pacing: { perSecond, concurrency: 8, now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  });
  const ms = performance.now() - started;
  // The cost run's stored writes only: asking who it is (SelfSubjectReview) stores nothing, and
  // kube-controller-manager's own writes (its Leases) are not the run's.
  const all = diffCounts(before, await apiserverWrites(client));
  const writes = new Map([...all].filter(([key]) => /^(tenantplacements|costreports) /.test(key)));
  return { label, ms, result, writes, totalWrites: sumCounts(writes) };
}

export async function costSignalRuns(cluster: BenchCluster, n: number, log: (line: string) => void): Promise<CostRunFigure[]> {
  log(`bench: cost loop: applying ${n} tenants`);
  await inParallel(Array.from({ length: n }, (_, i) => i), APPLY_CONCURRENCY, async (i) => {
    const object = tenantObject(i);
    await apply(cluster.client, tenantPath(object.metadata.name), object);
  });
  const figures: CostRunFigure[] = [];
  const rows = bill(n, 1);
  log("bench: cost loop: first run");
  figures.push(await recordOnce(cluster, "first run (every tenant's signals new), unlimited rate", rows, 0));
  log("bench: cost loop: same inputs again");
  figures.push(await recordOnce(cluster, "same inputs again", rows, 0));
  const changed = Math.max(1, Math.floor(n / 100));
  await inParallel(Array.from({ length: changed }, (_, i) => i * 100), APPLY_CONCURRENCY, async (i) => {
    const name = tenantObject(i).metadata.name;
    await cluster.client.request({ method: "PATCH", path: tenantPath(name), query: { fieldManager: BILLING_MANAGER }, body: { spec: { reportedSignals: { monthlyRevenueUSD: 20_000 + i } } }, contentType: "application/merge-patch+json" });
  });
  log(`bench: cost loop: ${changed} tenants with new revenue`);
  figures.push(await recordOnce(cluster, `${changed} tenants report new revenue`, rows, 0));
  const rate = writeRate(undefined);
  log(`bench: cost loop: a new bill for every tenant at ${rate} writes/s`);
  figures.push(await recordOnce(cluster, `a new bill (every cost changes), default --write-rate ${rate}`, bill(n, 1.1), rate));
  return figures;
}

export const describeWrites = (f: CostRunFigure): string =>
  `${f.result.written} TenantPlacements patched, ${f.result.unchanged} unchanged, CostReport ${f.result.created ? "created" : "found"}; API writes: ${formatCounts(f.writes) || "none"}`;
