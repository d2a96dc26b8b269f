import { TENANT_LABEL, TIERS } from "../api/v1alpha1/index.ts";
import { conditionOf, connect, KUBECONFIG_FLAG, listAll, newestMove, type DecisionObject, type TenantObject } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";
import { parseOutputFormat, render, type Column } from "./output.ts";
import { costFigures, lastCostReport, reportLine } from "../costs/run/lastReport.ts";

export const AUDIT_HELP = `Usage: landlord audit [-o table|json|yaml|csv] [--tier TIER] [--pool POOL] [--kubeconfig PATH]
       landlord audit verify [--tenant T] [--file EXPORT.jsonl]
       landlord audit export [--since DATE] [--tenant T] [-o jsonl] | --verify EXPORT.jsonl

One row per TenantPlacement, sorted by tenant: where it is served (tier, target of a move in
progress, pool, namespace, phase), its monthly revenue signal, its monthly cost and margin (the
signals landlord costs --record writes), the policy's recommendation, when it last moved (newest
PlacementDecision with a from) and who moved it and why (the authenticated user of the approval or
spec.tier change, and their reason), whether its cost tags are compliant, and Ready. With the
table, the newest CostReport is named on stderr.

verify walks every tenant's hash chain of PlacementDecisions (each links the digest of the one
before it; the TenantPlacement's status.decisionHead holds the newest) and prints each decision
that breaks it: deleted, altered or re-ordered. Exit code 1 when one does. With --file it checks
an exported file offline instead of the cluster.

export writes one JSON line per decision (who, what, when, why, rule, signals, approval, outcome,
digest, link, and the spec the digest is over), oldest first per tenant, for a SIEM or an evidence
folder; --since keeps decisions requested at or after DATE (2026-01-31 or an RFC 3339 time).
export --verify FILE checks such a file's chains offline (as verify --file does).

Options:
  -o, --output FORMAT   table (default), json, yaml or csv
  --tier TIER           only tenants served from TIER (pooled, namespace, database, account)
  --pool POOL           only tenants of TenantPool POOL
  --kubeconfig PATH     cluster to read (default: KUBECONFIG, else in-cluster)

Examples:
  npx landlord audit --tier pooled -o csv > tenants.csv
  npx landlord audit verify
  npx landlord audit export --since 2026-01-01 -o jsonl > decisions.jsonl
  npx landlord audit export --verify decisions.jsonl
`;

export interface AuditRow {
  tenant: string;
  tier: string | undefined;
  target: string | undefined;
  pool: string | undefined;
  namespace: string | undefined;
  phase: string | undefined;
  revenue: number | undefined;
  cost: number | undefined;
  margin: number | undefined;
  recommendation: string | undefined;
  lastMove: string | undefined;
  lastMoveBy: string | undefined;
  lastMoveReason: string | undefined;
  tags: "compliant" | "drift" | "unknown";
  ready: string | undefined;
}

export const AUDIT_COLUMNS: readonly Column<AuditRow>[] = [
  { header: "TENANT", key: "tenant", value: (r) => r.tenant },
  { header: "TIER", key: "tier", value: (r) => r.tier },
  { header: "TARGET", key: "target", value: (r) => r.target },
  { header: "POOL", key: "pool", value: (r) => r.pool },
  { header: "NAMESPACE", key: "namespace", value: (r) => r.namespace },
  { header: "PHASE", key: "phase", value: (r) => r.phase },
  { header: "REVENUE", key: "revenue", value: (r) => r.revenue },
  { header: "COST", key: "cost", value: (r) => r.cost },
  { header: "MARGIN", key: "margin", value: (r) => r.margin },
  { header: "RECOMMENDATION", key: "recommendation", value: (r) => r.recommendation },
  { header: "LAST-MOVE", key: "lastMove", value: (r) => r.lastMove },
  { header: "BY", key: "lastMoveBy", value: (r) => r.lastMoveBy },
  { header: "REASON", key: "lastMoveReason", value: (r) => r.lastMoveReason },
  { header: "TAGS", key: "tags", value: (r) => r.tags },
  { header: "READY", key: "ready", value: (r) => r.ready },
];

