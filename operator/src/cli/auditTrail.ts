import { readFileSync } from "node:fs";
import { DNS_LABEL, TENANT_LABEL } from "../api/v1alpha1/index.ts";
import { canonicalJson, decisionDigest, verifyChain, type ChainHead, type ChainRecord, type ChainResult } from "../audit/chain.ts";
import { connect, listAll, type DecisionObject, type TenantObject } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { sortDecisions } from "./history.ts";

/**
 * `landlord audit verify` and `landlord audit export`: the tenants' hash chains of decisions,
 * checked live or written out one decision per line for a SIEM or an evidence folder (and checked
 * again offline from that file).
 */

/** One line of `landlord audit export -o jsonl`. `spec` is verbatim: the digest is over it. */
export interface ExportLine {
  tenant: string;
  decision: string;
  requestedAt?: string;
  actor?: string;
  reason?: string;
  trigger?: string;
  from?: string;
  to?: string;
  rule?: string;
  signals?: Record<string, number>;
  policy?: { name?: string; generation?: number };
  approval?: { annotation?: string };
  outcome?: string;
  error?: string;
  digest: string;
  previous?: { name: string; digest: string; outcome?: string };
  /** The tenant's chain head when exported (its TenantPlacement's status.decisionHead), null without one. */
  chainHead: ChainHead | null;
  spec: Record<string, unknown>;
}

const tenantOf = (decision: DecisionObject): string => decision.metadata.labels?.[TENANT_LABEL] ?? "";

function recordOf(decision: DecisionObject): ChainRecord {
  return {
    name: decision.metadata.name,
    tenant: tenantOf(decision),
    spec: (decision.spec ?? {}) as ChainRecord["spec"],
    ...(decision.status?.outcome ? { outcome: decision.status.outcome } : {}),
  };
}

