import {
  tenantPlacementSpec,
  type PlacementPolicySpec,
  type Quota,
  type TenantPlacementSpec,
  type TenantPlacementStatus,
  type Tier,
} from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { CHILD_NAMES, DEFAULT_NAMESPACE_QUOTA, namespaceTierObjects, registryEntry } from "./children.ts";
import { compact, jsonEqual, mergeConditions, specIssues, type Condition, type ConditionInput } from "./conditions.ts";
import { applyIfChanged, applyStatus, ForeignObjectError, isManaged, poolKey, setFinalizer, type ControllerContext } from "./context.ts";
import { finishDecision, openDecision, recordDecision, type DecisionObject } from "./decisions.ts";
import type { TierChoice } from "./desiredTier.ts";
import { choosePlacement, type PlacementChoice } from "./placementChoice.ts";
import { APPROVE_ANNOTATION, FINALIZER, LABELS } from "./labels.ts";
import { tenantNamespace } from "./names.ts";
import { parsedSpec } from "./parsedSpec.ts";

export interface TenantObject extends KubeObject {
  spec: TenantPlacementSpec;
  status?: TenantPlacementStatus;
}

/** Requeue interval while a move waits for something the store will announce anyway (a safety net). */
const MOVE_POLL_MS = 5_000;

/** Where the tenant holds a seat in its pool, read from the shards' registry ConfigMaps. */
export function findSeat(ctx: ControllerContext, pool: string, tenantId: string): { namespace: string; entry: string } | undefined {
  for (const configMap of ctx.store.byLabel("ConfigMap", LABELS.pool, pool)) {
    if (configMap.metadata.name !== CHILD_NAMES.registry) continue;
    const data = (configMap.data ?? {}) as Record<string, string>;
    const entry = data[tenantId];
    if (entry !== undefined) return { namespace: configMap.metadata.namespace ?? "", entry };
  }
  return undefined;
}

/** Whether the seat's registry entry still says what the spec says (cost center, quota). */
function seatUpToDate(ctx: ControllerContext, spec: TenantPlacementSpec, seat: { entry: string }): boolean {
  const pool = ctx.store.get<KubeObject & { spec?: { tenantDefaults?: Quota } }>("TenantPool", spec.pool);
  const expected = registryEntry(spec, pool?.spec?.tenantDefaults ?? {});
  return seat.entry === JSON.stringify(expected);
}

function policyQuota(ctx: ControllerContext, spec: TenantPlacementSpec, tier: Tier): Quota | undefined {
  const policy = ctx.store.get<KubeObject & { spec?: PlacementPolicySpec }>("PlacementPolicy", spec.policyRef);
  return policy?.spec?.tiers?.find((t) => t.tier === tier)?.quota;
}

function namespaceReady(ctx: ControllerContext, tenantId: string): boolean {
  const name = tenantNamespace(tenantId);
  const namespace = ctx.store.get("Namespace", name);
  const status = namespace?.status as { phase?: string } | undefined;
  return isManaged(namespace) && !namespace?.metadata.deletionTimestamp && status?.phase === "Active" && ctx.store.get("ResourceQuota", CHILD_NAMES.quota, name) !== undefined;
}

/** Deletes the tenant's dedicated namespace if Landlord created it for this tenant. */
async function releaseNamespace(ctx: ControllerContext, tenantId: string): Promise<boolean> {
  const name = tenantNamespace(tenantId);
  const namespace = ctx.store.get("Namespace", name);
  if (!namespace || namespace.metadata.labels?.[LABELS.tenant] !== tenantId || !isManaged(namespace)) return false;
  if (!namespace.metadata.deletionTimestamp) {
    const answer = await ctx.resources.delete("Namespace", name, undefined, namespace.metadata.uid ? { uid: namespace.metadata.uid } : {});
    if (answer?.metadata) ctx.store.upsert("Namespace", { ...answer, kind: "Namespace" });
  }
  return true;
}

