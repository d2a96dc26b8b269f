import { API_VERSION, TIER_RANK, type PlacementDecisionSpec, type PlacementDecisionStatus, type Tier, type Trigger } from "../api/v1alpha1/index.ts";
import { decisionDigest, type ChainHead, type ChainLink } from "../audit/chain.ts";
import type { KubeObject } from "../kube/client.ts";
import { STATUS_FIELD_MANAGER } from "../kube/resources.ts";
import { compact } from "./conditions.ts";
import type { ControllerContext } from "./context.ts";
import { LABELS } from "../api/labels.ts";
import { decisionName, decisionSequence } from "../api/names.ts";
import { EVENT_REASONS } from "./reasons.ts";

/** Where a tenant should be served and why: what a decision records as to, trigger and rule. */
export interface TierChoice {
  tier: Tier;
  trigger: Trigger;
  reason: string;
}

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

/** The chain head of a decision: its name and the digest of its name and spec as stored. */
export function headOf(decision: DecisionObject): ChainHead {
  return { name: decision.metadata.name, digest: decisionDigest(decision.metadata.name, decision.spec) };
}

/**
 * What a new decision links to, and its sequence number. The newest of the tenant's decisions in
 * the store and the head its status names: normally the same decision. When the status names a
 * newer one (its decision was deleted) the link is to the head as the status recorded it, so the
 * deletion stays visible to `landlord audit verify` instead of the sequence number being reused;
 * when the store has a newer one (the operator stopped between creating it and writing the
 * status), the link is to that one.
 */
function chainTail(ctx: ControllerContext, tenantId: string, head: ChainHead | undefined): { sequence: number; link?: ChainLink } {
  let newest: DecisionObject | undefined;
  let max = 0;
  for (const decision of decisionsOf(ctx, tenantId)) {
    const sequence = decisionSequence(tenantId, decision.metadata.name) ?? 0;
    if (sequence > max) {
      max = sequence;
      newest = decision;
    }
  }
  const headSequence = head ? (decisionSequence(tenantId, head.name) ?? 0) : 0;
  if (head && headSequence >= max) {
    const stored = ctx.store.get<DecisionObject>("PlacementDecision", head.name);
    const outcome = stored?.status?.outcome;
    return { sequence: headSequence + 1, link: { ...head, ...(outcome ? { outcome } : {}) } };
  }
  if (!newest) return { sequence: 1 };
  const outcome = newest.status?.outcome;
  return { sequence: max + 1, link: { ...headOf(newest), ...(outcome ? { outcome } : {}) } };
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
    approval?: { annotation: string };
    actor?: string;
    reason?: string;
    /** The tenant's status.decisionHead: the chain continues from it. */
    head?: ChainHead;
  },
): Promise<DecisionObject> {
  const { tenantId, from, choice } = options;
  const now = ctx.now().toISOString();
  const tail = chainTail(ctx, tenantId, options.head);
  const name = decisionName(tenantId, tail.sequence);
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
    actor: options.actor,
    reason: options.reason,
    previous: tail.link,
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
  const verb = from === undefined ? EVENT_REASONS.placing : TIER_RANK[choice.tier] > TIER_RANK[from] ? EVENT_REASONS.promoting : EVENT_REASONS.demoting;
  const who = options.actor ? `; by ${options.actor}${options.reason ? `: ${options.reason}` : ""}` : "";
  ctx.events.record(options.tenant, "Normal", verb, `${name}: ${from ?? "(new)"} → ${choice.tier} (${choice.trigger}: ${choice.reason}${who})`);
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