function groupByTenant<T>(items: readonly T[], tenant: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = tenant(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** Every tenant's chain, live: decisions by their tenant label, heads from the TenantPlacements. Pure. */
export function verifyCluster(tenants: readonly TenantObject[], decisions: readonly DecisionObject[], only?: string): ChainResult[] {
  const byTenant = groupByTenant(decisions, tenantOf);
  const placements = new Map(tenants.map((t) => [t.metadata.name, t]));
  const names = new Set([...byTenant.keys(), ...tenants.filter((t) => t.status?.decisionHead).map((t) => t.metadata.name)]);
  const results: ChainResult[] = [];
  for (const tenant of [...names].sort()) {
    if (only !== undefined && tenant !== only) continue;
    if (tenant === "") {
      const unlabelled = byTenant.get("") ?? [];
      results.push({ tenant: "(no tenant label)", checked: unlabelled.length, notes: [], breaks: unlabelled.map((d) => ({ tenant: "(none)", decision: d.metadata.name, problem: `has no ${TENANT_LABEL} label: it is outside every tenant's history` })) });
      continue;
    }
    const placement = placements.get(tenant);
    const head = placement ? placement.status?.decisionHead : null;
    results.push(verifyChain(tenant, (byTenant.get(tenant) ?? []).map(recordOf), head));
  }
  return results;
}

/** The export lines of `decisions` requested at or after `since`, oldest first per tenant. Pure. */
export function exportLines(tenants: readonly TenantObject[], decisions: readonly DecisionObject[], options: { since?: number; tenant?: string } = {}): ExportLine[] {
  const heads = new Map(tenants.map((t) => [t.metadata.name, t.status?.decisionHead ?? null]));
  const lines: ExportLine[] = [];
  for (const decision of sortDecisions(decisions)) {
    const tenant = tenantOf(decision);
    if (options.tenant !== undefined && tenant !== options.tenant) continue;
    const spec = decision.spec ?? {};
    const at = Date.parse(spec.requestedAt ?? "");
    if (options.since !== undefined && !(at >= options.since)) continue;
    const status = decision.status ?? {};
    lines.push({
      tenant,
      decision: decision.metadata.name,
      ...(spec.requestedAt ? { requestedAt: spec.requestedAt } : {}),
      ...(spec.actor ? { actor: spec.actor } : {}),
      ...(spec.reason ? { reason: spec.reason } : {}),
      ...(spec.trigger ? { trigger: spec.trigger } : {}),
      ...(spec.from ? { from: spec.from } : {}),
      ...(spec.to ? { to: spec.to } : {}),
      ...(spec.rule ? { rule: spec.rule } : {}),
      ...(spec.signals ? { signals: spec.signals } : {}),
      ...(spec.policy ? { policy: spec.policy } : {}),
      ...(spec.approval ? { approval: spec.approval } : {}),
      ...(status.outcome ? { outcome: status.outcome } : {}),
      ...(status.error ? { error: status.error } : {}),
      digest: decisionDigest(decision.metadata.name, spec),
      ...(spec.previous ? { previous: spec.previous } : {}),
      chainHead: heads.get(tenant) ?? null,
      spec: spec as Record<string, unknown>,
    });
  }
  return lines;
}

/** The fields of an export line that repeat the spec's, for readers that do not parse the spec. */
const SPEC_COPIES = ["requestedAt", "actor", "reason", "trigger", "from", "to", "rule", "signals", "policy", "approval", "previous"] as const;

/**
 * Checks an exported file offline: every line's digest against its content, the links between
 * consecutive lines of a tenant, and the newest line against the head recorded at export. The
 * oldest line of each tenant is the anchor (an export --since starts mid-chain).
 */
export function verifyExport(text: string): ChainResult[] {
  const lines: ExportLine[] = [];
  text.split("\n").forEach((raw, index) => {
    if (raw.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new UsageError(`line ${index + 1} is not JSON: this is not a file written by landlord audit export -o jsonl`);
    }
    const line = parsed as Partial<ExportLine>;
    if (typeof line.tenant !== "string" || typeof line.decision !== "string" || typeof line.digest !== "string" || typeof line.spec !== "object" || line.spec === null) {
      throw new UsageError(`line ${index + 1} lacks tenant, decision, digest or spec: this is not a file written by landlord audit export -o jsonl`);
    }
    lines.push(line as ExportLine);
  });
  const results: ChainResult[] = [];
  for (const [tenant, group] of [...groupByTenant(lines, (l) => l.tenant)].sort(([a], [b]) => a.localeCompare(b))) {
    // The readable fields are copies of the spec, which the digest covers: an edit of a copy is an edit too.
    const edited = group.flatMap((line) =>
      SPEC_COPIES.filter((key) => canonicalJson(line[key] ?? null) !== canonicalJson(line.spec[key] ?? null)).map((key) => ({
        tenant,
        decision: line.decision,
        problem: `was edited in the export: its ${key} says ${JSON.stringify(line[key] ?? null)}, the spec the digest covers says ${JSON.stringify(line.spec[key] ?? null)}`,
      })),
    );
    const heads = new Set(group.map((l) => JSON.stringify(l.chainHead ?? null)));
    const head = JSON.parse([...heads][0] ?? "null") as ChainHead | null;
    const result = verifyChain(
      tenant,
      group.map((l) => ({ name: l.decision, tenant, spec: l.spec as ChainRecord["spec"], claimedDigest: l.digest, ...(l.outcome ? { outcome: l.outcome } : {}) })),
      head,
      { anchored: true },
    );
    result.breaks.unshift(...edited);
    if (heads.size > 1) result.breaks.push({ tenant, decision: group[0]?.decision ?? "", problem: "its lines name different chain heads: lines of two exports were mixed, or one was edited" });
    results.push(result);
  }
  return results;
}

/** The report of a verification; the exit code is 1 when any link is broken. */
export function formatVerification(results: readonly ChainResult[]): { text: string; broken: number } {
  const out: string[] = [];
  let decisions = 0;
  let broken = 0;
  const width = Math.max(6, ...results.map((r) => r.tenant.length));
  for (const result of results) {
    decisions += result.checked;
    broken += result.breaks.length;
    out.push(`${result.tenant.padEnd(width)}  ${String(result.checked).padStart(4)} decision${result.checked === 1 ? " " : "s"}  ${result.breaks.length === 0 ? "ok" : "BROKEN"}`);
    for (const b of result.breaks) out.push(`  BROKEN ${b.decision} ${b.problem}`);
    for (const note of result.notes) out.push(`  note: ${note}`);
  }
  out.push(`verified ${decisions} decision${decisions === 1 ? "" : "s"} of ${results.length} tenant${results.length === 1 ? "" : "s"}: ${broken === 0 ? "every chain is intact" : `${broken} broken link${broken === 1 ? "" : "s"}`}`);
  return { text: `${out.join("\n")}\n`, broken };
}

function parseTenant(value: string | undefined): string | undefined {
  if (value !== undefined && !DNS_LABEL.test(value)) throw new UsageError(`--tenant "${value}" is not a tenant id (a DNS-1123 label such as acme)`);
  return value;
}

/** --since: a date (2026-01-31, midnight UTC) or an RFC 3339 time. */
export function parseSince(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) throw new UsageError(`--since "${value}" is not a date: use 2026-01-31 or 2026-01-31T12:00:00Z`);
  return at;
}

export async function verifyCommand(values: { tenant?: string | undefined; file?: string | undefined; kubeconfig?: string | undefined }): Promise<number> {
  const tenant = parseTenant(values.tenant);
  let results: ChainResult[];
  if (values.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.file === "-" ? 0 : values.file, "utf8");
    } catch (error) {
      throw new UsageError(`cannot read ${values.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    results = verifyExport(text).filter((r) => tenant === undefined || r.tenant === tenant);
  } else {
    const connection = connect(values.kubeconfig);
    const [tenants, decisions] = await Promise.all([listAll<TenantObject>(connection, "TenantPlacement"), listAll<DecisionObject>(connection, "PlacementDecision")]);
    results = verifyCluster(tenants, decisions, tenant);
  }
  const { text, broken } = formatVerification(results);
  process.stdout.write(text);
  return broken > 0 ? 1 : 0;
}

export async function exportCommand(values: { since?: string | undefined; output?: string | undefined; tenant?: string | undefined; verify?: string | undefined; kubeconfig?: string | undefined }): Promise<number> {
  if (values.verify !== undefined) return verifyCommand({ file: values.verify, tenant: values.tenant });
  if (values.output !== undefined && values.output !== "jsonl") throw new UsageError(`-o must be jsonl (one decision per line), got "${values.output}"`);
  const since = parseSince(values.since);
  const tenant = parseTenant(values.tenant);
  const connection = connect(values.kubeconfig);
  const [tenants, decisions] = await Promise.all([listAll<TenantObject>(connection, "TenantPlacement"), listAll<DecisionObject>(connection, "PlacementDecision")]);
  const lines = exportLines(tenants, decisions, { ...(since !== undefined ? { since } : {}), ...(tenant !== undefined ? { tenant } : {}) });
  process.stdout.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
  process.stderr.write(`exported ${lines.length} decision${lines.length === 1 ? "" : "s"}\n`);
  return 0;
}
