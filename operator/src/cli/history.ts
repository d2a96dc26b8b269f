import { DNS_LABEL, TENANT_LABEL } from "../api/v1alpha1/index.ts";
import { connect, KUBECONFIG_FLAG, listAll, type DecisionObject, type TenantObject } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";
import { parseOutputFormat, render, type Column } from "./output.ts";

export const HISTORY_HELP = `Usage: landlord history <tenant> [-o table|json|yaml|csv] [--kubeconfig PATH]

The tenant's audit trail: its PlacementDecisions (label landlord.dev/tenant=<tenant>) in order,
each with when it was requested, the move (from → to; no from for the first placement), what
triggered it, how it ended, the policy rule that matched, and who caused it and why: the user the
API server authenticated for the approval or spec.tier change (landlord.dev/approved-by or
landlord.dev/tier-changed-by) and the reason they gave. \`landlord audit verify\` checks the trail.

Options:
  -o, --output FORMAT   table (default), json, yaml or csv
  --kubeconfig PATH     cluster to read (default: KUBECONFIG, else in-cluster)

Example:
  npx landlord history acme
`;

export const HISTORY_COLUMNS: readonly Column<DecisionObject>[] = [
  { header: "DECISION", key: "decision", value: (d) => d.metadata.name },
  { header: "REQUESTED", key: "requested", value: (d) => d.spec?.requestedAt },
  { header: "FROM", key: "from", value: (d) => d.spec?.from },
  { header: "TO", key: "to", value: (d) => d.spec?.to },
  { header: "TRIGGER", key: "trigger", value: (d) => d.spec?.trigger },
  { header: "OUTCOME", key: "outcome", value: (d) => d.status?.outcome },
  { header: "RULE", key: "rule", value: (d) => d.spec?.rule },
  { header: "ACTOR", key: "actor", value: (d) => d.spec?.actor },
  { header: "REASON", key: "reason", value: (d) => d.spec?.reason },
];

/** Decisions in order of their names (`<tenant>-<4-digit sequence>` sorts by sequence). */
export function sortDecisions(decisions: readonly DecisionObject[]): DecisionObject[] {
  return [...decisions].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

export async function historyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { output: { type: "string", short: "o" }, ...KUBECONFIG_FLAG });
  const format = parseOutputFormat(values.output);
  const [tenant, ...extra] = positionals;
  if (!tenant) throw new UsageError("expected a tenant id, e.g. landlord history acme");
  if (extra.length > 0) throw new UsageError(`expected one tenant id, got "${positionals.join(" ")}"`);
  if (!DNS_LABEL.test(tenant)) throw new UsageError(`"${tenant}" is not a tenant id (a DNS-1123 label such as acme)`);
  const connection = connect(values.kubeconfig);
  const decisions = sortDecisions(await listAll<DecisionObject>(connection, "PlacementDecision", `${TENANT_LABEL}=${tenant}`));
  if (decisions.length === 0) {
    const placement = await connection.resources.get<TenantObject>("TenantPlacement", tenant);
    if (!placement) {
      process.stderr.write(`landlord history: no TenantPlacement or decisions named ${tenant}\n`);
      return 1;
    }
    if (format === "table") {
      process.stderr.write(`tenant ${tenant} has no PlacementDecisions yet (it has not been placed)\n`);
      return 0;
    }
  }
  process.stdout.write(render(decisions, HISTORY_COLUMNS, format));
  return 0;
}
