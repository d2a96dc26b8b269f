import { API_VERSION, TIER_RANK, type PlacementDecisionSpec, type PlacementDecisionStatus, type Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { STATUS_FIELD_MANAGER } from "../kube/resources.ts";
import type { TierChoice } from "./desiredTier.ts";
import { compact } from "./conditions.ts";
import type { ControllerContext } from "./context.ts";
import { LABELS } from "./labels.ts";
import { decisionName, decisionSequence } from "./names.ts";

export interface DecisionObject extends KubeObject {
  spec: PlacementDecisionSpec;
  status?: PlacementDecisionStatus;
}

export function decisionsOf(ctx: ControllerContext, tenantId: string): DecisionObject[] {
  return ctx.store.byLabel<DecisionObject>("PlacementDecision", LABELS.tenant, tenantId);
}

/** The tenant's move that has no outcome yet, if any (at most one is ever open). */
export function openDecision(ctx: ControllerContext, tenantId: string): DecisionObject | undefined {
  return decisionsOf(ctx, tenantId)
    .filter((d) => !d.status?.outcome)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .at(-1);
}

/**
 * The newest move among decisions (one with a `from`: a first placement is not a move), by
 * requestedAt. The operator's cooldown and the CLI's "last move" both use it.
 */
export function newestMove<T extends { spec?: { from?: string | undefined; requestedAt?: string | undefined } }>(decisions: readonly T[]): T | undefined {
  let newest: T | undefined;
  let newestAt = -Infinity;
  for (const decision of decisions) {
    if (!decision.spec?.from) continue;
    const at = Date.parse(decision.spec.requestedAt ?? "");
    if (!Number.isNaN(at) && at > newestAt) {
      newest = decision;
      newestAt = at;
    }
  }
  return newest;
}

function nextSequence(ctx: ControllerContext, tenantId: string): number {
  let max = 0;
  for (const decision of decisionsOf(ctx, tenantId)) max = Math.max(max, decisionSequence(tenantId, decision.metadata.name) ?? 0);
  return max + 1;
}

/**
 * The step a move starts in: a first placement waits for its seat ("Pending"), a move provisions
 * its target. It is implied by the decision until the next step is recorded, rather than written
 * with it: the status write it took was one write in nine of a new tenant's placement.
 */
function initialStep(spec: PlacementDecisionSpec): string {
  return spec.from === undefined ? "Pending" : "Provisioning";
}

/** The decision's step log, with the implied first step when none has been written yet. */
function stepsOf(decision: DecisionObject): NonNullable<PlacementDecisionStatus["steps"]> {
  const steps = decision.status?.steps ?? [];
  return steps.length > 0 ? [...steps] : [{ name: initialStep(decision.spec), startedAt: decision.spec.requestedAt ?? decision.metadata.creationTimestamp ?? new Date(0).toISOString() }];
}

/** Creates the immutable record of a move; its first step is implied (see initialStep). */
export async function recordDecision(
  ctx: ControllerContext,
  options: {
    tenant: KubeObject;
    tenantId: string;
    from: Tier | undefined;
    choice: TierChoice & { rule?: string };
    policy?: { name: string; generation: number };
    signals?: Record<string, number>;
    approval?: { annotation: string; fieldManager: string };
  },
): Promise<DecisionObject> {
  const { tenantId, from, choice } = options;
  const now = ctx.now().toISOString();
  const name = decisionName(tenantId, nextSequence(ctx, tenantId));
  const spec: PlacementDecisionSpec = compact({
    tenant: tenantId,
    from,
    to: choice.tier,
    trigger: choice.trigger,
    // The rule that matched and, in words, why: "tiers[namespace].promoteWhen.any[0]: monthlyRevenueUSD 21000 >= 20000".
    rule: choice.rule ? `${choice.rule}: ${choice.reason}` : choice.reason,
    signals: options.signals,
    policy: options.policy,
    approval: options.approval,
    requestedAt: now,
  }) as PlacementDecisionSpec;
  const created = await ctx.resources.create<DecisionObject>({
    apiVersion: API_VERSION,
    kind: "PlacementDecision",
    metadata: { name, labels: { [LABELS.tenant]: tenantId } },
    spec,
  });
  const object: DecisionObject = { ...created, kind: "PlacementDecision" };
  ctx.store.upsert("PlacementDecision", object);
  const verb = from === undefined ? "Placing" : TIER_RANK[choice.tier] > TIER_RANK[from] ? "Promoting" : "Demoting";
  ctx.events.record(options.tenant, "Normal", verb, `${name}: ${from ?? "(new)"} → ${choice.tier} (${choice.trigger}: ${choice.reason})`);
  return object;
}

export async function writeDecisionStatus(ctx: ControllerContext, decision: DecisionObject, status: PlacementDecisionStatus): Promise<DecisionObject> {
  const written = await ctx.resources.apply<DecisionObject>(
    { apiVersion: API_VERSION, kind: "PlacementDecision", metadata: { name: decision.metadata.name }, status: compact(status) },
    { fieldManager: STATUS_FIELD_MANAGER, subresource: "status" },
  );
  const object = { ...written, kind: "PlacementDecision" };
  ctx.store.upsert("PlacementDecision", object);
  return object;
}

/** Closes an open decision with its outcome, finishing the running step and adding the last one. */
export async function finishDecision(
  ctx: ControllerContext,
  decision: DecisionObject,
  outcome: "Succeeded" | "Failed" | "RolledBack",
  options: { lastStep: string; error?: string },
): Promise<DecisionObject> {
  const now = ctx.now().toISOString();
  const steps = stepsOf(decision).map((step) => (step.finishedAt ? step : { ...step, finishedAt: now, outcome: "Succeeded" as const }));
  steps.push({ name: options.lastStep, startedAt: now, finishedAt: now, outcome: outcome === "Succeeded" ? "Succeeded" : "Failed" });
  ctx.metrics.move(decision.spec.from ?? "none", decision.spec.to, outcome);
  return writeDecisionStatus(ctx, decision, { outcome, steps, ...(options.error ? { error: options.error } : {}) });
}

/**
 * Moves an open decision's step log to `step` (finishing the running step), and records the
 * latest error on it while the move is stuck. Writes only when something changed.
 */
export async function markStep(ctx: ControllerContext, decision: DecisionObject, step: string, error?: string): Promise<DecisionObject> {
  const steps = stepsOf(decision);
  const running = steps.at(-1);
  const sameStep = running?.name === step && !running.finishedAt;
  if (sameStep && (decision.status?.error ?? undefined) === error) return decision;
  const now = ctx.now().toISOString();
  if (!sameStep) {
    if (running && !running.finishedAt) steps[steps.length - 1] = { ...running, finishedAt: now, outcome: "Succeeded" };
    steps.push({ name: step, startedAt: now });
  }
  return writeDecisionStatus(ctx, decision, { steps, ...(error ? { error: error.slice(0, 32000) } : {}) });
}
