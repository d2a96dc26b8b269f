import { placementPolicySpec, TIER_RANK, type PlacementPolicySpec, type TenantPlacementSpec, type Tier, type Trigger } from "../api/v1alpha1/index.ts";
import { evaluate, type SignalReading } from "../policy/engine.ts";
import { PoolMembers } from "../policy/poolMembers.ts";
import { readSignals } from "../policy/signals.ts";
import { actorAndReason } from "../audit/annotations.ts";
import { CHILD_NAMES } from "./children.ts";
import type { ConditionInput } from "./conditions.ts";
import type { ControllerContext } from "./context.ts";
import { decisionsOf, finishDecision, newestMove, openDecision, recordDecision, type DecisionObject, type TierChoice } from "./decisions.ts";
import { parsedSpec } from "./parsedSpec.ts";
import { APPROVE_ANNOTATION } from "../api/labels.ts";
import { tenantNamespace } from "../api/names.ts";
import { REASONS } from "./reasons.ts";
import type { TenantObject } from "./tenantPlacement.ts";

/**
 * Where a tenant's tier is decided: promotion, demotion and first placement, all here. The first
 * step of every tenant reconcile (`decide`) asks `choosePlacement` where the tenant should be
 * served, then records a PlacementDecision when that differs from where it is (or calls off or
 * supersedes the open one). Everything after (tenantPlacement.ts) only carries the decision out.
 *
 * What decides, in order: the spec (Pinned, floor, ceiling: always wins), the policy's rules over
 * the tenant's signals (policy/engine.ts `evaluate`: pure thresholds, hysteresis, stabilization,
 * cooldown, approval), then this file's cluster-wide limits (rateLimit) and the rule that a move
 * under way is carried through while the spec still allows it.
 */

export interface PlacementChoice {
  choice: TierChoice & { rule?: string };
  approval?: { annotation: string };
  /** Who caused the move and why (the approval's or the spec.tier change's stamps), for the decision. */
  actor?: string;
  reason?: string;
  policy?: { name: string; generation: number };
  recommendation?: { tier: Tier; reason: string; since: string };
  signals?: Record<string, number>;
  signalsObservedAt?: string;
  /** SignalsStale / SignalsUnavailable / PolicyResolved problems, present only while they hold. */
  conditions: ConditionInput[];
  /** A move the policy holds back (stabilization, cooldown, approval, rate limit): Promoting=False says why. */
  hold?: { why: string; message: string };
  /** When to look again without any event (a stabilization window or cooldown ending). */
  retryAt?: number;
}

const HOUR_MS = 3_600_000;

/**
 * Cluster-wide pacing of policy moves, counted over the tenants that follow the same policy (so
 * each policy's limits mean what they say): moves still in progress, and moves requested in the
 * last hour.
 */
function rateLimited(ctx: ControllerContext, policyName: string, policy: PlacementPolicySpec, tenantId: string, now: number): string | undefined {
  const limits = policy.rateLimit;
  if (!limits) return undefined;
  let inFlight = 0;
  let lastHour = 0;
  for (const decision of ctx.store.list<DecisionObject>("PlacementDecision")) {
    if (!decision.spec.from || decision.spec.policy?.name !== policyName || decision.spec.tenant === tenantId) continue;
    if (!decision.status?.outcome) inFlight += 1;
    if (now - Date.parse(decision.spec.requestedAt) < HOUR_MS) lastHour += 1;
  }
  if (limits.maxConcurrentMoves !== undefined && inFlight >= limits.maxConcurrentMoves) {
    return `${inFlight} move(s) under policy ${policyName} are in progress; rateLimit.maxConcurrentMoves is ${limits.maxConcurrentMoves}`;
  }
  if (limits.maxMovesPerHour !== undefined && lastHour >= limits.maxMovesPerHour) {
    return `${lastHour} move(s) under policy ${policyName} were requested in the last hour; rateLimit.maxMovesPerHour is ${limits.maxMovesPerHour}`;
  }
  return undefined;
}

/**
 * Sum of each signal over every tenant assigned to the pool (spec.pool), whatever tier serves it
 * now: the population a share is measured against must not shrink as tenants are promoted out,
 * or the last one left would always hold 100%. The tenant itself counts with its own readings;
 * the others with what readSignals would give them: their reported value, their cached Prometheus
 * reading, and nothing for a Kubernetes source (only a tenant's own quota is read). The members
 * come from an index kept by the store's change feed (PoolMembers), with each pool's sums cached
 * until a member or a value changes: not a scan of every tenant's object per evaluation.
 */
