import type { TenantPlacement } from "../../api/v1alpha1/index.ts";
import { allocationInput, awsCostFile, poolCostFlags } from "../../cli/costs.ts";
import { UsageError } from "../../cli/errors.ts";
import { buildCostRun, type LoopPlacement } from "./command.ts";
import { desiredSignals, type CostSignalNames } from "./signals.ts";

/**
 * `landlord plan --bill`: the cost signals a recorded run would write, computed offline from the
 * same bill, so the plan shows what a cost rule would do. A tenant not placed yet is costed where
 * it would start (its pinned tier, else its floor), which for most new tenants is its pool.
 */

export interface PlanBill {
  file: string | undefined;
  poolCosts: readonly string[] | undefined;
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

export function planCostSignals(tenants: readonly TenantPlacement[], bill: PlanBill): PlanSignal[] {
  const poolCosts = poolCostFlags(bill.poolCosts);
  const awsRows = awsCostFile(bill.file);
  if (Object.keys(poolCosts).length === 0 && awsRows.length === 0) throw new UsageError("--bill: nothing to allocate: give --bill costs.csv and/or --pool-cost POOL=USD");
  const placed: LoopPlacement[] = tenants.map((t) => ({
    ...t,
    status: { ...(t.status ?? {}), tier: startingTier(t), pool: t.status?.pool ?? t.spec.pool, signals: { ...(t.spec.reportedSignals ?? {}), ...(t.status?.signals ?? {}) } },
  }));
  const run = buildCostRun({
    tenants: placed,
    allocation: allocationInput({ tenants: placed, poolCosts, awsRows }),
    awsFile: bill.file,
    from: "the plan's files",
    period: { start: "1970-01-01", end: "1970-02-01" },
    basis: "unblended",
    revenueSignal: bill.names.revenue,
  });
  const out: PlanSignal[] = [];
  for (const [tenant, values] of desiredSignals(run, bill.names)) {
    for (const [signal, value] of Object.entries(values)) out.push({ tenant, signal, value });
  }
  return out;
}
