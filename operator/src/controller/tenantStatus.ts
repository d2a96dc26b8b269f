import type { TenantPlacementSpec, TenantPlacementStatus, Tier } from "../api/v1alpha1/index.ts";
import { CHILD_NAMES } from "./children.ts";
import { compact, jsonEqual, mergeConditions, type Condition, type ConditionInput } from "./conditions.ts";
import type { PlacementChoice } from "./decideTier.ts";
import { headOf, type DecisionObject, type TierChoice } from "./decisions.ts";
import { EGRESS_POLICY_NAME } from "./egress.ts";
import { LABELS, MANAGED_BY_VALUE, REQUIRED_COST_KEYS } from "../api/labels.ts";
import type { MigrationStatus } from "./migration.ts";
import { tenantNamespace } from "../api/names.ts";
import { REASONS } from "./reasons.ts";
import { stackOf, type InventoryItem, type StackBook } from "./stacks.ts";

/**
 * The TenantPlacement status a reconcile writes, from where it got to: pure, so what `kubectl get
 * tp -o yaml` shows is decided in one function (the report step of tenantPlacement.ts writes it).
 */

/** Kubernetes objects of the tier that serves the tenant; the AWS resources of its stacks follow. */
function inventory(tier: Tier | undefined, tenantId: string, seat: { namespace: string } | undefined, admins: boolean, aws: InventoryItem[]): TenantPlacementStatus["resources"] {
  const items: InventoryItem[] = [];
  if (tier === "pooled" && seat) items.push({ kind: "ConfigMap", name: CHILD_NAMES.registry, namespace: seat.namespace });
  if (tier !== undefined && tier !== "pooled") {
    const namespace = tenantNamespace(tenantId);
    items.push(
      { kind: "Namespace", name: namespace },
      { kind: "ResourceQuota", name: CHILD_NAMES.quota, namespace },
      { kind: "LimitRange", name: CHILD_NAMES.limits, namespace },
      { kind: "NetworkPolicy", name: CHILD_NAMES.networkPolicy, namespace },
      { kind: "NetworkPolicy", name: EGRESS_POLICY_NAME, namespace },
      ...(admins ? [{ kind: "RoleBinding", name: CHILD_NAMES.adminBinding, namespace }] : []),
      ...(stackOf(tier) ? [{ kind: "ConfigMap", name: CHILD_NAMES.connection, namespace }] : []),
    );
  }
  items.push(...aws);
  return items.length > 0 ? items : undefined;
}

/** AWS resources missing a required cost tag (or carrying a wrong value), for TagsCompliant. */
function untagged(aws: readonly InventoryItem[], tenantId: string, costCenter: string): string[] {
  const expected: Record<string, string> = { [LABELS.tenant]: tenantId, [LABELS.costCenter]: costCenter, [LABELS.managedBy]: MANAGED_BY_VALUE };
  return aws
    .filter((item) => REQUIRED_COST_KEYS.some((key) => item.tags?.[key] === undefined) || Object.entries(expected).some(([key, value]) => item.tags?.[key] !== value))
    .map((item) => `${item.kind} ${item.name ?? item.id ?? ""}`.trim());
}

export interface StatusInput {
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
  conditions: readonly ConditionInput[];
  moving: boolean;
  placement: PlacementChoice;
  stacks: StackBook;
  migration: MigrationStatus | undefined;
}

/** Ready, Promoting, TagsCompliant and Degraded, then the policy and signal problems that hold now. */
function statusConditions(o: StatusInput): ConditionInput[] {
  const { served, choice, phase } = o;
  const hold = o.placement.hold;
  const degraded = o.conditions.find((c) => c.type === "Degraded");
  // A tenant whose move failed is still served where it was: Ready says so, Degraded says why.
  const ready = served !== undefined;
  const servingStack = o.stacks.entry(stackOf(served));
  const planNote = servingStack?.planned ? ` (stack ${servingStack.name} is a plan: nothing was created in AWS)` : "";
  const aws = o.stacks.inventory();
  const missingTags = untagged(aws, o.tenantId, o.spec.costCenter);
  return [
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason: ready ? (phase === "Active" ? REASONS.served : phase === "Failed" ? REASONS.servedMoveFailed : REASONS.servedWhileMoving) : (phase ?? "Pending"),
      message: ready ? `Served from the ${served} tier${served === "pooled" ? ` in ${o.seat?.namespace}` : ""}${planNote}` : "Not placed yet",
    },
    o.moving && served !== choice.tier
      ? { type: "Promoting", status: "True", reason: phase ?? "Pending", message: `Moving ${served ?? "(new)"} → ${choice.tier}: ${choice.reason}` }
      : hold
        ? { type: "Promoting", status: "False", reason: hold.why, message: hold.message }
        : { type: "Promoting", status: "False", reason: REASONS.settled, message: `At the desired tier ${choice.tier}` },
    missingTags.length > 0
      ? { type: "TagsCompliant", status: "False", reason: REASONS.missingTags, message: `AWS resources without the required cost tags: ${missingTags.join(", ")}` }
      : {
          type: "TagsCompliant",
          status: "True",
          reason: served === "pooled" ? REASONS.pooledByShare : REASONS.labelled,
          message:
            served === "pooled"
              ? "Pooled cost is apportioned by usage share; the registry entry carries the cost center"
              : `Every object carries the required cost labels${aws.length > 0 ? ` and all ${aws.length} AWS resources the required cost tags` : ""}`,
        },
    degraded ?? { type: "Degraded", status: "False", reason: REASONS.asExpected, message: "No problems" },
    // Signal and policy problems: present only while they hold, so they never linger after a fix.
    ...o.conditions.filter((c) => c.type !== "Degraded"),
  ];
}

export function buildStatus(o: StatusInput): Record<string, unknown> {
  const { served, choice } = o;
  return compact({
    ...o.previous,
    observedGeneration: o.generation,
    phase: o.phase,
    tier: served,
    targetTier: served !== choice.tier ? choice.tier : undefined,
    pool: served === "pooled" ? o.spec.pool : undefined,
    namespace: served === "pooled" ? o.seat?.namespace : served !== undefined ? tenantNamespace(o.tenantId) : undefined,
    lastDecision: o.decision?.metadata.name ?? o.previous.lastDecision,
    decisionHead: o.decision ? headOf(o.decision) : o.previous.decisionHead,
    recommendation: o.placement.recommendation,
    signals: o.placement.signals,
    // Only moved when the values change, so an unchanged evaluation writes nothing.
    signalsObservedAt: o.placement.signals && jsonEqual(o.placement.signals, o.previous.signals) ? o.previous.signalsObservedAt : o.placement.signalsObservedAt,
    resources: inventory(served, o.tenantId, o.seat, Boolean(o.spec.admins?.length), o.stacks.inventory()),
    stacks: o.stacks.status(),
    migration: o.migration,
    conditions: mergeConditions(o.previous.conditions as Condition[] | undefined, statusConditions(o), o.now, o.generation),
  });
}
