import { TIER_RANK, TIERS, type PlacementPolicySpec, type Tier, type Trigger } from "../api/v1alpha1/index.ts";
import { APPROVE_ANNOTATION } from "../api/labels.ts";
import { AUDIT_ANNOTATIONS } from "../audit/annotations.ts";
import {
  compileRules,
  evaluateWhen,
  explainWhen,
  problemsOf,
  readValues,
  TRUE,
  UNKNOWN,
  type CompiledPolicy,
  type CompiledWhen,
  type SignalProblem,
  type SignalReading,
} from "./rules.ts";

/**
 * The policy engine: where one tenant should be, and whether to move it now. Pure, synchronous and
 * I/O-free; the clock is `input.now`. The decisions the brief left open, in one place:
 *
 * - Unknown signals (missing, failing, stale, share of a zero pool) are Kleene "unknown". The
 *   recommendation is acted on only when it is *determined*: every possible value of the unknown
 *   signals would give the same (clamped) tier. Otherwise the tenant stays, the signals that left
 *   a consulted rule undetermined are returned in `signalProblems`, and a previous recommendation
 *   that is still one of the possible outcomes is kept with its `since` (its timer keeps running,
 *   but it cannot act until the signals are known again). One that is no longer possible is dropped.
 * - A first placement (served undefined) is not a move: no stabilization and no cooldown. It goes to
 *   the floor unless the determined recommendation is higher; then straight there. Manual promotion
 *   approval still applies (Manual means no tenant enters a dedicated tier without a person saying
 *   so): without the annotation the tenant starts at its floor, and the recommendation stays, so
 *   the promotion follows as soon as it is approved. Undetermined signals: the floor.
 * - A served tier outside [floor, ceiling] is corrected to the nearest bound at once (Floor /
 *   Ceiling); further policy moves then go through hysteresis as usual.
 * - Pinned tenants are not evaluated: no recommendation, no signal problems.
 * - Stabilization and cooldown both apply; when both hold a move back, the wait names the one that
 *   ends later and `retryAt` is that time. Approval is asked for after both have passed (the
 *   Stabilizing / Cooldown message says an approval will be needed). An approval never shortens them.
 * - A stored `since` that does not parse restarts the timer at `now`; one in the future (clock skew
 *   between replicas) is taken as `now`. Unknown signals plus an unparsable since: nothing kept.
 */

export type { SignalReading, SignalProblem, CompiledPolicy } from "./rules.ts";

export interface EngineInput {
  now: number;
  /** undefined: no policy found; the tenant is placed by its spec alone (pin, floor, ceiling). */
  policy: PlacementPolicySpec | CompiledPolicy | undefined;
  tenant: {
    tenantId: string;
    tier: { mode: "Auto" | "Pinned"; pinned?: Tier; floor: Tier; ceiling: Tier };
    /** Where the tenant is served now; undefined = never placed. */
    served: Tier | undefined;
    /** Value of the landlord.dev/approve-tier annotation, if any. */
    approval?: string;
    previousRecommendation?: { tier: Tier; reason: string; since: string };
    /** When the newest move was requested (ms), for cooldown. */
    lastMoveAt?: number;
  };
  signals: Record<string, SignalReading>;
  /** Per signal, the sum over the tenant's pool (for share: true). */
  poolTotals?: Record<string, number>;
}

export type WaitReason = "Stabilizing" | "Cooldown" | "AwaitingApproval";

export type EngineAction =
  | { kind: "stay"; reason: string }
  | { kind: "move"; tier: Tier; trigger: Trigger; reason: string; rule: string; approval?: { annotation: string } }
  | { kind: "wait"; tier: Tier; why: WaitReason; message: string; retryAt?: number };

export interface Recommendation {
  tier: Tier;
  reason: string;
  rule: string;
  since: string;
}

export interface EngineResult {
  /** What the policy recommends now (clamped to floor/ceiling), `since` kept while the tier is unchanged; undefined when it recommends staying. */
  recommendation?: Recommendation;
  action: EngineAction;
  /** Signal values the evaluation used, by name, plus `<name>Share` fractions for share rules. */
  signals: Record<string, number>;
  /** Signals that left a consulted rule undetermined: the caller sets SignalsStale / SignalsUnavailable. */
  signalProblems: SignalProblem[];
}

