import { createHash } from "node:crypto";
import { UNALLOCATED, type Allocation } from "../allocate.ts";

/**
 * The result of one cost run, as everything downstream of the bill reads it: the CostReport, the
 * cost signals on each TenantPlacement, the HTML report. It is the seam between "turn the bill into
 * cost per tenant" (today allocate(); the CUR/FOCUS readers later) and "act on it": whatever
 * produces a CostRun can feed the loop. Money is integer cents; shares are fractions (0..1).
 */

export interface CostRunInput {
  /** File name or URL as given, e.g. examples/costs/bill.csv or --pool-cost standard. */
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

export interface CostRunOptions {
  period: { start: string; end: string };
  basis: string;
  currency?: string;
  inputs: CostRunInput[];
  /** Monthly revenue of each tenant, in cents (from its revenue signal). */
  revenueCents: ReadonlyMap<string, number>;
  actor?: string;
}

/** sha256 of bytes, hex: how every input is identified in a CostRun. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A ratio rounded to 6 decimals: enough to compare with a policy threshold, stable across runs. */
export function ratio(part: number, whole: number): number {
  if (whole <= 0) return 0;
  return Math.round((part / whole) * 1e6) / 1e6;
}

/** Share of `total` carried by the largest ceil(fraction × n) of `costs` (at least one). */
function topShare(sortedDesc: readonly number[], total: number, fraction: number): number {
  if (sortedDesc.length === 0 || total <= 0) return 0;
  const count = Math.max(1, Math.ceil(sortedDesc.length * fraction));
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sortedDesc[i] as number;
  return ratio(sum, total);
}

/**
 * The CostRun of today's allocate() output plus each tenant's revenue. Pure. The lead wires the
 * bill readers' unit economics here later: any producer that fills the same fields will do.
 */
export function costRunFromAllocation(allocation: Allocation, options: CostRunOptions): CostRun {
  const tenantLines = allocation.lines.filter((l) => l.tenant !== UNALLOCATED);
  const unallocated = allocation.lines.filter((l) => l.tenant === UNALLOCATED).map((l) => ({ basis: l.basis, pool: l.pool, cents: l.cents }));
  const tenantsCents = tenantLines.reduce((a, l) => a + l.cents, 0);
  const revenueCents = tenantLines.reduce((a, l) => a + (options.revenueCents.get(l.tenant) ?? 0), 0);
  const lines = tenantLines.map((l): CostRunLine => {
    const revenue = options.revenueCents.get(l.tenant);
    return {
      tenant: l.tenant,
      tier: l.tier,
      pool: l.pool,
      costCents: l.cents,
      basis: l.basis,
      costShare: ratio(l.cents, tenantsCents),
      ...(revenue !== undefined ? { revenueCents: revenue, marginCents: revenue - l.cents, revenueShare: ratio(revenue, revenueCents) } : {}),
    };
  });
  const byTier: CostRun["totals"]["byTier"] = {};
  const byPool: CostRun["totals"]["byPool"] = {};
  const add = (into: CostRun["totals"]["byTier"], key: string, line: CostRunLine): void => {
    const entry = (into[key] ??= { tenants: 0, costCents: 0, revenueCents: 0 });
    entry.tenants++;
    entry.costCents += line.costCents;
    entry.revenueCents += line.revenueCents ?? 0;
  };
  for (const line of lines) {
    add(byTier, line.tier, line);
    if (line.pool) add(byPool, line.pool, line);
  }
  const sorted = lines.map((l) => l.costCents).sort((a, b) => b - a);
  const unallocatedCents = unallocated.reduce((a, l) => a + l.cents, 0);
  return {
    period: options.period,
    basis: options.basis,
    currency: options.currency ?? "USD",
    inputs: options.inputs,
    lines,
    unallocated,
    totals: { totalCents: allocation.totalCents, tenantsCents, unallocatedCents, revenueCents, byTier, byPool },
    pareto: { tenants: lines.length, top1PctShare: topShare(sorted, tenantsCents, 0.01), top10PctShare: topShare(sorted, tenantsCents, 0.1) },
    ...(options.actor !== undefined ? { actor: options.actor } : {}),
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
