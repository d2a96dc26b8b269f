import { conditionsOf, TIER_RANK, TIERS, type PlacementPolicySpec, type PolicyCondition, type Tier, type When } from "../api/v1alpha1/index.ts";
import { formatDuration, parseDuration } from "../config.ts";

/**
 * A PlacementPolicy compiled once for fast evaluation, and the three-valued (Kleene) evaluation of
 * its conditions. Pure: no clock, no I/O; the caller's readings and `now` are all it sees.
 */

/** One signal's value as the caller gathered it, or why there is no usable value. */
export type SignalReading =
  | { value: number; observedAt: number }
  | { problem: SignalProblemKind; message: string };

export const SIGNAL_PROBLEMS = ["Unavailable", "Stale", "Unknown"] as const;
export type SignalProblemKind = (typeof SIGNAL_PROBLEMS)[number];

export interface SignalProblem {
  signal: string;
  problem: SignalProblemKind;
  message: string;
}

/** Truth values of Kleene's three-valued logic. Plain numbers so evaluation allocates nothing. */
export const FALSE = 0;
export const TRUE = 1;
export const UNKNOWN = 2;
export type Truth = typeof FALSE | typeof TRUE | typeof UNKNOWN;

type Operator = "gte" | "gt" | "lte" | "lt";
const SYMBOLS: Record<Operator, string> = { gte: ">=", gt: ">", lte: "<=", lt: "<" };

export interface CompiledCondition {
  signal: string;
  share: boolean;
  /** Name the value is shown under: the signal, or `<signal>Share` for share conditions. */
  label: string;
  op: Operator;
  threshold: number;
  /** Path of the condition inside its rule, e.g. `any[0]`. */
  path: string;
  /** Where the compared value is in the policy's `values` during an evaluation. */
  slot: number;
}

export interface CompiledWhen {
  quantifier: "any" | "all";
  conditions: CompiledCondition[];
  /** Path of the rule in the policy, e.g. `tiers[namespace].promoteWhen`. */
  rule: string;
}

export interface CompiledPolicy {
  readonly kind: "CompiledPolicy";
  readonly spec: PlacementPolicySpec;
  /** promoteWhen by tier rank; undefined where the policy has no rule (pooled never has one). */
  readonly promote: readonly (CompiledWhen | undefined)[];
  /** demoteWhen by tier rank. */
  readonly demote: readonly (CompiledWhen | undefined)[];
  readonly promoteAfterMs: number;
  readonly demoteAfterMs: number;
  readonly cooldownMs: number;
  /** The three windows as people read them ("24h0m0s" is written "24h"), for messages. */
  readonly windowText: { readonly promoteAfter: string; readonly demoteAfter: string; readonly cooldown: string };
  readonly manualPromotion: boolean;
  readonly manualDemotion: boolean;
  /** Infinity when the policy sets no maxSignalAge. */
  readonly maxSignalAgeMs: number;
  /** The maximum age of signalNames[i]: its own maxAge, else maxSignalAgeMs. */
  readonly maxAgeMs: Float64Array;
  /** The maximum age of each signal as written in the policy ("840h" or maxSignalAge's text), for messages. */
  readonly maxAgeText: ReadonlyMap<string, string>;
  /** Every signal the policy declares or a rule references, for the result's `signals`. */
  readonly signalNames: readonly string[];
  /** Signals compared with share: true, the name their fraction is shown under, and the index of the signal in signalNames. */
  readonly shareSignals: readonly { signal: string; label: string; index: number }[];
  /**
   * Scratch space of the evaluation in progress: the usable value of signalNames[i] at i, then the
   * share of shareSignals[j] at signalNames.length + j; NaN when unknown. Filled by readValues.
   * Evaluation is synchronous, so one buffer per policy serves every tenant in turn.
   */
  readonly values: Float64Array;
}

/** Everything condition evaluation reads from one tenant's input. */
export interface Readings {
  now: number;
  signals: Readonly<Record<string, SignalReading | undefined>>;
  poolTotals?: Readonly<Record<string, number>> | undefined;
}

function durationMs(text: string | undefined, field: string): number {
  if (text === undefined) return 0;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new Error(`PlacementPolicy ${field} is "${text}", not a duration such as 24h or 30m; fix the policy spec`, { cause: error });
  }
}