function poolTotals(ctx: ControllerContext, pool: string, policy: PlacementPolicySpec, self: string, selfReadings: Record<string, SignalReading>): Record<string, number> {
  const shareSignals = new Set<string>();
  for (const rule of policy.tiers ?? []) {
    for (const c of [...(rule.promoteWhen?.any ?? []), ...(rule.promoteWhen?.all ?? []), ...(rule.demoteWhen?.any ?? []), ...(rule.demoteWhen?.all ?? [])]) {
      if (c.share) shareSignals.add(c.signal);
    }
  }
  if (shareSignals.size === 0) return {};
  // As in readSignals, a name declared twice is read from its last declaration.
  const sources = new Map<string, NonNullable<PlacementPolicySpec["signals"]>[number]["source"]>();
  for (const signal of policy.signals ?? []) sources.set(signal.name, signal.source);
  const index = PoolMembers.of(ctx.store);
  const members = index.members(pool);
  const totals: Record<string, number> = {};
  for (const name of shareSignals) {
    let total: number | undefined;
    const own = selfReadings[name];
    if (own && "value" in own) total = own.value;
    const source = sources.get(name);
    if (source?.reported) {
      const all = index.sum(pool, name);
      const mine = members.get(self)?.[name];
      const others = all.count - (typeof mine === "number" ? 1 : 0);
      if (all.integral && others > 0) {
        // Exact: integers below 2^53. The common case, and O(1) per evaluation.
        total = (total ?? 0) + (all.total - (typeof mine === "number" ? mine : 0));
      } else if (others > 0) {
        // Fractional values: added one by one, as they always were, so the result does not depend
        // on a subtraction's rounding.
        for (const [other, reported] of members) {
          const value = other === self ? undefined : reported?.[name];
          if (typeof value === "number") total = (total ?? 0) + value;
        }
      }
    } else if (source?.prometheus) {
      for (const other of members.keys()) {
        const reading = other === self ? undefined : ctx.prometheus.reading(other, name);
        if (reading && "value" in reading) total = (total ?? 0) + reading.value;
      }
    }
    if (total !== undefined) totals[name] = total;
  }
  return totals;
}

/**
 * Where the tenant should be served, by its policy (signals, thresholds, hysteresis, approval,
 * rate limits) within what its spec allows (Pinned, floor, ceiling). A move already under way is
 * carried through unless the spec itself now asks for something else.
 */
