import type { TenantPlacement } from "../api/v1alpha1/index.ts";
import { allocate, formatCents, parseUsdCents, type AllocationLine, type CostTenant } from "../costs/allocate.ts";
import { parseAwsCosts } from "../costs/aws.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";
import { parseOutputFormat, render, type Column } from "./output.ts";
import { readManifestFiles, readText } from "./plan.ts";

export const COSTS_HELP = `Usage: landlord costs -f tenants.yaml [--pool-cost POOL=USD ...] [--aws-costs costs.csv]
                      [--account TENANT=ACCOUNT_ID ...] [-o table|json|yaml|csv]

Per-tenant monthly cost, in USD, on integer cents:
  pooled              the pool's cost (--pool-cost) split by requestsPerDay share (status.signals)
                      when every pooled member of the pool has it, else equally; largest remainder,
                      so the shares add up to the pool cost to the cent
  namespace/database  AWS rows tagged landlord.dev/tenant=<id>
  account             AWS rows of the tenant's linked account (--account, or an
                      aws:organizations/account:Account in status.resources)
Untagged rows, and tags naming no tenant in the files, are reported as "(unallocated)", so the
TOTAL row equals the sum of every input (checked; a mismatch is an error).

Options:
  -f, --file FILE          TenantPlacements with status (tier, pool, signals). Repeatable. Required:
                           reading tenants from the cluster is not implemented yet.
  --pool-cost POOL=USD     monthly cost of a pool, e.g. standard=12000. Repeatable.
  --aws-costs FILE         CSV with header linked_account,tag_landlord_dev_tenant,service,unblended_cost_usd
                           (Cost Explorer / CUR export grouped by the landlord.dev/tenant tag); each
                           row is rounded to the cent
  --account TENANT=ID      the AWS account of an account-tier tenant. Repeatable.
  -o FORMAT                table (default), json, yaml or csv

Example:
  npx landlord costs -f test/fixtures/costs/tenants.yaml --pool-cost standard=12000 --pool-cost eu=3000 \\
    --aws-costs test/fixtures/costs/costs.csv --account hooli=210987654321
`;

function pairs(flag: string, values: readonly string[] | undefined): [string, string][] {
  return (values ?? []).map((v) => {
    const at = v.indexOf("=");
    if (at <= 0 || at === v.length - 1) throw new UsageError(`${flag}: expected NAME=VALUE, got "${v}"`);
    return [v.slice(0, at), v.slice(at + 1)];
  });
}

/** The cost view of a TenantPlacement: tier, pool and requestsPerDay from its status. */
export function costTenant(t: TenantPlacement): CostTenant {
  return {
    tenantId: t.spec.tenantId,
    tier: t.status?.tier,
    pool: t.status?.pool ?? t.spec.pool,
    requestsPerDay: t.status?.signals?.requestsPerDay,
  };
}

/** Account ids of account-tier tenants found in their status.resources inventory. */
export function inventoryAccounts(tenants: readonly TenantPlacement[]): Record<string, string> {
  const accounts: Record<string, string> = {};
  for (const t of tenants) {
    for (const r of t.status?.resources ?? []) {
      if (/organizations\/account/i.test(r.kind) && r.id && /^\d{12}$/.test(r.id)) accounts[r.id] = t.spec.tenantId;
    }
  }
  return accounts;
}

const COLUMNS: Column<AllocationLine & { total?: boolean }>[] = [
  { header: "TENANT", key: "tenant", value: (r) => r.tenant },
  { header: "TIER", key: "tier", value: (r) => r.tier },
  { header: "POOL", key: "pool", value: (r) => r.pool },
  { header: "BASIS", key: "basis", value: (r) => r.basis },
  { header: "COST_USD", key: "costUSD", value: (r) => formatCents(r.cents) },
];

export async function costsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    file: { type: "string", short: "f", multiple: true },
    "pool-cost": { type: "string", multiple: true },
    "aws-costs": { type: "string" },
    account: { type: "string", multiple: true },
    output: { type: "string", short: "o" },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const format = parseOutputFormat(values.output);
  const files = values.file ?? [];
  if (files.length === 0) throw new UsageError("-f tenants.yaml is required (reading tenants from the cluster is not implemented yet)");

  const poolCosts: Record<string, number> = {};
  for (const [pool, usd] of pairs("--pool-cost", values["pool-cost"])) {
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

  const tenants = readManifestFiles(files).tenants.map((t) => t.object);
  if (tenants.length === 0) throw new UsageError(`no TenantPlacement in ${files.join(", ")}`);
  const ids = new Set(tenants.map((t) => t.spec.tenantId));
  const accounts = inventoryAccounts(tenants);
  for (const [tenant, account] of pairs("--account", values.account)) {
    if (!/^\d{12}$/.test(account)) throw new UsageError(`--account ${tenant}: expected a 12-digit AWS account id, got "${account}"`);
    if (!ids.has(tenant)) throw new UsageError(`--account: no tenant "${tenant}" in ${files.join(", ")}`);
    accounts[account] = tenant;
  }

  let awsRows: ReturnType<typeof parseAwsCosts> = [];
  const awsFile = values["aws-costs"];
  if (awsFile) {
    try {
      awsRows = parseAwsCosts(readText(awsFile));
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`${awsFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (Object.keys(poolCosts).length === 0 && awsRows.length === 0) throw new UsageError("nothing to allocate: give --pool-cost POOL=USD and/or --aws-costs costs.csv");

  const allocation = allocate({ tenants: tenants.map(costTenant), poolCosts, awsRows, accounts });
  const rows = [...allocation.lines, { tenant: "TOTAL", tier: "", pool: "", basis: "sum of all inputs", cents: allocation.totalCents }];
  process.stdout.write(render(rows, COLUMNS, format));
  return 0;
}