function inventory(tier: Tier | undefined, tenantId: string, seat: { namespace: string } | undefined, admins: boolean): TenantPlacementStatus["resources"] {
  if (tier === "pooled" && seat) return [{ kind: "ConfigMap", name: CHILD_NAMES.registry, namespace: seat.namespace }];
  if (tier !== "namespace") return undefined;
  const namespace = tenantNamespace(tenantId);
  return [
    { kind: "Namespace", name: namespace },
    { kind: "ResourceQuota", name: CHILD_NAMES.quota, namespace },
    { kind: "LimitRange", name: CHILD_NAMES.limits, namespace },
    { kind: "NetworkPolicy", name: CHILD_NAMES.networkPolicy, namespace },
    ...(admins ? [{ kind: "RoleBinding", name: CHILD_NAMES.adminBinding, namespace }] : []),
  ];
}

/**
 * Level-based reconcile of one TenantPlacement: compute where it should live, drive the move one
 * step further (target ready before the old placement is released), record the decision, and
 * write status only when it changed.
 */
export async function reconcileTenant(ctx: ControllerContext, tenantId: string): Promise<ReconcileResult> {
  const tenant = ctx.store.get<TenantObject>("TenantPlacement", tenantId);
  if (!tenant) return { kind: "done" };
  const previous = tenant.status ?? {};
  const now = ctx.now().toISOString();
  const generation = tenant.metadata.generation;

  const spec = parsedSpec(tenantPlacementSpec, tenant);
  if (!spec) {
    // Parsed again only on this rare path, for the issues' text.
    const message = specIssues(tenantPlacementSpec.safeParse(tenant.spec).error ?? { issues: [] });
    await applyStatus(ctx, tenant, compact({
      ...previous,
      observedGeneration: generation,
      conditions: mergeConditions(previous.conditions, [
        { type: "Ready", status: previous.tier ? "True" : "False", reason: "InvalidSpec", message: `The spec is invalid and was not acted on: ${message}` },
        { type: "Degraded", status: "True", reason: "InvalidSpec", message },
      ], now, generation),
    }));
    return { kind: "error", error: new Error(`invalid spec: ${message}`), terminal: true };
  }
  if (tenant.metadata.deletionTimestamp) return finalizeTenant(ctx, tenant, spec);
  await setFinalizer(ctx, tenant, FINALIZER, true);

  const served = previous.tier;
  let decision = openDecision(ctx, tenantId);
  const placement = choosePlacement(ctx, tenant, spec, decision);
  const choice = placement.choice;
  if (decision && served === choice.tier && decision.spec.to !== choice.tier) {
    // The move was called off (a new pin, a failed target) and the tenant is still where it was.
    await finishDecision(ctx, decision, "RolledBack", { lastStep: "CalledOff", error: `called off: the tenant stays served from ${served}` });
    decision = undefined;
  }
  if (served !== choice.tier && decision?.spec.to !== choice.tier) {
    if (decision) await finishDecision(ctx, decision, "RolledBack", { lastStep: "Superseded", error: `superseded: the tenant now goes to ${choice.tier}` });
    decision = await recordDecision(ctx, {
      tenant,
      tenantId,
      from: served,
      choice,
      ...(placement.policy ? { policy: placement.policy } : {}),
      ...(placement.signals ? { signals: placement.signals } : {}),
      ...(placement.approval ? { approval: placement.approval } : {}),
    });
  }

  const seat = findSeat(ctx, spec.pool, tenantId);
  const conditions: ConditionInput[] = [...placement.conditions];
  let now_served: Tier | undefined = served;
  let phase: TenantPlacementStatus["phase"];
  let waiting = false;
  // The pool acts on this tenant's status (targetTier), so it is woken only after that is written.
  let wakePool = false;

  try {
    if (choice.tier === "namespace") {
      const quota = spec.quota ?? policyQuota(ctx, spec, "namespace") ?? DEFAULT_NAMESPACE_QUOTA;
      for (const object of namespaceTierObjects({ tenant: spec, quota, admins: spec.admins })) await applyIfChanged(ctx, object);
      if (!spec.admins?.length) await removeStaleAdminBinding(ctx, tenantId);
      if (namespaceReady(ctx, tenantId)) {
        now_served = "namespace";
        // Cut-over: the tenant is served from its namespace; the pool releases its seat next.
        phase = seat ? "CuttingOver" : "Active";
        if (seat) wakePool = true;
      } else {
        phase = "Provisioning";
      }
    } else {
      if (!ctx.store.get("TenantPool", spec.pool)) {
        conditions.push({ type: "Degraded", status: "True", reason: "PoolNotFound", message: `TenantPool ${spec.pool} does not exist; create it or set spec.pool` });
      }
      if (seat) {
        now_served = "pooled";
        phase = "Active";
        // The dedicated namespace of a demoted tenant is released only once its seat exists.
        await releaseNamespace(ctx, tenantId);
      } else {
        phase = served ? "Provisioning" : "Pending";
        wakePool = true;
      }
      const unplaceable = ctx.unplaceable.get(tenantId);
      if (unplaceable && !seat) conditions.push({ type: "Degraded", status: "True", reason: "Unplaceable", message: unplaceable });
      if (seat && !seatUpToDate(ctx, spec, seat)) wakePool = true;
    }
  } catch (error) {
    if (!(error instanceof ForeignObjectError)) throw error;
    phase = "Failed";
    conditions.push({ type: "Degraded", status: "True", reason: "NamespaceConflict", message: error.message });
    waiting = true;
  }

  const moving = now_served !== choice.tier || phase !== "Active";
  if (choice.unavailable) {
    conditions.push({
      type: "Degraded",
      status: "True",
      reason: "TierUnavailable",
      message: `tier ${choice.unavailable} needs the Pulumi provisioner, which this release does not include; served from ${choice.tier} instead`,
    });
  }

  const status = buildStatus({ previous, generation, now, spec, tenantId, served: now_served, choice, phase, seat, decision, conditions, moving, placement });
  await applyStatus(ctx, tenant, status);
  if (wakePool) ctx.enqueue(poolKey(spec.pool));
  const degraded = conditions.find((c) => c.type === "Degraded");
  const previousDegraded = previous.conditions?.find((c) => c.type === "Degraded");
  if (degraded && (previousDegraded?.status !== "True" || previousDegraded.reason !== degraded.reason)) {
    ctx.events.record(tenant, "Warning", degraded.reason, degraded.message);
  }
  // Closed only once the status that says where the tenant is served has been written: if this
  // process dies in between, the next reconcile finds the open decision and closes it then.
  if (decision && now_served === decision.spec.to && phase === "Active") {
    decision = await finishDecision(ctx, decision, "Succeeded", { lastStep: "CutOver" });
    ctx.events.record(tenant, "Normal", "Placed", `${decision.metadata.name}: now served from ${now_served}`);
    ctx.log.info({ from: decision.spec.from, to: decision.spec.to, decision: decision.metadata.name }, "Moved tenant");
    if (decision.spec.approval) await clearApproval(ctx, tenant, decision.spec.approval.annotation);
  }
  if (waiting) return { kind: "error", error: new Error(conditions.at(-1)?.message ?? "waiting") };
  if (moving) return { kind: "requeueAfter", ms: MOVE_POLL_MS };
  // A stabilization window or cooldown ends with no event to announce it: come back then.
  if (placement.retryAt !== undefined) return { kind: "requeueAfter", ms: Math.max(placement.retryAt - ctx.now().getTime(), 100) };
  return { kind: "done" };
}

