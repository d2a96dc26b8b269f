import { createHash } from "node:crypto";
import type { CostTenant } from "../allocate.ts";
import type { InputSummary } from "../model.ts";
import type { CostReport } from "../report.ts";

/**
 * The result of one cost run, as everything downstream of the bill reads it: the CostReport, the
 * cost signals on each TenantPlacement, the HTML report. It is the seam between "turn the bill into
 * cost per tenant" (the CUR/FOCUS readers and allocate(), see costRunFromReport) and "act on it": whatever
 * produces a CostRun can feed the loop. Money is integer cents; shares are fractions (0..1).
 */

export interface CostRunInput {
  /** File name or URL as given, e.g. examples/costs/cur2-2026-11.csv or --pool-cost standard=12000.00. */
  name: string;
  /** Data rows read from it (1 for a figure typed on the command line). */
  rows: number;
  /** sha256 of its bytes, hex. */
  sha256: string;
}

export interface CostRunLine {
  tenant: string;
  /** Tier it is served from ("" when not placed yet). */
  tier: string;
  /** Pool while pooled, else "". */
  pool: string;
  costCents: number;
  /** How the cost was reached, e.g. "requestsPerDay share 12.50% of pool standard". */
  basis: string;
  /** From the revenue signal; absent when the tenant does not report it. */
  revenueCents?: number;
  /** revenueCents - costCents; absent without revenue. */
  marginCents?: number;
  /** costCents over the sum of every tenant's cost (unallocated lines excluded), 0..1. */
  costShare: number;
  /** revenueCents over the sum of every tenant's revenue, 0..1; absent without revenue. */
  revenueShare?: number;
}

export interface CostRunOther {
  /** Why it is not a tenant's, e.g. "untagged/shared AWS cost (3 rows)". */
  basis: string;
  pool: string;
  cents: number;
}

export interface CostRun {
  /** Billing period, e.g. {start: "2026-11-01", end: "2026-12-01"} (end exclusive). */
  period: { start: string; end: string };
  /** Cost basis of the amounts, e.g. unblended. */
  basis: string;
  currency: string;
  inputs: CostRunInput[];
  /** One per tenant, sorted by tenant id. */
  lines: CostRunLine[];
  /** Cost that is no tenant's: shared platform cost and rows naming no known tenant. */
  unallocated: CostRunOther[];
  totals: {
    /** Every input, to the cent: tenantsCents + unallocatedCents. */
    totalCents: number;
    tenantsCents: number;
    unallocatedCents: number;
    revenueCents: number;
    /** Per tier served ("" = not placed), cost and revenue. */
    byTier: Record<string, { tenants: number; costCents: number; revenueCents: number }>;
    /** Per pool (pooled tenants only). */
    byPool: Record<string, { tenants: number; costCents: number; revenueCents: number }>;
  };
  /** Share of the tenants' cost carried by the costliest 1% and 10% of tenants (at least one tenant each). */
  pareto: { tenants: number; top1PctShare: number; top10PctShare: number };
  /** Who ran it (the authenticated user), when known. */
  actor?: string;
}

/** sha256 of bytes, hex: how every input is identified in a CostRun. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The CostReport names a tier "(not placed)"; a CostRun (and the CostReport object) says "". */
const NOT_PLACED = "(not placed)";

/** One input of the run: a file by its sha256, several files by a digest of theirs, a figure or URL by its text. */
function runInput(input: InputSummary): CostRunInput {
  const files = input.files;
  const digest = files.length === 1 ? (files[0] as InputSummary["files"][number]).sha256 : sha256(files.length > 0 ? files.map((f) => `${f.sha256}  ${f.path}`).join("\n") : input.source);
  return { name: input.source.slice(0, 1024), rows: input.rows, sha256: digest };
}

