import { DNS_LABEL, placementPolicySpec, TENANT_LABEL, TIER_RANK, TIERS, type PlacementPolicySpec, type Tier } from "../api/v1alpha1/index.ts";
import { APPROVE_ANNOTATION } from "../api/labels.ts";
import { AUDIT_ANNOTATIONS } from "../audit/annotations.ts";
import { compileRules, evaluateWhen, explainWhen, formatNumber, TRUE, UNKNOWN, type CompiledPolicy, type CompiledWhen } from "../policy/rules.ts";
import { conditionOf, connect, KUBECONFIG_FLAG, listAll, newestMove, type DecisionObject, type PolicyObject, type TenantObject } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { sortDecisions } from "./history.ts";
import { parseFlags } from "./main.ts";
import { stringify } from "yaml";
import { costFigures, lastCostReport, reportLine, type CostFigures, type ReportSummary } from "../costs/run/lastReport.ts";

export const EXPLAIN_HELP = `Usage: landlord explain <tenant> [-o text|json|yaml] [--kubeconfig PATH]

Why the tenant is where it is, and what would move it next: where it is served, its spec.tier
(mode, pinned, floor, ceiling), every rule of its PlacementPolicy with each signal value against
its threshold (✓ holds, ✗ does not, ? unknown), its cost signals and the newest CostReport, the
stabilization timer of the current
recommendation, the cooldown since the last move, approvals, and a final "Next:" line.

Options:
  -o, --output FORMAT   text (default), json or yaml (the same facts, machine-readable)
  --kubeconfig PATH     cluster to read (default: KUBECONFIG, else in-cluster)

Example:
  npx landlord explain acme
`;

export type Holds = "true" | "false" | "unknown";
const MARK: Record<Holds, string> = { true: "✓", false: "✗", unknown: "?" };
const SYMBOL = { gte: ">=", gt: ">", lte: "<=", lt: "<" } as const;

export interface ConditionExplanation {
  /** Path inside the rule, e.g. any[0]. */
  path: string;
  /** The signal name the value is shown under (`<signal>Share` for share conditions). */
  signal: string;
  value: number | null;
  operator: ">=" | ">" | "<=" | "<";
  threshold: number;
  holds: Holds;
}

export interface RuleExplanation {
  /** e.g. tiers[namespace].promoteWhen */
  rule: string;
  tier: Tier;
  kind: "promoteWhen" | "demoteWhen";
  quantifier: "any" | "all";
  holds: Holds;
  conditions: ConditionExplanation[];
}

export interface Explanation {
  tenant: string;
  displayName?: string;
  served: { tier?: string; targetTier?: string; namespace?: string; pool?: string; phase?: string };
  tier: { mode: string; pinned?: string; floor: string; ceiling: string };
  policy: {
    name: string;
    found: boolean;
    /** Why a found policy could not be used, e.g. a duration that does not parse. */
    problem?: string;
    promoteAfter?: string;
    demoteAfter?: string;
    cooldown?: string;
    approval?: { promotion: "Automatic" | "Manual"; demotion: "Automatic" | "Manual" };
  };
  signals: Record<string, number>;
  signalsObservedAt?: string;
  /** The cost signals landlord costs --record wrote, and the newest CostReport. */
  cost?: CostFigures & { report?: ReportSummary };
  rules: RuleExplanation[];
  recommendation?: { tier: string; reason?: string; since?: string; window?: string; stableAt?: string };
  cooldown?: { lastMove: string; movedAt: string; until?: string; running: boolean };
  /** The newest decision, and who caused it and why (absent: the policy moved it on its own). */
  lastDecision?: { name: string; from?: string; to?: string; trigger?: string; actor?: string; reason?: string };
  approval: { needed: boolean; annotation?: string };
  promoting?: { status?: string; reason?: string; message?: string };
  next: string;
}

