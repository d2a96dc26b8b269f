import { ApiError, type KubeObject } from "../../kube/client.ts";
import type { Resources } from "../../kube/resources.ts";
import type { CostRun } from "./costRun.ts";

/**
 * Cost as placement signals: each tenant's monthly cost, cost share and margin written onto its
 * TenantPlacement's spec.reportedSignals, where a PlacementPolicy reads them like revenue. Only the
 * keys of the cost run are written, by server-side apply with their own field manager, so the
 * billing system's keys (and its ownership of them) are untouched, and managedFields say when the
 * cost run last changed each figure (which is how the policy engine ages a reported signal).
 */

export const COST_FIELD_MANAGER = "landlord-costs";

export interface CostSignalNames {
  cost: string;
  share: string;
  margin: string;
  /** Where revenue is read from (not written). */
  revenue: string;
}

export const DEFAULT_SIGNAL_NAMES: CostSignalNames = { cost: "monthlyCostUSD", share: "costShare", margin: "marginUSD", revenue: "monthlyRevenueUSD" };

/** Integer cents as a USD number with at most two decimals (2921.74): exact in JSON text. */
export const centsToUsd = (cents: number): number => Number((cents / 100).toFixed(2));

/** The figures a run wants on each tenant: cost, share, and margin where revenue is known. Pure. */
export function desiredSignals(run: CostRun, names: CostSignalNames): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const line of run.lines) {
    const values: Record<string, number> = { [names.cost]: centsToUsd(line.costCents), [names.share]: line.costShare };
    if (line.marginCents !== undefined) values[names.margin] = centsToUsd(line.marginCents);
    out.set(line.tenant, values);
  }
  return out;
}

export interface SignalTenant {
  name: string;
  reportedSignals: Readonly<Record<string, number>> | undefined;
}

export interface SignalPatch {
  tenant: string;
  /** Every cost signal the run owns on this tenant after the patch (an omitted one is released). */
  signals: Record<string, number>;
}

/**
 * The patches to send: one per tenant whose cost signals differ from what is stored, none for a
 * tenant that already carries exactly these figures. A margin that is stored but no longer known
 * (revenue stopped being reported) counts as a change: the apply without it releases the field.
 */
export function signalPatches(run: CostRun, tenants: readonly SignalTenant[], names: CostSignalNames): SignalPatch[] {
  const wanted = desiredSignals(run, names);
  const patches: SignalPatch[] = [];
  for (const tenant of tenants) {
    const signals = wanted.get(tenant.name);
    if (!signals) continue;
    const stored = tenant.reportedSignals ?? {};
    const keys = [names.cost, names.share, names.margin];
    const changed = keys.some((key) => stored[key] !== signals[key]);
    if (changed) patches.push({ tenant: tenant.name, signals });
  }
  return patches;
}

/** The apply body of one patch: nothing but the cost keys of spec.reportedSignals. */
export function signalApply(patch: SignalPatch): KubeObject {
  return { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: patch.tenant }, spec: { reportedSignals: patch.signals } };
}

export interface Pacing {
  /** Most patches started per second; 0 or Infinity = unlimited. */
  perSecond: number;
  /** Patches in flight at once. */
  concurrency: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Starts `tasks` no faster than `perSecond` (evenly spaced, so a burst never hits the API server)
 * with at most `concurrency` in flight. Returns the results in order; the first failure rejects
 * after the tasks already started have settled.
 */
export async function paced<T>(tasks: readonly (() => Promise<T>)[], pacing: Pacing): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  const interval = pacing.perSecond > 0 && Number.isFinite(pacing.perSecond) ? 1000 / pacing.perSecond : 0;
  const start = pacing.now();
  let next = 0;
  let failure: unknown;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < tasks.length) {
      const index = next++;
      const due = start + index * interval;
      const wait = due - pacing.now();
      if (wait > 0) await pacing.sleep(wait);
      if (failed) return;
      try {
        results[index] = await (tasks[index] as () => Promise<T>)();
      } catch (error) {
        failed = true;
        failure = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(pacing.concurrency, tasks.length)) }, worker));
  if (failed) throw failure;
  return results;
}

/** Applies each patch with the cost field manager, paced. Returns how many were written (a tenant deleted meanwhile is skipped). */
export async function writeSignals(resources: Resources, patches: readonly SignalPatch[], pacing: Pacing): Promise<number> {
  const written = await paced(
    patches.map((patch) => async () => {
      try {
        await resources.apply(signalApply(patch), { fieldManager: COST_FIELD_MANAGER });
        return true;
      } catch (error) {
        // Deleted since it was listed: an apply would try to create it (and fail validation).
        if (error instanceof ApiError && (error.notFound || error.status === 422) && !(await resources.get("TenantPlacement", patch.tenant))) return false;
        throw new Error(`writing the cost signals of TenantPlacement ${patch.tenant}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }),
    pacing,
  );
  return written.filter(Boolean).length;
}