export interface CostRunOptions {
  /** The month when the report has no period (no input carried one and --period was not given). */
  now: number;
  /** What the split depends on besides the bills: the tenants as costs read them. */
  tenants: readonly CostTenant[];
  /** Where the tenants came from, e.g. the cluster at https://… or tenants.yaml. */
  from: string;
  /** Signals the run itself writes: left out of the tenants' digest, so recording twice finds the first report. */
  written: readonly string[];
}

/**
 * The CostRun of a `landlord costs` report (the bill readers and allocate()): tenant lines become
 * the run's lines, every other line (tags naming no tenant, pools without tenants, shared cost) an
 * unallocated line that keeps its name in the basis. Pure.
 */
export function costRunFromReport(report: CostReport, options: CostRunOptions): CostRun {
  const lines = report.lines
    .filter((l) => l.kind === "tenant")
    .map(
      (l): CostRunLine => ({
        tenant: l.tenant,
        tier: l.tier,
        pool: l.pool,
        costCents: l.cents,
        basis: l.basis,
        costShare: l.costShare ?? 0,
        ...(l.revenueCents !== undefined ? { revenueCents: l.revenueCents } : {}),
        ...(l.marginCents !== undefined ? { marginCents: l.marginCents } : {}),
        ...(l.revenueShare !== undefined ? { revenueShare: l.revenueShare } : {}),
      }),
    );
  const unallocated = report.lines.filter((l) => l.kind !== "tenant").map((l): CostRunOther => ({ basis: `${l.tenant}: ${l.basis}`.slice(0, 1024), pool: l.pool, cents: l.cents }));
  const group = (totals: CostReport["tiers"], rename: (name: string) => string): CostRun["totals"]["byTier"] =>
    Object.fromEntries(totals.map((g) => [rename(g.name), { tenants: g.tenants, costCents: g.cents, revenueCents: g.revenueCents }]));
  const written = new Set(options.written);
  // Tiers, pools, namespaces and every signal the split or the margin may read; sorted, so the
  // digest does not depend on the order the cluster lists the tenants in.
  const state = [...options.tenants]
    .sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0))
    .map((t) => [t.tenantId, t.tier ?? "", t.pool ?? "", t.namespace ?? "", Object.entries(t.signals).filter(([k]) => !written.has(k)).sort(([a], [b]) => (a < b ? -1 : 1))]);
  const inputs = [...report.inputs.map(runInput), { name: `TenantPlacements from ${options.from}`.slice(0, 1024), rows: state.length, sha256: sha256(JSON.stringify(state)) }];
  return {
    period: monthPeriod(report.period || undefined, options.now),
    basis: report.basis,
    currency: report.currency,
    inputs,
    lines,
    unallocated,
    totals: {
      totalCents: report.totalCents,
      tenantsCents: lines.reduce((a, l) => a + l.costCents, 0),
      unallocatedCents: unallocated.reduce((a, l) => a + l.cents, 0),
      revenueCents: lines.reduce((a, l) => a + (l.revenueCents ?? 0), 0),
      byTier: group(report.tiers, (name) => (name === NOT_PLACED ? "" : name)),
      byPool: group(report.pools, (name) => name),
    },
    pareto: { tenants: report.pareto.tenants, top1PctShare: report.pareto.top1Percent.share, top10PctShare: report.pareto.top10Percent.share },
  };
}

/** The calendar month of `month` ("2026-11") as a period, or of `now` (UTC) when absent. */
export function monthPeriod(month: string | undefined, now: number): { start: string; end: string } {
  let year: number;
  let index: number;
  if (month === undefined) {
    const d = new Date(now);
    year = d.getUTCFullYear();
    index = d.getUTCMonth();
  } else {
    const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
    if (!m) throw new Error(`--period: expected a month such as 2026-11, got "${month}"`);
    year = Number(m[1]);
    index = Number(m[2]) - 1;
  }
  const iso = (y: number, i: number): string => new Date(Date.UTC(y, i, 1)).toISOString().slice(0, 10);
  return { start: iso(year, index), end: iso(year, index + 1) };
}
