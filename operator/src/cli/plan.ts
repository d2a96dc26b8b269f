import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import {
  placementPolicy,
  tenantPlacement,
  tenantPool,
  type PlacementPolicySpec,
  type Tier,
  type TenantPlacement,
} from "../api/v1alpha1/index.ts";
import { APPROVE_ANNOTATION } from "../api/labels.ts";
import { parseCsv } from "../costs/csv.ts";
import { planCostSignals } from "./planCostSignals.ts";
import { DEFAULT_SIGNAL_NAMES } from "../costs/run/signals.ts";
import { evaluate, type EngineResult, type SignalReading } from "../policy/engine.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";
import { parseOutputFormat, render, type Column } from "./output.ts";

export const PLAN_HELP = `Usage: landlord plan -f tenants.yaml [-f more.yaml] [--policy policy.yaml] [--signals signals.csv]
                     [--bill EXPORT [--period YYYY-MM]] [--pool-cost POOL=USD ...] [--now RFC3339] [-o table|json|yaml|csv]

Offline, no cluster: what the PlacementPolicy would do with each TenantPlacement if its thresholds
had held long enough (stabilization and cooldown are taken as passed; approvals are still
reported). Each tenant is taken as served where its status.tier says, or new.

Options:
  -f, --file FILE     TenantPlacements (multi-document YAML; PlacementPolicy and TenantPool
                      documents in the same files are accepted, others skipped). Repeatable.
  --policy FILE       PlacementPolicy to use. One policy in FILE: used for every tenant; several:
                      looked up by each tenant's spec.policyRef. Default: the policies in the -f files.
  --signals FILE      CSV with header tenant,signal,value[,observedAt]. Its values override
                      spec.reportedSignals; prometheus and kubernetes signals come only from it.
                      observedAt (RFC 3339) defaults to --now. Missing signals are unknown.
  --bill EXPORT       a bill as landlord costs reads it (CUR 2.0, FOCUS or the legacy CSV; a file,
                      directory, glob or s3:// prefix; repeatable): each tenant's monthlyCostUSD,
                      costShare and marginUSD are computed from it (and --pool-cost) as
                      landlord costs --record would write them; a tenant not placed yet is costed
                      at its floor (or pinned tier). They override spec.reportedSignals.
  --pool-cost POOL=USD  monthly cost of a pool, with --bill. Repeatable.
  --period YYYY-MM    the billing month of --bill, when the export holds more than one
  --now RFC3339       evaluation time (default: now)
  -o FORMAT           table (default), json, yaml or csv

Share rules (share: true) compare a tenant with the sum of the signal over the planned tenants
of the same spec.pool.

ACTION is one of: place (a new tenant's first placement), move, stay, needs approval (the
policy's approval is Manual: the row says which annotation to set), wait, or unknown signals (a
rule the answer depends on lacks a value: the tenant stays where it is, or at its floor).

Example:
  npx landlord plan -f examples/tenants.yaml --policy examples/policy-default.yaml --signals examples/signals.csv
`;

// ---- reading manifests -------------------------------------------------------------------------

export interface Located<T> {
  file: string;
  /** 1-based document index in the file. */
  document: number;
  object: T;
}

export interface Manifests {
  tenants: Located<TenantPlacement>[];
  policies: Located<{ name: string; spec: PlacementPolicySpec }>[];
  pools: string[];
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || "(document)";
}

function describeError(where: string, kind: string, name: string | undefined, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue ? issuePath(issue.path) : "(document)";
  return `${where} (${kind}${name ? ` ${name}` : ""}): ${path}: ${issue?.message ?? "invalid"}`;
}

/** Adds one object to `into` by kind; other kinds are skipped. `where` names it in messages. */
function take(value: unknown, file: string, document: number, where: string, into: Manifests): void {
  if (value === null || value === undefined || typeof value !== "object") return;
  const obj = value as { kind?: unknown; metadata?: { name?: unknown }; items?: unknown };
  const name = typeof obj.metadata?.name === "string" ? obj.metadata.name : undefined;
  if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) {
    // kubectl get tp -o yaml writes a List; its items are the objects.
    obj.items.forEach((item, i) => take(item, file, document, `${where} item ${i + 1}`, into));
  } else if (obj.kind === "TenantPlacement") {
    const parsed = tenantPlacement.safeParse(value);
    if (!parsed.success) throw new UsageError(describeError(where, "TenantPlacement", name, parsed.error));
    into.tenants.push({ file, document, object: parsed.data });
  } else if (obj.kind === "PlacementPolicy") {
    const parsed = placementPolicy.safeParse(value);
    if (!parsed.success) throw new UsageError(describeError(where, "PlacementPolicy", name, parsed.error));
    into.policies.push({ file, document, object: { name: parsed.data.metadata.name, spec: parsed.data.spec } });
  } else if (obj.kind === "TenantPool") {
    const parsed = tenantPool.safeParse(value);
    if (!parsed.success) throw new UsageError(describeError(where, "TenantPool", name, parsed.error));
    into.pools.push(parsed.data.metadata.name);
  }
}