/**
 * Removes the approval annotation the move consumed. A JSON patch with a `test` first: if someone
 * changed it meanwhile (a new approval), the patch fails and the new value stays.
 */
async function clearApproval(ctx: ControllerContext, tenant: TenantObject, value: string): Promise<void> {
  if (tenant.metadata.annotations?.[APPROVE_ANNOTATION] !== value) return;
  const pointer = `/metadata/annotations/${APPROVE_ANNOTATION.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  try {
    const patched = await ctx.resources.patchJson("TenantPlacement", tenant.metadata.name, [
      { op: "test", path: pointer, value },
      { op: "remove", path: pointer },
    ]);
    ctx.store.upsert("TenantPlacement", { ...patched, kind: "TenantPlacement" });
  } catch (error) {
    ctx.log.warn({ err: String(error) }, "Could not clear the approval annotation");
  }
}

async function removeStaleAdminBinding(ctx: ControllerContext, tenantId: string): Promise<void> {
  const namespace = tenantNamespace(tenantId);
  const binding = ctx.store.get("RoleBinding", CHILD_NAMES.adminBinding, namespace);
  if (binding && isManaged(binding)) {
    await ctx.resources.delete("RoleBinding", CHILD_NAMES.adminBinding, namespace);
    ctx.store.remove("RoleBinding", binding);
  }
}

function buildStatus(o: {
  previous: TenantPlacementStatus;
  generation: number | undefined;
  now: string;
  spec: TenantPlacementSpec;
  tenantId: string;
  served: Tier | undefined;
  choice: TierChoice;
  phase: TenantPlacementStatus["phase"];
  seat: { namespace: string } | undefined;
  decision: DecisionObject | undefined;
  conditions: ConditionInput[];
  moving: boolean;
  placement: PlacementChoice;
}): Record<string, unknown> {
  const { served, choice, phase } = o;
  const waiting = o.placement.waiting;
  const degraded = o.conditions.find((c) => c.type === "Degraded");
  const ready = served !== undefined && phase !== "Failed";
  const conditions: ConditionInput[] = [
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason: ready ? (phase === "Active" ? "Served" : "ServedWhileMoving") : (phase ?? "Pending"),
      message: ready ? `Served from the ${served} tier${served === "pooled" ? ` in ${o.seat?.namespace}` : ""}` : "Not placed yet",
    },
    o.moving && served !== choice.tier
      ? { type: "Promoting", status: "True", reason: phase ?? "Pending", message: `Moving ${served ?? "(new)"} → ${choice.tier}: ${choice.reason}` }
      : waiting
        ? { type: "Promoting", status: "False", reason: waiting.why, message: waiting.message }
        : { type: "Promoting", status: "False", reason: "Settled", message: `At the desired tier ${choice.tier}` },
    {
      type: "TagsCompliant",
      status: "True",
      reason: served === "pooled" ? "PooledByShare" : "Labelled",
      message: served === "pooled" ? "Pooled cost is apportioned by usage share; the registry entry carries the cost center" : "Every object carries the required cost labels",
    },
    degraded ?? { type: "Degraded", status: "False", reason: "AsExpected", message: "No problems" },
    // Signal and policy problems: present only while they hold, so they never linger after a fix.
    ...o.conditions.filter((c) => c.type !== "Degraded"),
  ];
  return compact({
    ...o.previous,
    observedGeneration: o.generation,
    phase,
    tier: served,
    targetTier: served !== choice.tier ? choice.tier : undefined,
    pool: served === "pooled" ? o.spec.pool : undefined,
    namespace: served === "pooled" ? o.seat?.namespace : served === "namespace" ? tenantNamespace(o.tenantId) : undefined,
    lastDecision: o.decision?.metadata.name ?? o.previous.lastDecision,
    recommendation: o.placement.recommendation,
    signals: o.placement.signals,
    // Only moved when the values change, so an unchanged evaluation writes nothing.
    signalsObservedAt: o.placement.signals && jsonEqual(o.placement.signals, o.previous.signals) ? o.previous.signalsObservedAt : o.placement.signalsObservedAt,
    resources: inventory(served, o.tenantId, o.seat, Boolean(o.spec.admins?.length)),
    conditions: mergeConditions(o.previous.conditions as Condition[] | undefined, conditions, o.now, o.generation),
  });
}

/**
 * Deletion: the pool drops the seat (it skips deleting tenants), the dedicated namespace is
 * deleted, and the finalizer goes once both are gone.
 */
async function finalizeTenant(ctx: ControllerContext, tenant: TenantObject, spec: TenantPlacementSpec): Promise<ReconcileResult> {
  const tenantId = tenant.metadata.name;
  if (!tenant.metadata.finalizers?.includes(FINALIZER)) return { kind: "done" };
  const seat = findSeat(ctx, spec.pool, tenantId);
  if (seat) ctx.enqueue(poolKey(spec.pool));
  const namespacePresent = await releaseNamespace(ctx, tenantId);
  const previous = tenant.status ?? {};
  if (seat || namespacePresent) {
    await applyStatus(ctx, tenant, compact({ ...previous, phase: "Deleting" }));
    return { kind: "requeueAfter", ms: 1_000 };
  }
  const open = openDecision(ctx, tenantId);
  if (open) await finishDecision(ctx, open, "RolledBack", { lastStep: "Deleted", error: "the TenantPlacement was deleted" });
  await setFinalizer(ctx, tenant, FINALIZER, false);
  ctx.events.record(tenant, "Normal", "Released", `Released every placement of ${tenantId}`);
  ctx.log.info({}, "Released tenant");
  return { kind: "done" };
}