function tagsState(tenant: TenantObject): AuditRow["tags"] {
  const status = conditionOf(tenant, "TagsCompliant")?.status;
  if (status === "True") return "compliant";
  if (status === "False") return "drift";
  return "unknown";
}

/** The audit rows of `tenants`, filtered and sorted by tenant. Pure: no cluster. */
export function auditRows(
  tenants: readonly TenantObject[],
  decisions: readonly DecisionObject[],
  filter: { tier?: string; pool?: string } = {},
): AuditRow[] {
  const byTenant = new Map<string, DecisionObject[]>();
  for (const decision of decisions) {
    const id = decision.metadata.labels?.[TENANT_LABEL] ?? decision.spec?.tenant;
    if (!id) continue;
    const list = byTenant.get(id) ?? [];
    list.push(decision);
    byTenant.set(id, list);
  }
  return tenants
    .filter((t) => filter.tier === undefined || t.status?.tier === filter.tier)
    .filter((t) => filter.pool === undefined || (t.status?.pool ?? t.spec?.pool) === filter.pool)
    .map((t): AuditRow => {
      const status = t.status ?? {};
      const revenue = status.signals?.monthlyRevenueUSD;
      const move = newestMove(byTenant.get(t.metadata.name) ?? []);
      return {
        tenant: t.metadata.name,
        tier: status.tier,
        target: status.targetTier,
        pool: status.pool ?? t.spec?.pool,
        namespace: status.namespace,
        phase: status.phase,
        revenue: typeof revenue === "number" ? revenue : undefined,
        cost: costFigures(t.spec?.reportedSignals).cost,
        margin: costFigures(t.spec?.reportedSignals).margin,
        recommendation: status.recommendation?.tier,
        lastMove: move?.spec?.requestedAt,
        lastMoveBy: move?.spec?.actor,
        lastMoveReason: move?.spec?.reason,
        tags: tagsState(t),
        ready: conditionOf(t, "Ready")?.status,
      };
    })
    .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
}

export async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "verify" || sub === "export") {
    const { values, positionals } = parseFlags(rest, {
      tenant: { type: "string" },
      ...(sub === "verify" ? { file: { type: "string" } } : { since: { type: "string" }, output: { type: "string", short: "o" }, verify: { type: "string" } }),
      ...KUBECONFIG_FLAG,
    });
    if (positionals.length > 0) throw new UsageError(`audit ${sub} takes no arguments, got "${positionals.join(" ")}"`);
    const { verifyCommand, exportCommand } = await import("./auditTrail.ts");
    return sub === "verify" ? verifyCommand(values as { tenant?: string; file?: string; kubeconfig?: string }) : exportCommand(values as { since?: string; output?: string; tenant?: string; verify?: string; kubeconfig?: string });
  }
  const { values, positionals } = parseFlags(args, {
    output: { type: "string", short: "o" },
    tier: { type: "string" },
    pool: { type: "string" },
    ...KUBECONFIG_FLAG,
  });
  if (positionals.length > 0) throw new UsageError(`takes no arguments but the subcommands verify and export, got "${positionals.join(" ")}"`);
  const format = parseOutputFormat(values.output);
  if (values.tier !== undefined && !(TIERS as readonly string[]).includes(values.tier)) {
    throw new UsageError(`--tier must be one of ${TIERS.join(", ")}, got "${values.tier}"`);
  }
  const connection = connect(values.kubeconfig);
  const [tenants, decisions, report] = await Promise.all([
    listAll<TenantObject>(connection, "TenantPlacement"),
    listAll<DecisionObject>(connection, "PlacementDecision"),
    lastCostReport(connection),
  ]);
  const filter = { ...(values.tier !== undefined ? { tier: values.tier } : {}), ...(values.pool !== undefined ? { pool: values.pool } : {}) };
  const rows = auditRows(tenants, decisions, filter);
  process.stdout.write(render(rows, AUDIT_COLUMNS, format));
  if (rows.length === 0 && format === "table") process.stderr.write("no TenantPlacements match\n");
  // Beside the table only: json, yaml and csv stay what a script parses, with nothing else said.
  if (format === "table") process.stderr.write(`Last CostReport: ${reportLine(report)}\n`);
  return 0;
}
