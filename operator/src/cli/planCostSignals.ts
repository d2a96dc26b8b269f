import type { TenantPlacement } from "../api/v1alpha1/index.ts";
import { costReport, poolCostFlags, poolsFromFiles, type CostPlacement } from "./costs.ts";
import { UsageError } from "./errors.ts";
import { AllocationError } from "../costs/allocate.ts";
import { BillError } from "../costs/reader.ts";
import type { CostReport } from "../costs/report.ts";
import { costRunFromReport } from "../costs/run/costRun.ts";
import { desiredSignals, type CostSignalNames } from "../costs/run/signals.ts";

/**
 * `landlord plan --bill`: the cost signals a recorded run would write, computed offline from the
 * same bill by the same readers and allocation as `landlord costs`, so the plan shows what a cost
 * rule would do. A tenant not placed yet is costed where it would start (its pinned tier, else its
 * floor), which for most new tenants is its pool.
 */

export interface PlanBill {
  /** --bill exports (CUR 2.0, FOCUS or the legacy CSV), as landlord costs reads them. */
  bills: readonly string[];
  poolCosts: readonly string[] | undefined;
  /** --period YYYY-MM: the billing month, when the bills hold more than one. */
  period: string | undefined;
  /** The plan's -f files: the TenantPools among them say how each pool's cost is split. */
  files: readonly string[];
  names: CostSignalNames;
}

export interface PlanSignal {
  tenant: string;
  signal: string;
  value: number;
}

function startingTier(t: TenantPlacement): string {
  return t.status?.tier ?? (t.spec.tier.mode === "Pinned" && t.spec.tier.pinned ? t.spec.tier.pinned : t.spec.tier.floor);
}

export async function planCostSignals(tenants: readonly TenantPlacement[], bill: PlanBill): Promise<PlanSignal[]> {
  const poolCosts = poolCostFlags(bill.poolCosts);
  if (bill.bills.length === 0 && Object.keys(poolCosts).length === 0) throw new UsageError("--bill: nothing to allocate: give --bill EXPORT and/or --pool-cost POOL=AMOUNT");
  const placed: CostPlacement[] = tenants.map((t) => ({
    ...t,
    status: { ...(t.status ?? {}), tier: startingTier(t), pool: t.status?.pool ?? t.spec.pool, signals: { ...(t.spec.reportedSignals ?? {}), ...(t.status?.signals ?? {}) } },
  }));
  let report: CostReport;
  try {
    report = await costReport(
      { bills: bill.bills, basis: "unblended", period: bill.period, shared: "none", revenueSignal: bill.names.revenue, poolCosts, accounts: [] },
      placed,
      poolsFromFiles(bill.files),
    );
  } catch (error) {
    if (error instanceof BillError || error instanceof AllocationError) throw new UsageError(`--bill: ${error.message}`);
    throw error;
  }
  const run = costRunFromReport(report, { now: 0, tenants: [], from: "the plan's files", written: [] });
  const out: PlanSignal[] = [];
  for (const [tenant, values] of desiredSignals(run, bill.names)) {
    for (const [signal, value] of Object.entries(values)) out.push({ tenant, signal, value });
  }
  return out;
}
