import { allocate, roundCents, type AllocationInput, type AllocationLine, type CostTenant, type SharedRule } from "./allocate.ts";
import type { BillGroup, CostBasis, InputSummary } from "./model.ts";

/**
 * The result of `landlord costs`, as one typed object: what the CLI renders, and what a recorded
 * run (CostReport objects, signals on the tenants) or an HTML report is built from. Pure.
 */

export const DEFAULT_REVENUE_SIGNAL = "monthlyRevenueUSD";

export interface ReportLine extends AllocationLine {
  /** Tenant lines only: revenue from the revenue signal, in cents; undefined when the tenant has none. */
  revenueCents?: number | undefined;
  marginCents?: number | undefined;
  /** margin / revenue, in percent with two decimals; undefined without revenue (or revenue 0). */
  marginPercent?: number | undefined;
  /** Share of all tenants' cost (0..1); tenant lines only. */
  costShare?: number | undefined;
  /** Share of all tenants' revenue (0..1); tenant lines with revenue only. */
  revenueShare?: number | undefined;
}

export interface GroupTotal {
  name: string;
  tenants: number;
  cents: number;
  revenueCents: number;
}

export interface CostReport {
  /** Billing period "YYYY-MM" ("" when no input has one). */
  period: string;
  currency: string;
  basis: CostBasis;
  sharedRule: SharedRule;
  revenueSignal: string;
  inputs: InputSummary[];
  /** Tenants (by id), then tags naming no tenant, pools without tenants, shared lines. */
  lines: ReportLine[];
  tiers: GroupTotal[];
  pools: GroupTotal[];
  /** Cost by charge type (Usage, Credit, Tax, ...) over every bill row, in cents. */
  chargeTypes: { chargeType: string; rows: number; cents: number }[];
  pareto: { tenants: number; top1Percent: { tenants: number; share: number }; top10Percent: { tenants: number; share: number } };
  totalCents: number;
  inputCents: number;
  /** Cost on tenant lines / total, 0..1. */
  attributedShare: number;
  /** Rows of each pool's cost split among its members; rows of EKS split data. */
  poolRows: Record<string, number>;
  splitRows: number;
}

export interface ReportInput extends AllocationInput {
  period: string;
  currency: string;
  basis: CostBasis;
  inputs: InputSummary[];
  revenueSignal?: string;
}

const round4 = (x: number): number => Math.round(x * 10000) / 10000;

function revenueOf(t: CostTenant, signal: string): number | undefined {
  const v = t.signals[signal];
  return v !== undefined && Number.isFinite(v) ? Math.round(v * 100) : undefined;
}

function totals(lines: readonly ReportLine[], key: (l: ReportLine) => string): GroupTotal[] {
  const map = new Map<string, GroupTotal>();
  for (const l of lines) {
    const name = key(l);
    if (!name) continue;
    const g = map.get(name) ?? { name, tenants: 0, cents: 0, revenueCents: 0 };
    g.tenants++;
    g.cents += l.cents;
    g.revenueCents += l.revenueCents ?? 0;
    map.set(name, g);
  }
  return [...map.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function chargeTypes(groups: readonly BillGroup[]): CostReport["chargeTypes"] {
  const sums = new Map<string, { rows: number; units: bigint }>();
  for (const g of groups) {
    const s = sums.get(g.chargeType) ?? { rows: 0, units: 0n };
    s.rows += g.rows;
    s.units += g.units;
    sums.set(g.chargeType, s);
  }
  // Each rounded on its own (half away from zero), so a charge type that is one line (an untagged
  // Tax) shows the same cents there and here; these are a breakdown, not a second allocation.
  return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([chargeType, s]) => ({ chargeType, rows: s.rows, cents: Number(roundCents(s.units)) }));
}

export function buildReport(input: ReportInput): CostReport {
  const signal = input.revenueSignal ?? DEFAULT_REVENUE_SIGNAL;
  const allocation = allocate(input);
  const byId = new Map(input.tenants.map((t) => [t.tenantId, t]));
  const tenantLines = allocation.lines.filter((l) => l.kind === "tenant");
  const tenantCost = tenantLines.reduce((a, l) => a + l.cents, 0);
  const revenueTotal = tenantLines.reduce((a, l) => a + (revenueOf(byId.get(l.tenant) as CostTenant, signal) ?? 0), 0);
  const lines: ReportLine[] = allocation.lines.map((l) => {
    if (l.kind !== "tenant") return l;
    const revenue = revenueOf(byId.get(l.tenant) as CostTenant, signal);
    const margin = revenue === undefined ? undefined : revenue - l.cents;
    return {
      ...l,
      revenueCents: revenue,
      marginCents: margin,
      marginPercent: revenue ? Math.round((10000 * (margin as number)) / revenue) / 100 : undefined,
      costShare: tenantCost === 0 ? 0 : round4(l.cents / tenantCost),
      revenueShare: revenue === undefined || revenueTotal === 0 ? undefined : round4(revenue / revenueTotal),
    };
  });
  const sorted = tenantLines.map((l) => l.cents).sort((a, b) => b - a);
  const top = (fraction: number): { tenants: number; share: number } => {
    const n = sorted.length === 0 ? 0 : Math.max(1, Math.ceil(sorted.length * fraction));
    const sum = sorted.slice(0, n).reduce((a, b) => a + b, 0);
    return { tenants: n, share: tenantCost === 0 ? 0 : round4(sum / tenantCost) };
  };
  return {
    period: input.period,
    currency: input.currency,
    basis: input.basis,
    sharedRule: input.shared ?? "none",
    revenueSignal: signal,
    inputs: input.inputs,
    lines,
    tiers: totals(lines, (l) => (l.kind === "tenant" ? l.tier || "(not placed)" : "")),
    pools: totals(lines, (l) => (l.kind === "tenant" ? l.pool : "")),
    chargeTypes: chargeTypes(input.groups),
    pareto: { tenants: sorted.length, top1Percent: top(0.01), top10Percent: top(0.1) },
    totalCents: allocation.totalCents,
    inputCents: allocation.inputCents,
    attributedShare: allocation.totalCents === 0 ? 0 : round4(tenantCost / allocation.totalCents),
    poolRows: allocation.poolRows,
    splitRows: allocation.splitRows,
  };
}

/** The report as plain JSON (bigint units as decimal strings), for -o json/yaml and for storage. */
export function reportJson(report: CostReport): unknown {
  return JSON.parse(JSON.stringify(report, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
}
