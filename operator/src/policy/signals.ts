import type { PlacementPolicySpec, Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { parseQuantity } from "../placement/quantity.ts";
import type { SignalReading } from "./engine.ts";

interface ManagedFieldsEntry {
  manager?: string;
  time?: string;
  fieldsV1?: Record<string, unknown>;
}

function path(fields: unknown, keys: string[]): unknown {
  let node = fields;
  for (const key of keys) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * When a field was last written, from the object's managedFields: the newest `time` of a manager
 * that owns it. This is how a reported signal's age is known without trusting the reporter to
 * send a timestamp of its own.
 */
export function fieldWrittenAt(object: KubeObject, fieldPath: string[]): { at: number; manager: string } | undefined {
  let newest: { at: number; manager: string } | undefined;
  for (const entry of (object.metadata.managedFields ?? []) as ManagedFieldsEntry[]) {
    if (!entry.time || path(entry.fieldsV1, fieldPath.map((f) => `f:${f}`)) === undefined) continue;
    const at = Date.parse(entry.time);
    if (!newest || at > newest.at) newest = { at, manager: entry.manager ?? "unknown" };
  }
  return newest;
}

/** A quantity as a plain number in base units (cores, bytes, count). */
function quantityNumber(value: string | number): number {
  return Number(parseQuantity(value)) / 1000;
}

export interface SignalContext {
  now: number;
  tenant: KubeObject & { spec: { reportedSignals?: Record<string, number> } };
  servedTier: Tier | undefined;
  /** The tenant's own ResourceQuota (dedicated tiers), if any. */
  quota: KubeObject | undefined;
  /** Cached Prometheus reading for (tenant, signal), filled by the evaluator loop. */
  prometheus(signal: string): SignalReading | undefined;
}

/** The tenant's reading of every signal its policy declares; never throws, never does I/O. */
export function readSignals(policy: PlacementPolicySpec, ctx: SignalContext): Record<string, SignalReading> {
  const readings: Record<string, SignalReading> = {};
  for (const signal of policy.signals ?? []) {
    const { name, source } = signal;
    if (source.reported) {
      const value = ctx.tenant.spec.reportedSignals?.[name];
      if (value === undefined) {
        readings[name] = { problem: "Unavailable", message: `spec.reportedSignals.${name} is not set; the billing or usage system reports it with kubectl patch` };
        continue;
      }
      const written = fieldWrittenAt(ctx.tenant, ["spec", "reportedSignals", name]);
      const created = Date.parse(ctx.tenant.metadata.creationTimestamp ?? "");
      readings[name] = { value, observedAt: written?.at ?? (Number.isNaN(created) ? ctx.now : created) };
    } else if (source.kubernetes) {
      const used = (ctx.quota?.status as { used?: Record<string, string> } | undefined)?.used?.[source.kubernetes.resource];
      if (ctx.servedTier === "pooled" || ctx.servedTier === undefined) {
        readings[name] = { problem: "Unavailable", message: `${name} comes from the tenant's own ResourceQuota, which a pooled tenant does not have` };
      } else if (used === undefined) {
        readings[name] = { problem: "Unavailable", message: `ResourceQuota status.used has no ${source.kubernetes.resource} yet` };
      } else {
        readings[name] = { value: quantityNumber(used), observedAt: ctx.now };
      }
    } else if (source.prometheus) {
      readings[name] = ctx.prometheus(name) ?? { problem: "Unknown", message: `${name} has not been queried from Prometheus yet` };
    }
  }
  return readings;
}