/** Parses multi-document YAML text into Manifests; the first problem is thrown as one UsageError line. */
export function parseManifests(file: string, text: string, into: Manifests = { tenants: [], policies: [], pools: [] }): Manifests {
  // kubectl get -o json: JSON is YAML, but the YAML parser takes seconds over thousands of objects.
  if (/^\s*\{/.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    take(value, file, 1, `${file}: document 1`, into);
    return into;
  }
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((doc, i) => {
    const document = i + 1;
    const yamlError = doc.errors[0];
    if (yamlError) throw new UsageError(`${file}: document ${document}: ${yamlError.message.split("\n")[0]}`);
    take(doc.toJS(), file, document, `${file}: document ${document}`, into);
  });
  return into;
}

export function readManifestFiles(files: readonly string[], into: Manifests = { tenants: [], policies: [], pools: [] }): Manifests {
  for (const file of files) parseManifests(file, readText(file), into);
  return into;
}

export function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error)}`);
  }
}

// ---- signals CSV -------------------------------------------------------------------------------

export interface SignalRow {
  tenant: string;
  signal: string;
  value: number;
  /** ms; undefined = the evaluation time. */
  observedAt?: number;
}

/** Parses a signals CSV (header tenant,signal,value[,observedAt]); problems name the file and line. */
export function parseSignalsCsv(file: string, text: string): SignalRow[] {
  let table;
  try {
    table = parseCsv(text);
  } catch (error) {
    throw new UsageError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const column of ["tenant", "signal", "value"]) {
    if (!table.header.includes(column)) throw new UsageError(`${file}: the header must be tenant,signal,value[,observedAt]; "${column}" is missing`);
  }
  return table.rows.map(({ line, fields }) => {
    const { tenant = "", signal = "", value = "", observedAt = "" } = fields;
    if (!tenant || !signal) throw new UsageError(`${file}: line ${line}: tenant and signal are required`);
    const number = value === "" ? NaN : Number(value);
    if (!Number.isFinite(number)) throw new UsageError(`${file}: line ${line}: value "${value}" of ${tenant}/${signal} is not a number`);
    const row: SignalRow = { tenant, signal, value: number };
    if (observedAt !== "") {
      const at = Date.parse(observedAt);
      if (Number.isNaN(at) || !/^\d{4}-\d\d-\d\dT/.test(observedAt)) throw new UsageError(`${file}: line ${line}: observedAt "${observedAt}" is not an RFC 3339 time`);
      row.observedAt = at;
    }
    return row;
  });
}

// ---- planning ----------------------------------------------------------------------------------

/** place: a first placement (the tenant has no status.tier yet); move: from its current tier. */
export type PlanAction = "place" | "move" | "stay" | "needs approval" | "unknown signals" | "wait";

export interface PlanRow {
  tenant: string;
  /** status.tier, or "new". */
  current: Tier | "new";
  recommended: Tier;
  action: PlanAction;
  rule: string;
  reason: string;
  /** The values the evaluation used (and <signal>Share fractions). */
  signals: Record<string, number>;
  policy: string | undefined;
  result: EngineResult;
}

export interface PlanInput {
  tenants: readonly TenantPlacement[];
  /** Policy by name, looked up with spec.policyRef. */
  policies: ReadonlyMap<string, PlacementPolicySpec>;
  /** When set, used for every tenant instead of the policyRef lookup. */
  policyOverride?: { name: string; spec: PlacementPolicySpec };
  signals: readonly SignalRow[];
  now: number;
}

/** Long before any real recommendation: makes every stabilization window count as passed. */
const FAR_PAST = "1970-01-01T00:00:00Z";

function readingsFor(tenant: TenantPlacement, policy: PlacementPolicySpec, rows: readonly SignalRow[], now: number): Record<string, SignalReading> {
  const readings: Record<string, SignalReading> = {};
  const id = tenant.spec.tenantId;
  for (const signal of policy.signals ?? []) {
    const { name, source } = signal;
    const reported = tenant.spec.reportedSignals?.[name];
    if (source.reported && reported !== undefined) readings[name] = { value: reported, observedAt: now };
    else if (source.reported) readings[name] = { problem: "Unavailable", message: `${name} is neither in spec.reportedSignals nor in the signals CSV` };
    else readings[name] = { problem: "Unavailable", message: `${name} (${source.prometheus ? "prometheus" : "kubernetes"}) is not in the signals CSV` };
  }
  for (const row of rows) {
    if (row.tenant === id) readings[row.signal] = { value: row.value, observedAt: row.observedAt ?? now };
  }
  return readings;
}

function shareSignals(policy: PlacementPolicySpec): Set<string> {
  const names = new Set<string>();
  for (const rule of policy.tiers ?? []) {
    for (const when of [rule.promoteWhen, rule.demoteWhen]) {
      for (const c of [...(when?.any ?? []), ...(when?.all ?? [])]) if (c.share) names.add(c.signal);
    }
  }
  return names;
}

function policyFor(input: PlanInput, tenant: TenantPlacement): { name: string; spec: PlacementPolicySpec } | undefined {
  if (input.policyOverride) return input.policyOverride;
  const spec = input.policies.get(tenant.spec.policyRef);
  return spec ? { name: tenant.spec.policyRef, spec } : undefined;
}

/**
 * What the policy would do with each tenant, if its thresholds had held long enough. Pure: the
 * clock is input.now. Throws a UsageError when a tenant's policy cannot be found.
 */
export function planTenants(input: PlanInput): PlanRow[] {
  const { now } = input;
  const resolved = input.tenants.map((tenant) => {
    const policy = policyFor(input, tenant);
    if (!policy) throw new UsageError(`no PlacementPolicy "${tenant.spec.policyRef}" (spec.policyRef of tenant ${tenant.spec.tenantId}) in the given files; pass it with --policy policy.yaml`);
    return { tenant, policy, readings: readingsFor(tenant, policy.spec, input.signals, now) };
  });
  // Pool totals per (policy, pool): the sum over the planned tenants of that spec.pool, like the operator.
  const totals = new Map<string, Record<string, number>>();
  for (const { tenant, policy } of resolved) {
    const key = `${policy.name}\u0000${tenant.spec.pool}`;
    if (totals.has(key)) continue;
    const sum: Record<string, number> = {};
    const names = shareSignals(policy.spec);
    for (const other of resolved) {
      if (other.tenant.spec.pool !== tenant.spec.pool) continue;
      const readings = other.policy === policy ? other.readings : readingsFor(other.tenant, policy.spec, input.signals, now);
      for (const name of names) {
        const reading = readings[name];
        if (reading && "value" in reading) sum[name] = (sum[name] ?? 0) + reading.value;
      }
    }
    totals.set(key, sum);
  }

  return resolved.map(({ tenant, policy, readings }) => {
    const served = tenant.status?.tier;
    const approval = tenant.metadata.annotations?.[APPROVE_ANNOTATION];
    const base = {
      now,
      policy: policy.spec,
      signals: readings,
      poolTotals: totals.get(`${policy.name}\u0000${tenant.spec.pool}`) ?? {},
    };
    const tenantInput = { tenantId: tenant.spec.tenantId, tier: tenant.spec.tier, served, ...(approval ? { approval } : {}) };
    let result = evaluate({ ...base, tenant: tenantInput });
    if (result.recommendation) {
      // Again, as if the recommendation had held since long ago: stabilization has passed.
      const { tier, reason } = result.recommendation;
      result = evaluate({ ...base, tenant: { ...tenantInput, previousRecommendation: { tier, reason, since: FAR_PAST } } });
    }
    return toRow(tenant, policy.name, result);
  });
}

function toRow(tenant: TenantPlacement, policy: string, result: EngineResult): PlanRow {
  const served = tenant.status?.tier;
  const current = served ?? "new";
  const { action, recommendation, signalProblems } = result;
  let recommended: Tier = served ?? tenant.spec.tier.floor;
  let kind: PlanAction;
  let rule = "";
  let reason: string;
  if (action.kind === "move") {
    recommended = action.tier;
    rule = action.rule;
    reason = action.reason;
    kind = served === undefined ? "place" : served === action.tier ? "stay" : "move";
    // A new tenant placed at its floor while a promotion waits for approval.
    if (recommendation && recommendation.tier !== action.tier) {
      recommended = recommendation.tier;
      rule = recommendation.rule;
      kind = "needs approval";
    }
  } else if (action.kind === "wait") {
    recommended = action.tier;
    rule = recommendation?.rule ?? "";
    reason = action.message;
    kind = action.why === "AwaitingApproval" ? "needs approval" : "wait";
  } else {
    reason = action.reason;
    kind = "stay";
  }
  if (signalProblems.length > 0) kind = "unknown signals";
  return { tenant: tenant.spec.tenantId, current, recommended, action: kind, rule, reason, signals: result.signals, policy, result };
}

function formatValue(name: string, value: number): string {
  if (name.endsWith("Share")) return `${(value * 100).toFixed(1)}%`;
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** The signals a row used, short: "monthlyRevenueUSD=23500 requestsPerDayShare=7.7%". */
export function shortSignals(signals: Record<string, number>): string {
  return Object.entries(signals)
    .map(([name, value]) => `${name}=${formatValue(name, value)}`)
    .join(" ");
}

export const PLAN_COLUMNS: readonly Column<PlanRow>[] = [
  { header: "TENANT", key: "tenant", value: (r) => r.tenant },
  { header: "CURRENT", key: "current", value: (r) => r.current },
  { header: "RECOMMENDED", key: "recommended", value: (r) => r.recommended },
  { header: "ACTION", key: "action", value: (r) => r.action },
  { header: "RULE/REASON", key: "reason", value: (r) => (r.rule ? `${r.rule}: ${r.reason}` : r.reason) },
  { header: "SIGNALS", key: "signals", value: (r) => shortSignals(r.signals) },
];

export async function planCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    file: { type: "string", short: "f", multiple: true },
    policy: { type: "string", multiple: true },
    signals: { type: "string" },
    now: { type: "string" },
    output: { type: "string", short: "o" },
    bill: { type: "string", multiple: true },
    period: { type: "string" },
    "pool-cost": { type: "string", multiple: true },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"; tenants are read with -f tenants.yaml`);
  const format = parseOutputFormat(values.output);
  const files = values.file ?? [];
  if (files.length === 0) throw new UsageError("-f tenants.yaml is required");
  let now = Date.now();
  if (values.now !== undefined) {
    now = Date.parse(values.now);
    if (Number.isNaN(now) || !/^\d{4}-\d\d-\d\dT/.test(values.now)) throw new UsageError(`--now: expected an RFC 3339 time such as 2026-01-31T12:00:00Z, got "${values.now}"`);
  }
  const manifests = readManifestFiles(files);
  if (manifests.tenants.length === 0) throw new UsageError(`no TenantPlacement in ${files.join(", ")}`);
  const policies = new Map<string, PlacementPolicySpec>(manifests.policies.map((p) => [p.object.name, p.object.spec]));
  let policyOverride: PlanInput["policyOverride"];
  if (values.policy && values.policy.length > 0) {
    const extra = readManifestFiles(values.policy);
    if (extra.policies.length === 0) throw new UsageError(`no PlacementPolicy in ${values.policy.join(", ")}`);
    for (const p of extra.policies) policies.set(p.object.name, p.object.spec);
    if (extra.policies.length === 1) policyOverride = extra.policies[0]?.object;
  }
  const signals = values.signals ? parseSignalsCsv(values.signals, readText(values.signals)) : [];
  if (values.period !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(values.period)) throw new UsageError(`--period must be a billing month YYYY-MM, e.g. 2026-11, got "${values.period}"`);
  if (values.bill !== undefined || values["pool-cost"] !== undefined) {
    const tenants = manifests.tenants.map((t) => t.object);
    signals.push(...(await planCostSignals(tenants, { bills: values.bill ?? [], poolCosts: values["pool-cost"], period: values.period, files, names: DEFAULT_SIGNAL_NAMES })));
  }
  const known = new Set(manifests.tenants.map((t) => t.object.spec.tenantId));
  const strangers = [...new Set(signals.filter((s) => !known.has(s.tenant)).map((s) => s.tenant))];
  if (strangers.length > 0) process.stderr.write(`landlord plan: ${values.signals}: ignoring signals of tenants not in the plan: ${strangers.join(", ")}\n`);
  const rows = planTenants({ tenants: manifests.tenants.map((t) => t.object), policies, ...(policyOverride ? { policyOverride } : {}), signals, now });
  process.stdout.write(render(rows, PLAN_COLUMNS, format));
  return 0;
}
