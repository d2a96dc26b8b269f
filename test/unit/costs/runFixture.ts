import type { Tier } from "../../../operator/src/api/v1alpha1/index.ts";
import type { CostTenant } from "../../../operator/src/costs/allocate.ts";
import { UNITS_PER_CENT, type BillGroup, type Category } from "../../../operator/src/costs/model.ts";
import { buildReport } from "../../../operator/src/costs/report.ts";
import { costRunFromReport, type CostRun } from "../../../operator/src/costs/run/costRun.ts";

/** A bill group of `cents` tagged to `tenantTag` ("" = untagged). */
export const group = (tenantTag: string, cents: number, category: Category = "other"): BillGroup => ({
  account: "111111111111",
  tenantTag,
  poolTag: "",
  namespace: "",
  category,
  chargeType: "Usage",
  split: "",
  rows: 1,
  units: BigInt(cents) * UNITS_PER_CENT,
  splitWeight: 0n,
});

export const tenant = (tenantId: string, tier: Tier, signals: Record<string, number> = {}, pool?: string): CostTenant => ({ tenantId, tier, pool, signals });
export const pooled = (tenantId: string, requestsPerDay: number, revenueUSD?: number): CostTenant =>
  tenant(tenantId, "pooled", { requestsPerDay, ...(revenueUSD !== undefined ? { monthlyRevenueUSD: revenueUSD } : {}) }, "standard");

export const INPUTS = [{ kind: "cur2" as const, source: "bill.csv", files: [{ path: "bill.csv", sha256: "a".repeat(64), bytes: 10 }], rows: 3, excludedRows: 0, excludedUnits: 0n }];

/** The CostRun of the real report pipeline (allocate, then buildReport, then costRunFromReport) over these inputs, period 2026-11. */
export function reportRun(tenants: CostTenant[], extra: { poolCents?: Record<string, number>; groups?: BillGroup[] } = {}): CostRun {
  const poolCosts = Object.fromEntries(Object.entries(extra.poolCents ?? {}).map(([pool, cents]) => [pool, BigInt(cents) * UNITS_PER_CENT]));
  const report = buildReport({ tenants, groups: extra.groups ?? [], poolCosts, accounts: {}, period: "2026-11", currency: "USD", basis: "unblended", inputs: INPUTS });
  return costRunFromReport(report, { now: 0, tenants, from: "tests", written: ["monthlyCostUSD", "costShare", "marginUSD"] });
}