// Local copies of the imported tables: the hot path reads them per tenant, and some loaders (tsx,
// vitest) turn every read of an imported binding into a getter call.
const TIER_NAMES: readonly Tier[] = [...TIERS];
const RANKS: Readonly<Record<Tier, number>> = { ...TIER_RANK };
const NO_RULE = "no promotion or demotion rule holds";
const STAY_NO_RULE: readonly string[] = TIER_NAMES.map((t) => `stays ${t}: ${NO_RULE}`);

const compiled = new WeakMap<PlacementPolicySpec, CompiledPolicy>();

/** Compiles a policy once per spec object (cached by identity); evaluate accepts either form. */
export function compilePolicy(policy: PlacementPolicySpec | CompiledPolicy): CompiledPolicy {
  if (isCompiled(policy)) return policy;
  let done = compiled.get(policy);
  if (!done) {
    done = compileRules(policy);
    compiled.set(policy, done);
  }
  return done;
}

function isCompiled(policy: PlacementPolicySpec | CompiledPolicy): policy is CompiledPolicy {
  return (policy as { kind?: unknown }).kind === "CompiledPolicy";
}

// ---- the search over the policy's rules ------------------------------------------------------

/**
 * Result of one search, in module scratch space (evaluation is synchronous, so one is enough and
 * the hot path allocates nothing). `possible` is a bitmask of the clamped tiers the recommendation
 * could be, over all values of the unknown signals; `primary` is the raw tier on the path where
 * every unknown rule is taken as false (always one of the possibilities).
 */
const scratch = {
  possible: 0,
  primary: 0,
  /** Rank whose promoteWhen produced `primary`, or -1. */
  promotedBy: -1,
  /** Whether `primary` came from the served tier's demoteWhen. */
  demoted: false,
  /** The rule that first made each clamped rank possible. */
  via: [undefined, undefined, undefined, undefined] as (CompiledWhen | undefined)[],
  unknown: [] as CompiledWhen[],
  unknownCount: 0,
  lo: 0,
  hi: 3,
};

function clampRank(rank: number, lo: number, hi: number): number {
  return rank < lo ? lo : rank > hi ? hi : rank;
}

function possible(raw: number, via: CompiledWhen | undefined): void {
  const rank = clampRank(raw, scratch.lo, scratch.hi);
  const bit = 1 << rank;
  if ((scratch.possible & bit) === 0) {
    scratch.possible |= bit;
    scratch.via[rank] = via;
  }
}

function noteUnknown(when: CompiledWhen): void {
  scratch.unknown[scratch.unknownCount++] = when;
}

/**
 * From served rank `s`: the highest tier above with a true promoteWhen; else, if s's demoteWhen is
 * true, the highest tier below with a true promoteWhen, or pooled; else s. Unknown rules branch.
 */
function search(policy: CompiledPolicy, s: number, lo: number, hi: number): void {
  scratch.possible = 0;
  scratch.promotedBy = -1;
  scratch.demoted = false;
  scratch.unknownCount = 0;
  scratch.lo = lo;
  scratch.hi = hi;
  for (let t = TIER_NAMES.length - 1; t > s; t--) {
    const when = policy.promote[t];
    if (!when) continue;
    const truth = evaluateWhen(policy, when);
    if (truth === TRUE) {
      possible(t, when);
      scratch.primary = t;
      scratch.promotedBy = t;
      return;
    }
    if (truth === UNKNOWN) {
      possible(t, when);
      noteUnknown(when);
    }
  }
  const demote = policy.demote[s];
  const truth = demote ? evaluateWhen(policy, demote) : 0;
  if (truth !== TRUE) {
    possible(s, undefined);
    scratch.primary = s;
  }
  if (!demote || truth === 0) return;
  if (truth === UNKNOWN) noteUnknown(demote);
  const onPrimary = truth === TRUE;
  for (let t = s - 1; t >= 1; t--) {
    const when = policy.promote[t];
    if (!when) continue;
    const below = evaluateWhen(policy, when);
    if (below === TRUE) {
      possible(t, demote);
      if (onPrimary) {
        scratch.primary = t;
        scratch.demoted = true;
        scratch.promotedBy = t;
      }
      return;
    }
    if (below === UNKNOWN) {
      possible(t, demote);
      noteUnknown(when);
    }
  }
  possible(0, demote);
  if (onPrimary) {
    scratch.primary = 0;
    scratch.demoted = true;
  }
}