export function choosePlacement(ctx: ControllerContext, tenant: TenantObject, spec: TenantPlacementSpec, open: DecisionObject | undefined): PlacementChoice {
  const now = ctx.now().getTime();
  const served = tenant.status?.tier;
  const conditions: ConditionInput[] = [];
  const policyObject = ctx.store.get("PlacementPolicy", spec.policyRef);
  const policy = policyObject ? parsedSpec(placementPolicySpec, policyObject) : undefined;
  if (!policyObject) {
    conditions.push({ type: "PolicyResolved", status: "False", reason: REASONS.policyNotFound, message: `PlacementPolicy ${spec.policyRef} does not exist; only spec.tier (Pinned, floor, ceiling) decides` });
  } else if (!policy) {
    conditions.push({ type: "PolicyResolved", status: "False", reason: REASONS.invalidPolicy, message: `PlacementPolicy ${spec.policyRef} is invalid; only spec.tier decides` });
  }

  const quota = served && served !== "pooled" ? ctx.store.get("ResourceQuota", CHILD_NAMES.quota, tenantNamespace(spec.tenantId)) : undefined;
  const readings = policy ? readSignals(policy, { now, tenant, servedTier: served, quota, prometheus: (s) => ctx.prometheus.reading(spec.tenantId, s) }) : {};
  const lastMove = newestMove(decisionsOf(ctx, spec.tenantId));
  const approvalValue = tenant.metadata.annotations?.[APPROVE_ANNOTATION];
  const result = evaluate({
    now,
    policy,
    tenant: {
      tenantId: spec.tenantId,
      tier: spec.tier,
      served,
      ...(approvalValue ? { approval: approvalValue } : {}),
      ...(tenant.status?.recommendation ? { previousRecommendation: tenant.status.recommendation } : {}),
      ...(lastMove ? { lastMoveAt: Date.parse(lastMove.spec.requestedAt) } : {}),
    },
    signals: readings,
    poolTotals: policy ? poolTotals(ctx, spec.pool, policy, spec.tenantId, readings) : {},
  });

  for (const problem of result.signalProblems) {
    conditions.push({ type: problem.problem === "Stale" ? "SignalsStale" : "SignalsUnavailable", status: "True", reason: problem.problem, message: `${problem.signal}: ${problem.message}` });
  }
  // One condition per type: merge messages of several problems of one kind.
  const merged = new Map<string, ConditionInput>();
  for (const c of conditions) {
    const prior = merged.get(c.type);
    merged.set(c.type, prior ? { ...prior, message: `${prior.message}; ${c.message}` } : c);
  }

  const out: PlacementChoice = { choice: { tier: served ?? spec.tier.floor, trigger: "Policy", reason: "stays" }, conditions: [...merged.values()] };
  if (policyObject && policy) out.policy = { name: spec.policyRef, generation: policyObject.metadata.generation ?? 0 };
  if (result.recommendation) out.recommendation = { tier: result.recommendation.tier, reason: result.recommendation.reason, since: result.recommendation.since };
  if (Object.keys(result.signals).length > 0) {
    out.signals = result.signals;
    out.signalsObservedAt = new Date(now).toISOString();
  }

  const action = result.action;
  if (action.kind === "move") {
    const limited = action.trigger === "Policy" || action.trigger === "Manual" ? (policy && served ? rateLimited(ctx, spec.policyRef, policy, spec.tenantId, now) : undefined) : undefined;
    if (limited && open?.spec.to !== action.tier) {
      out.hold = { why: REASONS.rateLimited, message: `waiting for a move slot to go to ${action.tier}: ${limited}` };
      out.retryAt = now + 10_000;
    } else {
      out.choice = { tier: action.tier, trigger: action.trigger as Trigger, reason: action.reason, rule: action.rule };
      if (action.approval) out.approval = { annotation: action.approval.annotation };
    }
  } else if (action.kind === "wait") {
    out.hold = { why: action.why, message: action.message };
    if (action.retryAt !== undefined) out.retryAt = action.retryAt;
  } else if (served === undefined) {
    out.choice = { tier: spec.tier.floor, trigger: "Policy", reason: action.reason };
  }

  // Who and why come from the API server's stamps, never from managedFields: a field manager is
  // whatever name the client chose to send.
  Object.assign(out, actorAndReason(tenant.metadata.annotations, out.choice.trigger));

  // A policy move already requested is carried through while the spec still allows its target:
  // signals dipping mid-move must not make it flap. A pin, floor or ceiling always wins.
  const allowed = (t: Tier): boolean => TIER_RANK[t] >= TIER_RANK[spec.tier.floor] && TIER_RANK[t] <= TIER_RANK[spec.tier.ceiling];
  const specDecides = spec.tier.mode === "Pinned" || (action.kind === "move" && action.trigger !== "Policy" && action.trigger !== "Manual");
  if (open && open.spec.to !== out.choice.tier && !specDecides && allowed(open.spec.to)) {
    out.choice = { tier: open.spec.to, trigger: open.spec.trigger, reason: open.spec.rule ?? "move in progress" };
  }
  return out;
}

export type Decided =
  /** A new decision was recorded: its work starts in a pass of its own (see reconcileTenant). */
  | { kind: "recorded"; decision: DecisionObject }
  /** Where the tenant goes, and the open decision moving it there (none while it stays). */
  | { kind: "decided"; placement: PlacementChoice; decision: DecisionObject | undefined };

/**
 * The decide step: the placement this reconcile works towards, and the decision that records the
 * move. A move called off (a new pin, a failed target) while the tenant is still where it was is
 * rolled back; one whose target changed is superseded by a new decision.
 */
export async function decide(ctx: ControllerContext, tenant: TenantObject, spec: TenantPlacementSpec, tenantId: string): Promise<Decided> {
  const previous = tenant.status ?? {};
  const served = previous.tier;
  let open = openDecision(ctx, tenantId);
  const placement = choosePlacement(ctx, tenant, spec, open);
  const choice = placement.choice;
  if (open && served === choice.tier && open.spec.to !== choice.tier) {
    await finishDecision(ctx, open, "RolledBack", { lastStep: "CalledOff", error: `called off: the tenant stays served from ${served}` });
    open = undefined;
  }
  if (served === choice.tier || open?.spec.to === choice.tier) return { kind: "decided", placement, decision: open };
  if (open) await finishDecision(ctx, open, "RolledBack", { lastStep: "Superseded", error: `superseded: the tenant now goes to ${choice.tier}` });
  const decision = await recordDecision(ctx, {
    tenant,
    tenantId,
    from: served,
    choice,
    ...(placement.policy ? { policy: placement.policy } : {}),
    ...(placement.signals ? { signals: placement.signals } : {}),
    ...(placement.approval ? { approval: placement.approval } : {}),
    ...(placement.actor ? { actor: placement.actor } : {}),
    ...(placement.reason ? { reason: placement.reason } : {}),
    ...(previous.decisionHead ? { head: previous.decisionHead } : {}),
  });
  return { kind: "recorded", decision };
}
