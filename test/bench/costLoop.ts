/**
 * The cost loop's writes at scale: `landlord costs --record` over N tenants on a fresh control
 * plane (no operator), in-process with the same functions the command runs (list, read the bill
 * file, allocate, build the CostRun, apply the signals, create the report). The bill is a CUR 2.0
 * CSV written for the run, where every tenant has its own tagged row with a heavy-tailed cost, so
 * every tenant gets figures. Four runs:
 *   1. first run, unlimited write rate: one apply per tenant and one CostReport;
 *   2. the same inputs again: no write at all;
 *   3. 1% of the tenants report new revenue: only their margins change;
 *   4. every cost changes (a new bill), at the command's default rate: what a monthly run takes.
 * Writes are the API server's own counters (apiserver_request_total).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient, KubeList } from "../../operator/src/kube/client.ts";
import { createResources } from "../../operator/src/kube/resources.ts";
import { costReport, costTenant, type CostPlacement } from "../../operator/src/cli/costs.ts";
import { writeRate } from "../../operator/src/cli/costLoop.ts";
import { costRunFromReport } from "../../operator/src/costs/run/costRun.ts";
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

const CUR2_HEADER = "bill_billing_period_start_date,line_item_usage_account_id,line_item_line_item_type,line_item_product_code,line_item_usage_type,line_item_currency_code,line_item_unblended_cost,resource_tags";

/** A CUR 2.0 CSV with one tagged row per tenant and a heavy tail: a few tenants cost most (Pareto-like). */
function writeBill(file: string, n: number, scale: number): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const cents = Math.round((scale * 5_000_000) / (i + 1) ** 1.1) + 100;
    const tags = JSON.stringify({ user_landlord_dev_tenant: tenantObject(i).metadata.name }).replace(/"/g, '""');
    return `2026-11-01T00:00:00.000Z,111111111111,Usage,AmazonEC2,USE1-BoxUsage:m7g.large,USD,${(cents / 100).toFixed(2)},"${tags}"`;
  });
  writeFileSync(file, `${[CUR2_HEADER, ...rows].join("\n")}\n`);
  return file;
}

async function recordOnce(cluster: BenchCluster, label: string, bill: string, perSecond: number): Promise<CostRunFigure> {
  const client: KubeClient = cluster.client;
  const before = await apiserverWrites(client);
  const started = performance.now();
  const tenants = (await client.request<KubeList<CostPlacement>>({ method: "GET", path: TENANTS_PATH })).items;
  const names = DEFAULT_SIGNAL_NAMES;
  const costs = await costReport({ bills: [bill], basis: "unblended", shared: "none", revenueSignal: names.revenue, poolCosts: {}, accounts: [] }, tenants, []);
  const run = costRunFromReport(costs, { now: Date.now(), tenants: tenants.map(costTenant), from: "the cluster", written: [names.cost, names.share, names.margin] });
  const result = await recordCostRun({
    client,
    resources: createResources(client),
    run,
    tenants: tenants.map((t) => ({ name: t.metadata.name, reportedSignals: t.spec?.reportedSignals })),
    names,
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
  const dir = mkdtempSync(join(tmpdir(), "landlord-bench-bill-"));
  try {
    figures.push(...(await runs(cluster, n, dir, log)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

async function runs(cluster: BenchCluster, n: number, dir: string, log: (line: string) => void): Promise<CostRunFigure[]> {
  const figures: CostRunFigure[] = [];
  const rows = writeBill(join(dir, "bill-1.csv"), n, 1);
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
  figures.push(await recordOnce(cluster, `a new bill (every cost changes), default --write-rate ${rate}`, writeBill(join(dir, "bill-2.csv"), n, 1.1), rate));
  return figures;
}

export const describeWrites = (f: CostRunFigure): string =>
  `${f.result.written} TenantPlacements patched, ${f.result.unchanged} unchanged, CostReport ${f.result.created ? "created" : "found"}; API writes: ${formatCounts(f.writes) || "none"}`;