export interface ExplainInput {
  tenant: TenantObject;
  /** The tenant's PlacementPolicy object, or undefined when it does not exist. */
  policy: PolicyObject | undefined;
  decisions: readonly DecisionObject[];
  now: number;
  /** The newest CostReport in the cluster, if any. */
  costReport?: ReportSummary | undefined;
}

/** RFC 3339 to the second (2026-11-24T10:00:00Z), as people read it. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function asTier(value: string | undefined): Tier | undefined {
  return value !== undefined && (TIERS as readonly string[]).includes(value) ? (value as Tier) : undefined;
}

function truth(value: number): Holds {
  return value === TRUE ? "true" : value === UNKNOWN ? "unknown" : "false";
}

function conditionHolds(value: number, op: keyof typeof SYMBOL, threshold: number): Holds {
  if (Number.isNaN(value)) return "unknown";
  const result = op === "gte" ? value >= threshold : op === "gt" ? value > threshold : op === "lte" ? value <= threshold : value < threshold;
  return result ? "true" : "false";
}

/** Loads status.signals (which carry `<signal>Share` values already) into the compiled policy's slots. */
function loadValues(policy: CompiledPolicy, signals: Record<string, number>): void {
  const { values, signalNames, shareSignals } = policy;
  signalNames.forEach((name, i) => {
    const v = signals[name];
    values[i] = typeof v === "number" && Number.isFinite(v) ? v : NaN;
  });
  shareSignals.forEach((share, j) => {
    const v = signals[share.label];
    values[signalNames.length + j] = typeof v === "number" && Number.isFinite(v) ? v : NaN;
  });
}

function explainRule(policy: CompiledPolicy, when: CompiledWhen, tier: Tier, kind: RuleExplanation["kind"]): RuleExplanation {
  return {
    rule: when.rule,
    tier,
    kind,
    quantifier: when.quantifier,
    holds: truth(evaluateWhen(policy, when)),
    conditions: when.conditions.map((c) => {
      const value = policy.values[c.slot] as number;
      return {
        path: c.path,
        signal: c.label,
        value: Number.isNaN(value) ? null : value,
        operator: SYMBOL[c.op],
        threshold: c.threshold,
        holds: conditionHolds(value, c.op, c.threshold),
      };
    }),
  };
}

function conditionText(c: ConditionExplanation, withValue: boolean): string {
  const value = withValue ? ` ${c.value === null ? "(unknown)" : formatNumber(c.value)}` : "";
  return `${c.signal}${value} ${c.operator} ${formatNumber(c.threshold)}`;
}

/** The conditions that keep a true rule true: for any, the ones that hold; for all, every one. */
function keepingConditions(rule: RuleExplanation): string {
  const list = rule.quantifier === "any" ? rule.conditions.filter((c) => c.holds === "true") : rule.conditions;
  return list.map((c) => conditionText(c, false)).join(rule.quantifier === "any" ? " or " : " and ");
}

/** What would have to become true: the rule's conditions with their current values. */
function neededConditions(rule: RuleExplanation): string {
  return rule.conditions.map((c) => `${conditionText(c, false)} (now ${c.value === null ? "unknown" : formatNumber(c.value)})`).join(rule.quantifier === "any" ? " or " : " and ");
}

