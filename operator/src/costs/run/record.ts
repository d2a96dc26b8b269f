import { MAX_REPORT_LINES, type CostReportSpec } from "../../api/v1alpha1/index.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import type { Resources } from "../../kube/resources.ts";
import { formatCents } from "../allocate.ts";
import { sha256, type CostRun } from "./costRun.ts";
import { signalPatches, writeSignals, type CostSignalNames, type Pacing, type SignalTenant } from "./signals.ts";

/**
 * `landlord costs --record`: who is running it, the cost signals onto each TenantPlacement, then
 * one CostReport. A report is named after what it records (period and a digest of inputs and
 * results), so recording the same run twice finds it and writes nothing.
 */

export interface CostReportObject extends KubeObject {
  spec: CostReportSpec;
}

/** Largest first; past the CRD's limit the smallest lines are summed into one, so totals stay exact. */
function boundedUnallocated(run: CostRun): CostReportSpec["unallocated"] {
  const lines = [...run.unallocated].sort((a, b) => b.cents - a.cents || (a.basis < b.basis ? -1 : 1));
  const entry = (l: CostRun["unallocated"][number]) => ({ basis: l.basis, ...(l.pool ? { pool: l.pool } : {}), cents: l.cents });
  if (lines.length <= MAX_REPORT_LINES) return lines.map(entry);
  const kept = lines.slice(0, MAX_REPORT_LINES - 1);
  const rest = lines.slice(MAX_REPORT_LINES - 1);
  return [...kept.map(entry), { basis: `${rest.length} more unallocated lines, summed`, cents: rest.reduce((a, l) => a + l.cents, 0) }];
}

function boundedPools(run: CostRun): CostReportSpec["totals"]["byPool"] {
  const pools = Object.entries(run.totals.byPool).sort(([a], [b]) => (a < b ? -1 : 1));
  if (pools.length > MAX_REPORT_LINES) throw new Error(`the run has ${pools.length} pools; a CostReport holds at most ${MAX_REPORT_LINES}`);
  return pools.map(([pool, t]) => ({ pool, ...t }));
}

/** The spec of the run's CostReport, without the actor and time (they do not name it). Pure. */
export function reportBody(run: CostRun, signals: (CostSignalNames & { written: number }) | undefined): Omit<CostReportSpec, "actor" | "createdAt"> {
  return {
    period: run.period,
    basis: run.basis,
    currency: run.currency,
    inputs: run.inputs,
    totals: {
      totalCents: run.totals.totalCents,
      totalUSD: formatCents(run.totals.totalCents),
      tenantsCents: run.totals.tenantsCents,
      unallocatedCents: run.totals.unallocatedCents,
      revenueCents: run.totals.revenueCents,
      byTier: Object.entries(run.totals.byTier)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([tier, t]) => ({ tier, ...t })),
      byPool: boundedPools(run),
    },
    unallocated: boundedUnallocated(run),
    pareto: run.pareto,
    ...(signals ? { signals } : {}),
  };
}

/**
 * The report's name: costs-<yyyy-mm>-<digest of everything it records but who and when>. The
 * number of signals written is left out too: a second identical run writes none, and must still
 * find the first run's report.
 */
export function reportName(run: CostRun, names: CostSignalNames | undefined): string {
  const { signals: _, ...body } = reportBody(run, undefined);
  const which = names ? { cost: names.cost, share: names.share, margin: names.margin, revenue: names.revenue } : null;
  const digest = sha256(JSON.stringify({ body, names: which })).slice(0, 12);
  return `costs-${run.period.start.slice(0, 7)}-${digest}`;
}

export function costReportObject(run: CostRun, options: { actor: string; now: number; signals?: CostSignalNames & { written: number } }): CostReportObject {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "CostReport",
    // Not under landlord.dev/: those labels are the operator's alone (the reserved-labels admission policy).
    metadata: { name: reportName(run, options.signals), labels: { "costs.landlord.dev/period": run.period.start.slice(0, 7) } },
    spec: { ...reportBody(run, options.signals), actor: options.actor, createdAt: new Date(options.now).toISOString() },
  };
}

/** The user the API server authenticated this client as (authentication.k8s.io/v1 SelfSubjectReview; every user may ask). */
export async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.request<{ status?: { userInfo?: { username?: string } } }>({
    method: "POST",
    path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  const user = review.status?.userInfo?.username;
  if (!user) throw new Error("the API server's SelfSubjectReview named no user");
  return user;
}

export interface RecordResult {
  report: string;
  /** False when a report of the same run already existed. */
  created: boolean;
  /** TenantPlacements whose cost signals changed. */
  written: number;
  /** Tenants whose signals were already right. */
  unchanged: number;
  actor: string;
}

export interface RecordOptions {
  client: KubeClient;
  resources: Resources;
  run: CostRun;
  /** The tenants as listed, with their current reported signals. */
  tenants: readonly SignalTenant[];
  /** Write the cost signals (else only the report). */
  names: CostSignalNames | undefined;
  pacing: Pacing;
}

export async function recordCostRun(options: RecordOptions): Promise<RecordResult> {
  const { client, resources, run, names } = options;
  const actor = await whoAmI(client);
  const patches = names ? signalPatches(run, options.tenants, names) : [];
  const written = names ? await writeSignals(resources, patches, options.pacing) : 0;
  const report = costReportObject({ ...run, actor }, { actor, now: options.pacing.now(), ...(names ? { signals: { ...names, written } } : {}) });
  const existing = await resources.get<CostReportObject>("CostReport", report.metadata.name);
  if (!existing) await resources.create(report);
  const charged = new Set(run.lines.map((l) => l.tenant));
  const unchanged = names ? options.tenants.filter((t) => charged.has(t.name)).length - patches.length : 0;
  return { report: report.metadata.name, created: !existing, written, unchanged, actor };
}