/** Reason and rule of the primary path, after a search; only called when it is determined. */
function explainPrimary(policy: CompiledPolicy, s: number, clamped: number): { reason: string; rule: string } {
  let reason: string;
  let rule: string;
  if (scratch.demoted) {
    ({ reason, rule } = explainWhen(policy, policy.demote[s] as CompiledWhen));
    if (scratch.promotedBy >= 0) {
      reason += `; ${TIER_NAMES[scratch.promotedBy]} still holds: ${explainWhen(policy, policy.promote[scratch.promotedBy] as CompiledWhen).reason}`;
    }
  } else if (scratch.promotedBy >= 0) {
    ({ reason, rule } = explainWhen(policy, policy.promote[scratch.promotedBy] as CompiledWhen));
  } else {
    reason = NO_RULE;
    rule = "";
  }
  if (clamped < scratch.primary) reason += ` (capped at ceiling ${TIER_NAMES[clamped]})`;
  else if (clamped > scratch.primary) reason += ` (raised to floor ${TIER_NAMES[clamped]})`;
  return { reason, rule };
}

function collectProblems(policy: CompiledPolicy, input: EngineInput): SignalProblem[] {
  const byName = new Map<string, SignalProblem>();
  for (let i = 0; i < scratch.unknownCount; i++) problemsOf(policy, input, scratch.unknown[i] as CompiledWhen, byName);
  return [...byName.values()].sort((a, b) => (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0));
}

// ---- results ---------------------------------------------------------------------------------