function parsePolicy(object: PolicyObject): { spec?: PlacementPolicySpec; compiled?: CompiledPolicy; problem?: string } {
  const parsed = placementPolicySpec.safeParse(object.spec ?? {});
  // A spec the schema rejects (which the API server would not have stored) still gets the schema's
  // defaults for the windows and approvals, so the timers shown are the ones the operator would use.
  const raw = (object.spec ?? {}) as Record<string, unknown>;
  const spec = parsed.success
    ? parsed.data
    : ({
        ...raw,
        stabilization: { promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h", ...(raw.stabilization as object | undefined) },
        approval: { promotion: "Automatic", demotion: "Manual", ...(raw.approval as object | undefined) },
      } as unknown as PlacementPolicySpec);
  try {
    return { spec, compiled: compileRules(spec) };
  } catch (error) {
    return { spec, problem: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Builds the explanation of one tenant's placement. Pure: the tenant, its policy, its decisions
 * and `now` are everything it reads.
 */
export function buildExplanation(input: ExplainInput): Explanation {
  const { tenant, now } = input;
  const spec = tenant.spec ?? {};
  const status = tenant.status ?? {};
  const tierSpec = { mode: spec.tier?.mode ?? "Auto", floor: spec.tier?.floor ?? "pooled", ceiling: spec.tier?.ceiling ?? "account", ...(spec.tier?.pinned ? { pinned: spec.tier.pinned } : {}) };
  const policyName = spec.policyRef ?? "default";
  const signals = status.signals ?? {};
  const annotation = tenant.metadata.annotations?.[APPROVE_ANNOTATION];

  const explanation: Explanation = {
    tenant: tenant.metadata.name,
    ...(spec.displayName ? { displayName: spec.displayName } : {}),
    served: {
      ...(status.tier ? { tier: status.tier } : {}),
      ...(status.targetTier ? { targetTier: status.targetTier } : {}),
      ...(status.namespace ? { namespace: status.namespace } : {}),
      ...(status.pool ?? spec.pool ? { pool: status.pool ?? spec.pool } : {}),
      ...(status.phase ? { phase: status.phase } : {}),
    },
    tier: tierSpec,
    policy: { name: policyName, found: input.policy !== undefined },
    signals,
    ...(status.signalsObservedAt ? { signalsObservedAt: status.signalsObservedAt } : {}),
    rules: [],
    approval: { needed: false, ...(annotation !== undefined ? { annotation } : {}) },
    next: "",
  };

  const cost = costFigures(spec.reportedSignals);
  if (Object.keys(cost).length > 0) explanation.cost = { ...cost, ...(input.costReport ? { report: input.costReport } : {}) };

  const promoting = conditionOf(tenant, "Promoting");
  if (promoting) {
    explanation.promoting = {
      ...(promoting.status ? { status: promoting.status } : {}),
      ...(promoting.reason ? { reason: promoting.reason } : {}),
      ...(promoting.message ? { message: promoting.message } : {}),
    };
  }

  let compiled: CompiledPolicy | undefined;
  if (input.policy) {
    const parsed = parsePolicy(input.policy);
    compiled = parsed.compiled;
    if (parsed.problem) explanation.policy.problem = parsed.problem;
    if (compiled) {
      explanation.policy = {
        ...explanation.policy,
        promoteAfter: compiled.windowText.promoteAfter,
        demoteAfter: compiled.windowText.demoteAfter,
        cooldown: compiled.windowText.cooldown,
        approval: { promotion: compiled.manualPromotion ? "Manual" : "Automatic", demotion: compiled.manualDemotion ? "Manual" : "Automatic" },
      };
      loadValues(compiled, signals);
      for (const rule of parsed.spec?.tiers ?? []) {
        const rank = TIER_RANK[rule.tier];
        const promote = compiled.promote[rank];
        const demote = compiled.demote[rank];
        if (promote) explanation.rules.push(explainRule(compiled, promote, rule.tier, "promoteWhen"));
        if (demote) explanation.rules.push(explainRule(compiled, demote, rule.tier, "demoteWhen"));
      }
    }
  }

  // Cooldown: from the newest move (a decision with a from), like the operator counts it.
  const move = newestMove(input.decisions);
  const movedAt = move ? Date.parse(move.spec?.requestedAt ?? "") : NaN;
  if (move && !Number.isNaN(movedAt)) {
    const until = compiled ? movedAt + compiled.cooldownMs : undefined;
    explanation.cooldown = {
      lastMove: move.metadata.name,
      movedAt: isoSeconds(movedAt),
      ...(until !== undefined ? { until: isoSeconds(until) } : {}),
      running: until !== undefined && now < until,
    };
  }

  const newest = input.decisions.at(-1);
  if (newest) {
    const d = newest.spec ?? {};
    explanation.lastDecision = {
      name: newest.metadata.name,
      ...(d.from ? { from: d.from } : {}),
      ...(d.to ? { to: d.to } : {}),
      ...(d.trigger ? { trigger: d.trigger } : {}),
      ...(d.actor ? { actor: d.actor } : {}),
      ...(d.reason ? { reason: d.reason } : {}),
    };
  }

  // The recommendation's stabilization timer.
  const served = asTier(status.tier);
  const rec = status.recommendation;
  const recTier = asTier(rec?.tier);
  let actAt: number | undefined;
  let promotingMove = false;
  if (rec && recTier) {
    promotingMove = served === undefined || TIER_RANK[recTier] > TIER_RANK[served];
    explanation.recommendation = { tier: recTier, ...(rec.reason ? { reason: rec.reason } : {}), ...(rec.since ? { since: rec.since } : {}) };
    const since = Date.parse(rec.since ?? "");
    if (compiled && !Number.isNaN(since)) {
      const windowMs = promotingMove ? compiled.promoteAfterMs : compiled.demoteAfterMs;
      const stableAt = since + windowMs;
      explanation.recommendation.window = `${promotingMove ? "promoteAfter" : "demoteAfter"} ${promotingMove ? compiled.windowText.promoteAfter : compiled.windowText.demoteAfter}`;
      explanation.recommendation.stableAt = isoSeconds(stableAt);
      const coolAt = Number.isNaN(movedAt) ? -Infinity : movedAt + compiled.cooldownMs;
      actAt = Math.max(stableAt, coolAt);
    }
    if (compiled) explanation.approval.needed = promotingMove ? compiled.manualPromotion : compiled.manualDemotion;
  }

  explanation.next = nextStep(explanation, { compiled, served, recTier, promotingMove, actAt, now, annotation });
  return explanation;
}

function nextStep(
  e: Explanation,
  ctx: { compiled: CompiledPolicy | undefined; served: Tier | undefined; recTier: Tier | undefined; promotingMove: boolean; actAt: number | undefined; now: number; annotation: string | undefined },
): string {
  const { compiled, served, recTier } = ctx;
  if (e.served.targetTier && e.served.targetTier !== e.served.tier) {
    return `the move to ${e.served.targetTier} is in progress (phase ${e.served.phase ?? "unknown"}); kubectl get tp ${e.tenant} -w to follow it`;
  }
  if (e.tier.mode === "Pinned") {
    return `nothing moves it automatically: it is pinned to ${e.tier.pinned ?? "(unset)"}; edit spec.tier to move it`;
  }
  if (!e.policy.found) return `nothing: its PlacementPolicy ${e.policy.name} does not exist, so it stays at its floor ${e.tier.floor}; create the policy or set spec.policyRef`;
  if (!compiled) return `nothing until PlacementPolicy ${e.policy.name} is fixed: ${e.policy.problem ?? "it cannot be read"}`;
  if (!served) return `the operator places it (floor ${e.tier.floor}${recTier ? `, recommended ${recTier}` : ""}) when it next reconciles`;

  const approvalCommand = (tier: string): string => `kubectl annotate tp ${e.tenant} ${APPROVE_ANNOTATION}=${tier} ${AUDIT_ANNOTATIONS.approveReason}='<why>'${ctx.annotation !== undefined ? " --overwrite" : ""}`;
  if (recTier && recTier !== served) {
    const verb = ctx.promotingMove ? "promotes" : "demotes";
    const rule = e.rules.find((r) => r.tier === (ctx.promotingMove ? recTier : served) && r.kind === (ctx.promotingMove ? "promoteWhen" : "demoteWhen") && r.holds === "true");
    const keepText = rule ? keepText2(rule) : "";
    const approval = e.approval.needed && ctx.annotation !== recTier ? `, once approved: ${approvalCommand(recTier)}` : "";
    if (ctx.actAt === undefined || ctx.actAt <= ctx.now) {
      return `${verb} to ${recTier} when the operator next evaluates it${keepText}${approval}`;
    }
    return `${verb} to ${recTier} at ${isoSeconds(ctx.actAt)}${keepText}${approval}`;
  }

  // No recommendation: what would start one.
  const parts: string[] = [];
  const rank = TIER_RANK[served];
  const ceiling = TIER_RANK[(asTier(e.tier.ceiling) ?? "account")];
  const floor = TIER_RANK[(asTier(e.tier.floor) ?? "pooled")];
  const up = e.rules.find((r) => r.kind === "promoteWhen" && TIER_RANK[r.tier] > rank && TIER_RANK[r.tier] <= ceiling);
  if (up) {
    parts.push(`promotes to ${up.tier} when ${neededConditions(up)} holds for promoteAfter ${compiled.windowText.promoteAfter}${compiled.manualPromotion ? " and it is approved" : ""}`);
  }
  const down = e.rules.find((r) => r.kind === "demoteWhen" && r.tier === served);
  if (down && rank > floor) {
    parts.push(`demotes from ${served} when ${neededConditions(down)} holds for demoteAfter ${compiled.windowText.demoteAfter}${compiled.manualDemotion ? " and it is approved" : ""}`);
  }
  if (parts.length === 0) return `nothing: no rule of policy ${e.policy.name} can move it from ${served} (floor ${e.tier.floor}, ceiling ${e.tier.ceiling})`;
  return parts.join("; or ");
}

/** " if monthlyRevenueUSD stays >= 20000" for one condition; " if a and b keep holding" otherwise. */
function keepText2(rule: RuleExplanation): string {
  const list = rule.quantifier === "any" ? rule.conditions.filter((c) => c.holds === "true") : rule.conditions;
  if (list.length === 1) {
    const c = list[0] as ConditionExplanation;
    return ` if ${c.signal} stays ${c.operator} ${formatNumber(c.threshold)}`;
  }
  return ` if ${keepingConditions(rule)} keep holding`;
}

/** The explanation as a person reads it. */
export function formatExplanation(e: Explanation): string {
  const lines: string[] = [];
  lines.push(`Tenant ${e.tenant}${e.displayName ? ` (${e.displayName})` : ""}`);
  const s = e.served;
  lines.push(
    s.tier
      ? `Served:    ${s.tier}${s.targetTier ? ` (moving to ${s.targetTier})` : ""} in namespace ${s.namespace ?? "(none)"}${s.pool && s.tier === "pooled" ? ` of pool ${s.pool}` : ""}, phase ${s.phase ?? "unknown"}`
      : `Served:    not placed yet${s.phase ? `, phase ${s.phase}` : ""}`,
  );
  lines.push(`Spec tier: mode ${e.tier.mode}${e.tier.pinned ? `, pinned ${e.tier.pinned}` : ""}, floor ${e.tier.floor}, ceiling ${e.tier.ceiling}`);
  const p = e.policy;
  if (!p.found) lines.push(`Policy:    ${p.name} (not found)`);
  else if (p.problem) lines.push(`Policy:    ${p.name} (unusable: ${p.problem})`);
  else {
    lines.push(
      `Policy:    ${p.name}: promoteAfter ${p.promoteAfter}, demoteAfter ${p.demoteAfter}, cooldown ${p.cooldown}; promotion ${p.approval?.promotion}, demotion ${p.approval?.demotion}`,
    );
  }
  if (e.rules.length > 0) {
    lines.push(`Rules${e.signalsObservedAt ? ` (signals observed ${e.signalsObservedAt})` : ""}:`);
    for (const rule of e.rules) {
      lines.push(`  ${MARK[rule.holds]} ${rule.rule} (${rule.quantifier}): ${rule.holds === "true" ? "holds" : rule.holds === "false" ? "does not hold" : "unknown"}`);
      for (const c of rule.conditions) lines.push(`      ${MARK[c.holds]} ${conditionText(c, true)}`);
    }
  }
  if (e.cost) {
    const figures = [
      e.cost.cost !== undefined ? `monthlyCostUSD ${formatNumber(e.cost.cost)}` : undefined,
      e.cost.margin !== undefined ? `marginUSD ${formatNumber(e.cost.margin)}` : undefined,
      e.cost.share !== undefined ? `costShare ${formatNumber(e.cost.share)}` : undefined,
    ].filter(Boolean);
    lines.push(`Cost:      ${figures.join(", ")} (CostReport ${reportLine(e.cost.report)})`);
  }
  const r = e.recommendation;
  lines.push(
    r
      ? `Recommendation: ${r.tier}${r.reason ? ` (${r.reason})` : ""}${r.since ? ` since ${r.since}` : ""}${r.window ? `; ${r.window} → stable at ${r.stableAt}` : ""}`
      : "Recommendation: none (the policy recommends staying)",
  );
  const c = e.cooldown;
  lines.push(
    c
      ? `Cooldown:  last move ${c.lastMove} at ${c.movedAt}${c.until ? `; cooldown ${p.cooldown} ${c.running ? "runs until" : "ended at"} ${c.until}` : ""}`
      : "Cooldown:  none (it has never moved)",
  );
  const d = e.lastDecision;
  if (d) {
    const who = d.actor ? `by ${d.actor}${d.reason ? `: ${JSON.stringify(d.reason)}` : " (no reason recorded)"}` : d.trigger === "Policy" ? "by the policy" : "by an unstamped change (no actor recorded)";
    lines.push(`Decision:  ${d.name} ${d.from ?? "(new)"} → ${d.to ?? "?"} (${d.trigger ?? "?"}) ${who}`);
  }
  lines.push(
    `Approval:  ${r ? (e.approval.needed ? "this move needs approval" : "this move needs no approval") : `promotion ${p.approval?.promotion ?? "?"}, demotion ${p.approval?.demotion ?? "?"}`}; ${APPROVE_ANNOTATION} ${e.approval.annotation !== undefined ? `= ${e.approval.annotation}` : "is not set"}`,
  );
  if (e.promoting) lines.push(`Promoting: ${e.promoting.status ?? "?"} ${e.promoting.reason ?? ""}${e.promoting.message ? ` — ${e.promoting.message}` : ""}`);
  lines.push(`Next: ${e.next}`);
  return `${lines.join("\n")}\n`;
}

export async function explainCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { output: { type: "string", short: "o" }, ...KUBECONFIG_FLAG });
  const format = values.output ?? "text";
  if (format !== "text" && format !== "json" && format !== "yaml") {
    throw new UsageError(`-o must be one of text, json or yaml, got "${format}"`);
  }
  const [name, ...extra] = positionals;
  if (!name) throw new UsageError("expected a tenant id, e.g. landlord explain acme");
  if (extra.length > 0) throw new UsageError(`expected one tenant id, got "${positionals.join(" ")}"`);
  if (!DNS_LABEL.test(name)) throw new UsageError(`"${name}" is not a tenant id (a DNS-1123 label such as acme)`);
  const connection = connect(values.kubeconfig);
  const tenant = await connection.resources.get<TenantObject>("TenantPlacement", name);
  if (!tenant) {
    process.stderr.write(`landlord explain: no TenantPlacement named ${name}\n`);
    return 1;
  }
  const [policy, decisions, costReport] = await Promise.all([
    connection.resources.get<PolicyObject>("PlacementPolicy", tenant.spec?.policyRef ?? "default"),
    listAll<DecisionObject>(connection, "PlacementDecision", `${TENANT_LABEL}=${name}`),
    lastCostReport(connection),
  ]);
  const explanation = buildExplanation({ tenant, policy, decisions: sortDecisions(decisions), now: Date.now(), costReport });
  if (format === "json") process.stdout.write(`${JSON.stringify(explanation, null, 2)}\n`);
  else if (format === "yaml") process.stdout.write(stringify(explanation));
  else process.stdout.write(formatExplanation(explanation));
  return 0;
}
