import { TIERS, type Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { allocate, formatCents, parseUsdCents, type AllocationInput, type AllocationLine, type AwsCostRow, type CostTenant } from "../costs/allocate.ts";
import { parseAwsCosts } from "../costs/aws.ts";
import { checkCostLoopFlags, COST_LOOP_FLAGS, COST_LOOP_HELP, costLoop, wantsCostLoop } from "../costs/run/command.ts";
import { connect, KUBECONFIG_FLAG, listAll } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";
import { parseOutputFormat, render, type Column, type OutputFormat } from "./output.ts";
import { readManifestFiles, readText } from "./plan.ts";

export const COSTS_HELP = `Usage: landlord costs [--pool-cost POOL=USD ...] [--aws-costs costs.csv] [--account TENANT=ACCOUNT_ID ...]
                      [-f tenants.yaml ...] [--kubeconfig PATH] [-o table|json|yaml|csv]

Per-tenant monthly cost, in USD, on integer cents:
  pooled              the pool's cost (--pool-cost) split by requestsPerDay share (status.signals)
                      when every pooled member of the pool has it, else equally; largest remainder,
                      so the shares add up to the pool cost to the cent
  namespace/database  AWS rows tagged landlord.dev/tenant=<id>
  account             AWS rows of the tenant's linked account (--account, or the account id the
                      operator recorded in status: an aws:organizations/account:Account in
                      status.resources, or the account stack's accountId in status.stacks)
Untagged rows, and tags naming no tenant, are reported as "(unallocated)", so the TOTAL row
equals the sum of every input (checked; a mismatch is an error).

The tenants (with their status: tier, pool, signals) are read from the cluster, or with -f from
files, e.g. a saved kubectl get tp -o yaml.

Options:
  --pool-cost POOL=USD     monthly cost of a pool, e.g. standard=12000. Repeatable.
  --aws-costs FILE         CSV with header linked_account,tag_landlord_dev_tenant,service,unblended_cost_usd
                           (Cost Explorer / CUR export grouped by the landlord.dev/tenant tag); each
                           row is rounded to the cent
  --account TENANT=ID      the AWS account of an account-tier tenant. Repeatable.
  -f, --file FILE          read TenantPlacements from FILE instead of the cluster (offline). Repeatable.
  --kubeconfig PATH        cluster to read (default: KUBECONFIG, else in-cluster)
  -o, --output FORMAT      table (default), json, yaml or csv

${COST_LOOP_HELP}
Examples:
  npx landlord costs --pool-cost standard=12000 --aws-costs costs.csv
  npx landlord costs --pool-cost standard=12000 --bill examples/costs/bill.csv --record --html report.html
  npx landlord costs -f test/fixtures/costs/tenants.yaml --pool-cost standard=1000 --pool-cost eu=100 \\
    --aws-costs test/fixtures/costs/costs.csv
`;

/**
 * A TenantPlacement as costs reads it: from a file (schema-checked) or from the cluster (raw JSON,
 * any field may be missing, and a newer operator may have written fields this CLI does not know).
 */
export interface CostPlacement extends KubeObject {
  spec?: { tenantId?: string; pool?: string };
  status?: {
    tier?: string;
    pool?: string;
    signals?: Record<string, number>;
    resources?: readonly { kind: string; id?: string }[];
    stacks?: readonly { kind?: string; accountId?: string }[];
  };
}

const AWS_ACCOUNT_ID = /^\d{12}$/;

function pairs(flag: string, values: readonly string[] | undefined): [string, string][] {
  return (values ?? []).map((v) => {
    const at = v.indexOf("=");
    if (at <= 0 || at === v.length - 1) throw new UsageError(`${flag}: expected NAME=VALUE, got "${v}"`);
    return [v.slice(0, at), v.slice(at + 1)];
  });
}

const idOf = (t: CostPlacement): string => t.spec?.tenantId ?? t.metadata.name;

/** The cost view of a TenantPlacement: tier, pool and requestsPerDay from its status. */
export function costTenant(t: CostPlacement): CostTenant {
  const tier = t.status?.tier;
  const requestsPerDay = t.status?.signals?.requestsPerDay;
  return {
    tenantId: idOf(t),
    tier: tier !== undefined && (TIERS as readonly string[]).includes(tier) ? (tier as Tier) : undefined,
    pool: t.status?.pool ?? t.spec?.pool,
    requestsPerDay: typeof requestsPerDay === "number" ? requestsPerDay : undefined,
  };
}

/**
 * AWS account id → tenant, for the accounts the operator recorded in status: an Organizations
 * account in status.resources, or the account stack's accountId in status.stacks.
 */
export function inventoryAccounts(tenants: readonly CostPlacement[]): Record<string, string> {
  const accounts: Record<string, string> = {};
  for (const t of tenants) {
    for (const r of t.status?.resources ?? []) {
      if (/organizations\/account/i.test(r.kind) && r.id && AWS_ACCOUNT_ID.test(r.id)) accounts[r.id] = idOf(t);
    }
    for (const stack of t.status?.stacks ?? []) {
      if (stack.kind === "account" && stack.accountId && AWS_ACCOUNT_ID.test(stack.accountId)) accounts[stack.accountId] = idOf(t);
    }
  }
  return accounts;
}

export type CostRow = AllocationLine;

export const COST_COLUMNS: readonly Column<CostRow>[] = [
  { header: "TENANT", key: "tenant", value: (r) => r.tenant },
  // "" (no tier, no pool) is null in json/yaml, as in the other commands' output.
  { header: "TIER", key: "tier", value: (r) => r.tier || undefined },
  { header: "POOL", key: "pool", value: (r) => r.pool || undefined },
  { header: "BASIS", key: "basis", value: (r) => r.basis },
  { header: "COST_USD", key: "costUSD", value: (r) => formatCents(r.cents) },
];

export interface CostReportInput {
  tenants: readonly CostPlacement[];
  /** Monthly cost of each pool, in cents. */
  poolCosts: Readonly<Record<string, number>>;
  awsRows: readonly AwsCostRow[];
  /** --account TENANT=ID pairs, added to (and overriding) the accounts found in status. */
  accounts?: readonly [tenant: string, account: string][];
}

/** What allocate() is given for the command's inputs. Pure. */
export function allocationInput(input: CostReportInput): AllocationInput {
  const accounts = inventoryAccounts(input.tenants);
  for (const [tenant, account] of input.accounts ?? []) accounts[account] = tenant;
  return { tenants: input.tenants.map(costTenant), poolCosts: input.poolCosts, awsRows: input.awsRows, accounts };
}

/** The rows `landlord costs` prints: one per tenant, the unallocated lines, then TOTAL. Pure. */
export function costRows(input: CostReportInput): CostRow[] {
  const allocation = allocate(allocationInput(input));
  return [...allocation.lines, { tenant: "TOTAL", tier: "", pool: "", basis: "sum of all inputs", cents: allocation.totalCents }];
}

/** Prints the report; separate from costsCommand so the table can be tested without a process. */
export function renderCosts(rows: readonly CostRow[], format: OutputFormat): string {
  return render(rows, COST_COLUMNS, format);
}

export function poolCostFlags(values: readonly string[] | undefined): Record<string, number> {
  const poolCosts: Record<string, number> = {};
  for (const [pool, usd] of pairs("--pool-cost", values)) {
    let cents: number;
    try {
      cents = parseUsdCents(usd);
    } catch {
      throw new UsageError(`--pool-cost ${pool}: expected a USD amount such as 12000 or 12000.50, got "${usd}"`);
    }
    if (cents < 0) throw new UsageError(`--pool-cost ${pool}: must not be negative, got "${usd}"`);
    if (pool in poolCosts) throw new UsageError(`--pool-cost ${pool} is given twice`);
    poolCosts[pool] = cents;
  }
  return poolCosts;
}

export function awsCostFile(file: string | undefined): AwsCostRow[] {
  if (!file) return [];
  try {
    return parseAwsCosts(readText(file));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function costsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    file: { type: "string", short: "f", multiple: true },
    "pool-cost": { type: "string", multiple: true },
    "aws-costs": { type: "string" },
    account: { type: "string", multiple: true },
    output: { type: "string", short: "o" },
    ...KUBECONFIG_FLAG,
    ...COST_LOOP_FLAGS,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const format = parseOutputFormat(values.output);
  const files = values.file ?? [];
  if (files.length > 0 && values.kubeconfig !== undefined) throw new UsageError("give either -f files or --kubeconfig, not both");
  const poolCosts = poolCostFlags(values["pool-cost"]);
  const accounts = pairs("--account", values.account);
  for (const [tenant, account] of accounts) {
    if (!AWS_ACCOUNT_ID.test(account)) throw new UsageError(`--account ${tenant}: expected a 12-digit AWS account id, got "${account}"`);
  }
  // Inputs are checked before the cluster is asked, so a typo costs no round trip.
  if (values.bill !== undefined && values["aws-costs"] !== undefined) throw new UsageError("give either --bill or --aws-costs, not both");
  checkCostLoopFlags(values, files.length > 0);
  const awsFile = values.bill ?? values["aws-costs"];
  const awsRows = awsCostFile(awsFile);
  if (Object.keys(poolCosts).length === 0 && awsRows.length === 0) throw new UsageError("nothing to allocate: give --pool-cost POOL=USD and/or --aws-costs costs.csv");

  let tenants: CostPlacement[];
  let from: string;
  let connection: ReturnType<typeof connect> | undefined;
  if (files.length > 0) {
    tenants = readManifestFiles(files).tenants.map((t) => t.object);
    from = files.join(", ");
    if (tenants.length === 0) throw new UsageError(`no TenantPlacement in ${from}`);
  } else {
    connection = connect(values.kubeconfig);
    tenants = await listAll<CostPlacement>(connection, "TenantPlacement", values.selector);
    from = `the cluster at ${connection.server}`;
    // Not a usage error: the command was right, the cluster has nothing to charge.
    if (tenants.length === 0) throw new Error(`no TenantPlacements in ${from}; nothing to charge the costs to`);
  }
  const ids = new Set(tenants.map(idOf));
  for (const [tenant] of accounts) {
    if (ids.has(tenant)) continue;
    const message = `--account: no tenant "${tenant}" in ${from}`;
    throw files.length > 0 ? new UsageError(message) : new Error(message);
  }
  process.stdout.write(renderCosts(costRows({ tenants, poolCosts, awsRows, accounts }), format));
  if (wantsCostLoop(values)) {
    const source = files.length > 0 ? files.join(", ") : "the cluster";
    const allocation = allocationInput({ tenants, poolCosts, awsRows, accounts });
    for (const line of await costLoop({ values, tenants, allocation, awsFile, from: source, connection })) process.stderr.write(`${line}\n`);
  }
  return 0;
}