function usedSignals(policy: CompiledPolicy | undefined, input: EngineInput): Record<string, number> {
  const out: Record<string, number> = {};
  if (!policy) {
    for (const [name, reading] of Object.entries(input.signals)) {
      if ("value" in reading && Number.isFinite(reading.value)) out[name] = reading.value;
    }
    return out;
  }
  const { values, signalNames, shareSignals } = policy;
  for (let i = 0; i < signalNames.length; i++) {
    const value = values[i] as number;
    if (!Number.isNaN(value)) out[signalNames[i] as string] = value;
  }
  for (let j = 0; j < shareSignals.length; j++) {
    const value = values[signalNames.length + j] as number;
    if (!Number.isNaN(value)) out[(shareSignals[j] as CompiledPolicy["shareSignals"][number]).label] = value;
  }
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A stored since, if it parses; one in the future (another replica's clock) counts from now. */
function keptSince(since: string, now: number): string | undefined {
  const at = Date.parse(since);
  if (Number.isNaN(at)) return undefined;
  return at > now ? iso(now) : since;
}

function annotateCommand(tenantId: string, tier: Tier, overwrite: boolean): string {
  // The reason is required at admission (the chart's policy): the command says so up front.
  return `kubectl annotate tp ${tenantId} ${APPROVE_ANNOTATION}=${tier} ${AUDIT_ANNOTATIONS.approveReason}='<why>'${overwrite ? " --overwrite" : ""}`;
}

/** Why an approval annotation that does not name the recommendation does nothing, or "". */
function ignoredApproval(approval: string | undefined, recommended: Tier | undefined, served: Tier | undefined): string {
  if (approval === undefined || approval === recommended || (recommended === undefined && approval === served)) return "";
  const wants = recommended ? `the policy recommends ${recommended}` : "the policy recommends no move";
  return `; ${APPROVE_ANNOTATION}=${approval} does nothing: ${wants}`;
}

function placeAtFloor(floor: Tier, extra: string): EngineAction {
  if (floor === "pooled") return { kind: "move", tier: floor, trigger: "Policy", reason: `new tenant placed in the pool${extra}`, rule: "spec.tier.floor" };
  return { kind: "move", tier: floor, trigger: "Floor", reason: `new tenant placed at its floor ${floor}${extra}`, rule: "spec.tier.floor" };
}

/**
 * Evaluates one tenant against its policy: the recommendation, and what to do about it now.
 * Never reads the clock; deterministic for equal inputs.
 */
export function evaluate(input: EngineInput): EngineResult {
  const { now, tenant } = input;
  const policy = input.policy === undefined ? undefined : compilePolicy(input.policy);
  if (policy) readValues(policy, input);
  const signals = usedSignals(policy, input);
  const { mode, pinned, floor, ceiling } = tenant.tier;
  const served = tenant.served;

  if (mode === "Pinned" && pinned) {
    const action: EngineAction =
      served === pinned
        ? { kind: "stay", reason: `spec.tier is pinned to ${pinned}` }
        : { kind: "move", tier: pinned, trigger: "Pinned", reason: `spec.tier is pinned to ${pinned}`, rule: "spec.tier.pinned" };
    return { action, signals, signalProblems: [] };
  }

  const lo = RANKS[floor];
  const hi = Math.max(RANKS[ceiling], lo);
  const servedRank = served === undefined ? -1 : RANKS[served];
  /** Where the tenant is, or would be without a recommendation: served clamped, or the floor. */
  const reference = servedRank < 0 ? lo : clampRank(servedRank, lo, hi);

  if (!policy) {
    let action: EngineAction;
    if (served === undefined) action = placeAtFloor(floor, "");
    else if (servedRank < lo) action = { kind: "move", tier: floor, trigger: "Floor", reason: `spec.tier.floor is ${floor}`, rule: "spec.tier.floor" };
    else if (servedRank > hi) action = { kind: "move", tier: TIER_NAMES[hi] as Tier, trigger: "Ceiling", reason: `spec.tier.ceiling is ${ceiling}`, rule: "spec.tier.ceiling" };
    else action = { kind: "stay", reason: `no PlacementPolicy; stays ${served}` };
    return { action, signals, signalProblems: [] };
  }

  const s = servedRank < 0 ? 0 : servedRank;
  search(policy, s, lo, hi);
  const determined = (scratch.possible & (scratch.possible - 1)) === 0;
  const previous = tenant.previousRecommendation;
  let recommendation: Recommendation | undefined;
  let signalProblems: SignalProblem[] = [];
  if (determined) {
    const rank = clampRank(scratch.primary, lo, hi);
    if (rank !== reference) {
      const tier = TIER_NAMES[rank] as Tier;
      const { reason, rule } = explainPrimary(policy, s, rank);
      recommendation = { tier, reason, rule, since: (previous?.tier === tier ? keptSince(previous.since, now) : undefined) ?? iso(now) };
    }
  } else {
    signalProblems = collectProblems(policy, input);
    const rank = previous ? RANKS[previous.tier] : undefined;
    const since = previous ? keptSince(previous.since, now) : undefined;
    if (previous && since && rank !== undefined && rank !== reference && (scratch.possible & (1 << rank)) !== 0) {
      recommendation = { tier: previous.tier, reason: previous.reason, rule: scratch.via[rank]?.rule ?? "", since };
    }
  }
  const action = decide(policy, input, { servedRank, lo, hi, determined, recommendation, signalProblems });
  return recommendation ? { recommendation, action, signals, signalProblems } : { action, signals, signalProblems };
}

interface Evaluated {
  servedRank: number;
  lo: number;
  hi: number;
  determined: boolean;
  recommendation: Recommendation | undefined;
  signalProblems: SignalProblem[];
}

/** The action for an Auto tenant, once the recommendation is known. */
function decide(policy: CompiledPolicy, input: EngineInput, e: Evaluated): EngineAction {
  const { tenant } = input;
  const { floor, ceiling } = tenant.tier;
  const { servedRank, lo, hi, recommendation } = e;
  if (servedRank < 0) {
    if (!e.determined) return placeAtFloor(floor, `; ${unknownNote(e.signalProblems)}`);
    if (!recommendation) return placeAtFloor(floor, "");
    if (policy.manualPromotion && tenant.approval !== recommendation.tier) {
      const command = annotateCommand(tenant.tenantId, recommendation.tier, tenant.approval !== undefined);
      return placeAtFloor(floor, `; ${recommendation.tier} is recommended (${recommendation.reason}) and promotion needs approval: ${command}`);
    }
    return move(policy, recommendation, tenant.approval, true);
  }
  if (servedRank < lo) return { kind: "move", tier: floor, trigger: "Floor", reason: `spec.tier.floor is ${floor}`, rule: "spec.tier.floor" };
  if (servedRank > hi) return { kind: "move", tier: TIER_NAMES[hi] as Tier, trigger: "Ceiling", reason: `spec.tier.ceiling is ${ceiling}`, rule: "spec.tier.ceiling" };
  const served = TIER_NAMES[servedRank] as Tier;
  if (!e.determined) {
    const holding = recommendation ? `; the recommendation ${recommendation.tier} (since ${recommendation.since}) waits for them` : "";
    return { kind: "stay", reason: `${unknownNote(e.signalProblems)}: stays ${served}${holding}` };
  }
  if (!recommendation) {
    const why = scratch.primary !== servedRank ? explainPrimary(policy, servedRank, servedRank).reason : NO_RULE;
    const ignored = ignoredApproval(tenant.approval, undefined, served);
    return { kind: "stay", reason: why === NO_RULE && ignored === "" ? (STAY_NO_RULE[servedRank] as string) : `stays ${served}: ${why}${ignored}` };
  }
  return hysteresis(policy, input, recommendation, servedRank);
}

function unknownNote(problems: SignalProblem[]): string {
  return `signals undetermined (${problems.map(problemLabel).join(", ")})`;
}

function problemLabel(p: SignalProblem): string {
  return `${p.signal}: ${p.problem}`;
}

function move(policy: CompiledPolicy, rec: Recommendation, approval: string | undefined, promoting: boolean): EngineAction {
  const manual = promoting ? policy.manualPromotion : policy.manualDemotion;
  if (manual && approval === rec.tier) {
    return { kind: "move", tier: rec.tier, trigger: "Manual", reason: `${rec.reason}; approved with ${APPROVE_ANNOTATION}=${rec.tier}`, rule: rec.rule, approval: { annotation: approval } };
  }
  return { kind: "move", tier: rec.tier, trigger: "Policy", reason: rec.reason, rule: rec.rule };
}

/** Stabilization, then cooldown, then approval: what stands between a recommendation and its move. */
function hysteresis(policy: CompiledPolicy, input: EngineInput, rec: Recommendation, servedRank: number): EngineAction {
  const { now, tenant } = input;
  const promoting = RANKS[rec.tier] > servedRank;
  const direction = promoting ? "promotion" : "demotion";
  const manual = promoting ? policy.manualPromotion : policy.manualDemotion;
  const approved = !manual || tenant.approval === rec.tier;
  const approvalNote = approved ? "" : `; it then needs approval: ${annotateCommand(tenant.tenantId, rec.tier, tenant.approval !== undefined)}`;

  const windowMs = promoting ? policy.promoteAfterMs : policy.demoteAfterMs;
  const stableAt = Date.parse(rec.since) + windowMs;
  const coolAt = tenant.lastMoveAt === undefined ? -Infinity : tenant.lastMoveAt + policy.cooldownMs;
  if (now < stableAt || now < coolAt) {
    const stabilizing = stableAt >= coolAt;
    const other = stabilizing
      ? now < coolAt
        ? `; cooldown also runs until ${iso(coolAt)}`
        : ""
      : now < stableAt
        ? `; the recommendation is also stabilizing until ${iso(stableAt)}`
        : "";
    const message = stabilizing
      ? `${direction} to ${rec.tier} (${rec.reason}) recommended since ${rec.since}; it must hold for ${promoting ? `promoteAfter ${policy.windowText.promoteAfter}` : `demoteAfter ${policy.windowText.demoteAfter}`}, until ${iso(stableAt)}${other}${approvalNote}`
      : `${direction} to ${rec.tier} (${rec.reason}) held back by cooldown ${policy.windowText.cooldown} after the move at ${iso(tenant.lastMoveAt as number)}, until ${iso(coolAt)}${other}${approvalNote}`;
    return { kind: "wait", tier: rec.tier, why: stabilizing ? "Stabilizing" : "Cooldown", message, retryAt: stabilizing ? stableAt : coolAt };
  }
  if (!approved) {
    const ignored = tenant.approval === undefined ? "" : ` (${APPROVE_ANNOTATION}=${tenant.approval} does nothing: the policy recommends ${rec.tier}, not ${tenant.approval})`;
    return {
      kind: "wait",
      tier: rec.tier,
      why: "AwaitingApproval",
      message: `${direction} to ${rec.tier} (${rec.reason}) needs approval: ${annotateCommand(tenant.tenantId, rec.tier, tenant.approval !== undefined)}${ignored}`,
    };
  }
  return move(policy, rec, tenant.approval, promoting);
}