function compileWhen(when: When | undefined, rule: string, slot: (signal: string, share: boolean) => number): CompiledWhen | undefined {
  if (!when) return undefined;
  const quantifier = when.any ? "any" : "all";
  const list: PolicyCondition[] = when.any ?? when.all ?? [];
  if (list.length === 0) return undefined;
  const conditions = list.map((c, i): CompiledCondition => {
    const op: Operator = c.gte !== undefined ? "gte" : c.gt !== undefined ? "gt" : c.lte !== undefined ? "lte" : "lt";
    const share = c.share === true;
    const label = share ? `${c.signal}Share` : c.signal;
    return { signal: c.signal, share, label, op, threshold: c[op] ?? NaN, path: `${quantifier}[${i}]`, slot: slot(c.signal, share) };
  });
  return { quantifier, conditions, rule };
}

/**
 * Compiles a policy spec: durations parsed, rules indexed by tier rank, signal names gathered.
 * Fields a hand-built spec may lack get the engine's defaults: windows 0, promotion Automatic,
 * demotion Manual, no maximum signal age. Throws only for a duration the schema would reject.
 */
export function compileRules(spec: PlacementPolicySpec): CompiledPolicy {
  const promote: (CompiledWhen | undefined)[] = TIERS.map(() => undefined);
  const demote: (CompiledWhen | undefined)[] = TIERS.map(() => undefined);
  const rules = (spec.tiers ?? []).filter((r) => TIER_RANK[r.tier as Tier] > 0); // pooled is the base tier and takes no rules
  // Slots: every declared or referenced signal first, then one per signal compared by share.
  const names = [...new Set([...(spec.signals ?? []).map((s) => s.name), ...rules.flatMap((r) => [...conditionsOf(r.promoteWhen), ...conditionsOf(r.demoteWhen)].map((c) => c.signal))])];
  const shared = [...new Set(rules.flatMap((r) => [...conditionsOf(r.promoteWhen), ...conditionsOf(r.demoteWhen)].filter((c) => c.share === true).map((c) => c.signal)))];
  const slot = (signal: string, share: boolean): number => (share ? names.length + shared.indexOf(signal) : names.indexOf(signal));
  for (const rule of rules) {
    const rank = TIER_RANK[rule.tier];
    promote[rank] = compileWhen(rule.promoteWhen, `tiers[${rule.tier}].promoteWhen`, slot);
    demote[rank] = compileWhen(rule.demoteWhen, `tiers[${rule.tier}].demoteWhen`, slot);
  }
  const stabilization = spec.stabilization as Partial<PlacementPolicySpec["stabilization"]> | undefined;
  const approval = spec.approval as Partial<PlacementPolicySpec["approval"]> | undefined;
  const maxAge = spec.maxSignalAge as string | undefined;
  const promoteAfterMs = durationMs(stabilization?.promoteAfter, "stabilization.promoteAfter");
  const demoteAfterMs = durationMs(stabilization?.demoteAfter, "stabilization.demoteAfter");
  const cooldownMs = durationMs(stabilization?.cooldown, "stabilization.cooldown");
  const maxSignalAgeMs = maxAge === undefined ? Infinity : durationMs(maxAge, "maxSignalAge");
  const maxAgeText = new Map<string, string>();
  const maxAgeMs = Float64Array.from(names, (name) => {
    const own = (spec.signals ?? []).find((s) => s.name === name)?.maxAge;
    if (own === undefined) {
      if (maxAge !== undefined) maxAgeText.set(name, `maxSignalAge ${maxAge}`);
      return maxSignalAgeMs;
    }
    maxAgeText.set(name, `its maxAge ${own}`);
    return durationMs(own, `signals[${name}].maxAge`);
  });
  return {
    kind: "CompiledPolicy",
    spec,
    promote,
    demote,
    promoteAfterMs,
    demoteAfterMs,
    cooldownMs,
    windowText: { promoteAfter: formatDuration(promoteAfterMs), demoteAfter: formatDuration(demoteAfterMs), cooldown: formatDuration(cooldownMs) },
    manualPromotion: approval?.promotion === "Manual",
    manualDemotion: (approval?.demotion ?? "Manual") === "Manual",
    maxSignalAgeMs,
    maxAgeMs,
    maxAgeText,
    signalNames: names,
    shareSignals: shared.map((signal) => ({ signal, label: `${signal}Share`, index: names.indexOf(signal) })),
    values: new Float64Array(names.length + shared.length),
  };
}

function usable(reading: SignalReading | undefined, now: number, maxAgeMs: number): number {
  if (reading === undefined) return NaN;
  const { value, observedAt } = reading as { value?: number; observedAt?: number };
  if (value === undefined || !Number.isFinite(value)) return NaN;
  if (now - (observedAt ?? -Infinity) > maxAgeMs) return NaN;
  return value;
}

/**
 * Fills policy.values for one tenant: each signal's value when finite and not older than
 * maxSignalAge, each share when the pool total is positive; NaN for everything else.
 */
export function readValues(policy: CompiledPolicy, input: Readings): void {
  const { values, signalNames, shareSignals, maxAgeMs } = policy;
  const { now, signals, poolTotals } = input;
  const count = signalNames.length;
  for (let i = 0; i < count; i++) values[i] = usable(signals[signalNames[i] as string], now, maxAgeMs[i] as number);
  for (let j = 0; j < shareSignals.length; j++) {
    const share = shareSignals[j] as CompiledPolicy["shareSignals"][number];
    const total = poolTotals?.[share.signal];
    values[count + j] = total !== undefined && total > 0 && total < Infinity ? (values[share.index] as number) / total : NaN;
  }
}

function holds(value: number, c: CompiledCondition): boolean {
  switch (c.op) {
    case "gte":
      return value >= c.threshold;
    case "gt":
      return value > c.threshold;
    case "lte":
      return value <= c.threshold;
    case "lt":
      return value < c.threshold;
  }
}

/** Kleene evaluation: `any` is true if one condition is true, `all` false if one is false, else unknown decides. */
export function evaluateWhen(policy: CompiledPolicy, when: CompiledWhen): Truth {
  const any = when.quantifier === "any";
  const { values } = policy;
  let unknown = false;
  for (const c of when.conditions) {
    const value = values[c.slot] as number;
    if (Number.isNaN(value)) unknown = true;
    else if (holds(value, c) === any) return any ? TRUE : FALSE;
  }
  return unknown ? UNKNOWN : any ? FALSE : TRUE;
}

/** Numbers as people read them: 21000, 0.0625, 1.234568e+21; never 0.30000000000000004. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  return String(Number(value.toPrecision(7)));
}

function conditionText(policy: CompiledPolicy, c: CompiledCondition): string {
  return `${c.label} ${formatNumber(policy.values[c.slot] as number)} ${SYMBOLS[c.op]} ${formatNumber(c.threshold)}`;
}

/** Why a rule that evaluated true holds, and the path of the condition(s) that made it hold. */
export function explainWhen(policy: CompiledPolicy, when: CompiledWhen): { reason: string; rule: string } {
  if (when.quantifier === "all") {
    return { reason: when.conditions.map((c) => conditionText(policy, c)).join(" and "), rule: `${when.rule}.all` };
  }
  for (const c of when.conditions) {
    const value = policy.values[c.slot] as number;
    if (!Number.isNaN(value) && holds(value, c)) return { reason: conditionText(policy, c), rule: `${when.rule}.${c.path}` };
  }
  return { reason: `${when.rule} holds`, rule: `${when.rule}.any` };
}

/** Why each condition of a rule with an unknown outcome has no usable value. */
export function problemsOf(policy: CompiledPolicy, input: Readings, when: CompiledWhen, into: Map<string, SignalProblem>): void {
  for (const c of when.conditions) {
    if (!Number.isNaN(policy.values[c.slot] as number)) continue;
    const problem = readingProblem(policy, input, c);
    const seen = into.get(c.signal);
    // A problem with the reading itself says more than one with the pool total: keep that one.
    if (!seen || (seen.problem === "Unknown" && problem.problem !== "Unknown")) into.set(c.signal, problem);
  }
}

function readingProblem(policy: CompiledPolicy, input: Readings, c: CompiledCondition): SignalProblem {
  const { signal } = c;
  const reading = input.signals[signal];
  if (reading === undefined) return { signal, problem: "Unknown", message: `no reading of ${signal} was gathered` };
  if ("problem" in reading) return { signal, problem: reading.problem, message: reading.message };
  if (!Number.isFinite(reading.value)) return { signal, problem: "Unknown", message: `${signal} is ${reading.value}, not a number` };
  const age = input.now - reading.observedAt;
  const index = policy.signalNames.indexOf(signal);
  if (age > (index < 0 ? policy.maxSignalAgeMs : (policy.maxAgeMs[index] as number))) {
    return {
      signal,
      problem: "Stale",
      message: `${signal} was observed ${formatAge(age)} ago, longer than ${policy.maxAgeText.get(signal) ?? "maxSignalAge"}; report a fresh value`,
    };
  }
  const total = input.poolTotals?.[signal];
  return {
    signal,
    problem: "Unknown",
    message: `${signal} share is unknown: the pool total of ${signal} is ${total === undefined ? "not known" : formatNumber(total)}, so the tenant's fraction cannot be computed`,
  };
}

function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return "an unknown time";
  const hours = ms / 3_600_000;
  if (hours >= 1) return `${formatNumber(Number(hours.toFixed(1)))}h`;
  return `${Math.round(ms / 1000)}s`;
}
