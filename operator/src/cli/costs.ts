import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { TIERS, tenantPool, type Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { AllocationError, formatCents, parseUsdCents, SHARED_RULES, type CostPool, type CostTenant, type SharedRule } from "../costs/allocate.ts";
import { COST_BASES, UNITS_PER_CENT, type BillGroup, type CostBasis, type InputSummary, type NamespaceCost } from "../costs/model.ts";
import { fetchOpenCost, periodWindow } from "../costs/opencost.ts";
import { BillError, readBill, resolveLocal, type BillRead } from "../costs/reader.ts";
import { buildReport, DEFAULT_REVENUE_SIGNAL, reportJson, type CostReport, type ReportLine } from "../costs/report.ts";
import { costRunFromReport } from "../costs/run/costRun.ts";
import { checkCostLoopFlags, COST_LOOP_FLAGS, COST_LOOP_HELP, costLoop, signalNames, wantsCostLoop } from "./costLoop.ts";
import { downloadS3Prefix } from "../costs/s3.ts";
import { connect, KUBECONFIG_FLAG, listAll } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";
import { parseOutputFormat, render, type Column, type OutputFormat } from "./output.ts";
import { readManifestFiles, readText } from "./plan.ts";

export const COSTS_HELP = `Usage: landlord costs --bill EXPORT [--bill EXPORT ...] [--basis BASIS] [--period YYYY-MM]
                      [--opencost URL] [--shared none|proportional|even] [--revenue-signal NAME]
                      [--account TENANT=ACCOUNT_ID ...] [--pool-cost POOL=AMOUNT ...]
                      [-f tenants.yaml ...] [--kubeconfig PATH] [-o table|json|yaml|csv]

Per-tenant cost for one billing period from the real cloud bill, exact to the cent, with revenue,
margin and cost share. Rules (each line's BASIS column says which applied):
  account tier        rows of the tenant's linked account (status, or --account)
  any tier            rows tagged landlord.dev/tenant=<id>; a tag naming no tenant gets its own line
  namespace tenants   + the Kubernetes cost of namespace tenant-<id> (EKS split cost allocation
                      rows in the CUR, or OpenCost)
  pooled              the pool's cost (rows tagged landlord.dev/pool=<pool> and no tenant, plus its
                      shard namespaces' Kubernetes cost, plus --pool-cost) split per category
                      (compute, storage, database, network, other) by the signal the TenantPool's
                      spec.costAllocation names for it (default requestsPerDay); a member without
                      it falls back to the default signal, then to equal shares
  shared              untagged rows: one line per charge type (Usage, Tax, Credit, ...), or spread
                      with --shared proportional|even
Shares use the largest remainder method; the TOTAL equals the sum of the inputs to the cent.

Options:
  --bill EXPORT            a CUR 2.0 or FOCUS 1.2 export (or the legacy 4-column CSV): a .parquet,
                           .csv or .csv.gz file, a directory, a glob, or s3://bucket/prefix (AWS
                           credential chain; AWS_ENDPOINT_URL_S3 for S3-compatible stores).
                           Repeatable; the format is detected from the columns
  --aws-costs FILE         same as --bill (the old name)
  --basis BASIS            cost column: unblended (default), net, amortized for CUR 2.0; billed,
                           effective, list, contracted for FOCUS (unblended=billed,
                           amortized=effective in either)
  --period YYYY-MM         billing period; default: the only one in the export. Rows of other
                           periods are excluded and counted
  --opencost URL           OpenCost API (e.g. http://opencost.opencost:9003): cost by namespace
                           for the period, moved out of the bill's untagged usage
  --opencost-window W      OpenCost window instead of the period's month (e.g. lastmonth)
  --shared RULE            untagged platform cost: none (own lines, default), proportional (to
                           each tenant's cost), even
  --revenue-signal NAME    signal holding each tenant's monthly revenue (default ${DEFAULT_REVENUE_SIGNAL})
  --account TENANT=ID      the AWS account of an account-tier tenant. Repeatable.
  --pool-cost POOL=AMOUNT  an extra monthly pool cost outside the bill, e.g. standard=1200. Repeatable.
  -f, --file FILE          read TenantPlacements and TenantPools from FILE instead of the cluster
  --kubeconfig PATH        cluster to read (default: KUBECONFIG, else in-cluster)
  -o, --output FORMAT      table (default), csv (the lines), json or yaml (the whole report)

${COST_LOOP_HELP}
Examples:
  npx landlord costs --bill s3://billing/cur2/data/BILLING_PERIOD=2026-11/ --basis amortized
  npx landlord costs --bill examples/costs/cur2-2026-11.csv --period 2026-11 --account hooli=210987654321 -o json
  npx landlord costs --bill examples/costs/cur2-2026-11.csv --period 2026-11 --record --html report.html
`;

/**
 * A TenantPlacement as costs reads it: from a file (schema-checked) or from the cluster (raw JSON,
 * any field may be missing, and a newer operator may have written fields this CLI does not know).
 */
export interface CostPlacement extends KubeObject {
  spec?: { tenantId?: string; pool?: string; reportedSignals?: Record<string, number> };
  status?: {
    tier?: string;
    pool?: string;
    namespace?: string;
    signals?: Record<string, number>;
    resources?: readonly { kind: string; id?: string }[];
    stacks?: readonly { kind?: string; accountId?: string }[];
  };
}

/** A TenantPool as costs reads it (raw from the cluster, or schema-checked from a file). */
export interface CostPoolObject extends KubeObject {
  spec?: { namespacePrefix?: string; costAllocation?: Record<string, string> };
  status?: { shards?: readonly { namespace?: string }[] };
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

const numbers = (record: Record<string, unknown> | undefined): Record<string, number> =>
  Object.fromEntries(Object.entries(record ?? {}).filter((e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1])));

/** The cost view of a TenantPlacement: tier, pool, namespace and signals from its status. */
export function costTenant(t: CostPlacement): CostTenant {
  const tier = t.status?.tier;
  return {
    tenantId: idOf(t),
    tier: tier !== undefined && (TIERS as readonly string[]).includes(tier) ? (tier as Tier) : undefined,
    pool: t.status?.pool ?? t.spec?.pool,
    namespace: t.status?.namespace,
    // status.signals is what the operator last evaluated; reported values fill the gaps.
    signals: { ...numbers(t.spec?.reportedSignals), ...numbers(t.status?.signals) },
  };
}

export function costPool(p: CostPoolObject): CostPool {
  return {
    name: p.metadata.name,
    costAllocation: p.spec?.costAllocation,
    namespacePrefix: p.spec?.namespacePrefix,
    namespaces: (p.status?.shards ?? []).map((s) => s.namespace).filter((n): n is string => typeof n === "string"),
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

const money = (cents: number | undefined): string | undefined => (cents === undefined ? undefined : formatCents(cents));
const pct = (share: number | undefined): string | undefined => (share === undefined ? undefined : `${(share * 100).toFixed(2)}%`);

export const COST_COLUMNS: readonly Column<ReportLine>[] = [
  { header: "TENANT", key: "tenant", value: (r) => r.tenant },
  // "" (no tier, no pool) is null in csv/json, as in the other commands' output.
  { header: "TIER", key: "tier", value: (r) => r.tier || undefined },
  { header: "POOL", key: "pool", value: (r) => r.pool || undefined },
  { header: "COST", key: "cost", value: (r) => formatCents(r.cents) },
  { header: "REVENUE", key: "revenue", value: (r) => money(r.revenueCents) },
  { header: "MARGIN", key: "margin", value: (r) => money(r.marginCents) },
  { header: "MARGIN%", key: "marginPercent", value: (r) => (r.marginPercent === undefined ? undefined : `${r.marginPercent.toFixed(2)}%`) },
  { header: "COST_SHARE", key: "costShare", value: (r) => pct(r.costShare) },
  { header: "REVENUE_SHARE", key: "revenueShare", value: (r) => pct(r.revenueShare) },
  { header: "BASIS", key: "basis", value: (r) => r.basis },
];

function totalLine(report: CostReport): ReportLine {
  const revenue = report.lines.reduce((a, l) => a + (l.revenueCents ?? 0), 0);
  return {
    kind: "shared",
    tenant: "TOTAL",
    tier: "",
    pool: "",
    basis: "sum of all inputs",
    cents: report.totalCents,
    categories: { compute: 0, storage: 0, database: 0, network: 0, other: 0 },
    units: 0n,
    rows: 0,
    revenueCents: revenue,
    marginCents: revenue - report.totalCents,
  };
}

const describeInput = (i: InputSummary): string => {
  const files = i.files.length === 1 ? `sha256 ${i.files[0]?.sha256.slice(0, 12)}` : i.files.length > 1 ? `${i.files.length} files` : "";
  const excluded = i.excludedRows > 0 ? `, ${i.excludedRows} row${i.excludedRows === 1 ? "" : "s"} outside the period excluded (${formatCents(Number(i.excludedUnits / UNITS_PER_CENT))})` : "";
  return `${i.source} (${i.kind}, ${i.rows} row${i.rows === 1 ? "" : "s"}${excluded}${files ? `, ${files}` : ""})`;
};

/** Prints the report: the lines and TOTAL, and for table a summary under them. */
export function renderCosts(report: CostReport, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(reportJson(report), null, 2)}\n`;
  if (format === "yaml") return stringify(reportJson(report));
  const rows = [...report.lines, totalLine(report)];
  const table = render(rows, COST_COLUMNS, format);
  if (format === "csv") return table;
  const group = (list: CostReport["tiers"]): string => list.map((g) => `${g.name} ${g.tenants} tenants ${formatCents(g.cents)}`).join(", ") || "none";
  const summary = [
    `Period ${report.period || "(none)"}, ${report.currency}, basis ${report.basis}, shared cost ${report.sharedRule}, revenue from ${report.revenueSignal}.`,
    `Inputs: ${report.inputs.map(describeInput).join("; ")}.`,
    `Charge types: ${report.chargeTypes.map((c) => `${c.chargeType || "(none)"} ${formatCents(c.cents)}`).join(", ") || "none"}.`,
    `Tiers: ${group(report.tiers)}. Pools: ${group(report.pools)}.`,
    `On tenants: ${pct(report.attributedShare)} of the total. Pareto: the top 1% (${report.pareto.top1Percent.tenants} tenants) carry ${pct(report.pareto.top1Percent.share)} of the tenants' cost, the top 10% (${report.pareto.top10Percent.tenants}) ${pct(report.pareto.top10Percent.share)}.`,
  ];
  return `${table}\n${summary.join("\n")}\n`;
}

export function poolCostFlags(values: readonly string[] | undefined): Record<string, bigint> {
  const poolCosts: Record<string, bigint> = {};
  for (const [pool, amount] of pairs("--pool-cost", values)) {
    let cents: number;
    try {
      cents = parseUsdCents(amount);
    } catch {
      throw new UsageError(`--pool-cost ${pool}: expected an amount such as 12000 or 12000.50, got "${amount}"`);
    }
    if (cents < 0) throw new UsageError(`--pool-cost ${pool}: must not be negative, got "${amount}"`);
    if (pool in poolCosts) throw new UsageError(`--pool-cost ${pool} is given twice`);
    poolCosts[pool] = BigInt(cents) * UNITS_PER_CENT;
  }
  return poolCosts;
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}

/** Reads one --bill: local path or s3:// (downloaded to a temporary directory first). */
async function readOneBill(spec: string, basis: CostBasis, period: string | undefined, onQueryStarted?: () => void): Promise<BillRead> {
  if (!spec.startsWith("s3://")) return readBill(await resolveLocal(spec), { basis, period, onQueryStarted });
  const dir = mkdtempSync(join(tmpdir(), "landlord-bill-"));
  try {
    const bucket = spec.slice("s3://".length).split("/")[0] as string;
    await downloadS3Prefix(spec, dir);
    const files = await resolveLocal(dir, spec, (f) => `s3://${bucket}/${f.slice(dir.length + 1)}`);
    return await readBill(files, { basis, period, onQueryStarted }, spec);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TenantPools from -f files (the same files the tenants come from). */
export function poolsFromFiles(files: readonly string[]): CostPoolObject[] {
  const pools: CostPoolObject[] = [];
  const take = (value: unknown): void => {
    if (!value || typeof value !== "object") return;
    const obj = value as { kind?: unknown; items?: unknown };
    if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) obj.items.forEach(take);
    else if (obj.kind === "TenantPool") {
      // readManifestFiles has already checked every TenantPool against the schema.
      const parsed = tenantPool.safeParse(value);
      if (parsed.success) pools.push(parsed.data as CostPoolObject);
    }
  };
  for (const file of files) {
    const text = readText(file);
    // Parsing thousands of TenantPlacements a second time would double the start-up: only the
    // documents that can hold a TenantPool are parsed again.
    if (!text.includes("TenantPool")) continue;
    if (/^\s*\{/.test(text)) take(JSON.parse(text));
    else for (const doc of text.split(/^---\s*$/m)) if (doc.includes("TenantPool")) for (const d of parseAllDocuments(doc) as ReturnType<typeof parseAllDocuments> & unknown[]) take(d.toJS());
  }
  return pools;
}

export interface CostsOptions {
  bills: readonly string[];
  basis: CostBasis;
  period?: string | undefined;
  opencost?: string | undefined;
  opencostWindow?: string | undefined;
  shared: SharedRule;
  revenueSignal: string;
  poolCosts: Record<string, bigint>;
  accounts: readonly [tenant: string, account: string][];
}

/** Reads the bills one after the other; onQueryStarted fires when the first one's query runs (or all are done). */
export async function readBills(options: CostsOptions, onQueryStarted?: () => void): Promise<BillRead[]> {
  const bills: BillRead[] = [];
  try {
    for (const spec of options.bills) bills.push(await readOneBill(spec, options.basis, options.period, onQueryStarted));
  } finally {
    onQueryStarted?.();
  }
  return bills;
}

/**
 * Reads every input and builds the report (everything but finding the tenants and printing).
 * `bills` may be a read already under way (see costsCommand).
 */
export async function costReport(options: CostsOptions, placements: readonly CostPlacement[], poolObjects: readonly CostPoolObject[], reading?: Promise<BillRead[]>): Promise<CostReport> {
  const bills = await (reading ?? readBills(options));
  const periods = [...new Set(bills.map((b) => b.period).filter((p) => p !== ""))];
  if (periods.length > 1) throw new BillError(`the bills cover different billing periods (${periods.join(", ")}); choose one with --period YYYY-MM`);
  const currencies = [...new Set(bills.map((b) => b.currency))];
  if (currencies.length > 1) throw new BillError(`the bills are in different currencies (${bills.map((b) => `${b.input.source}: ${b.currency}`).join(", ")}); one currency per run`);
  const period = periods[0] ?? options.period ?? "";
  const inputs: InputSummary[] = bills.map((b) => b.input);
  let namespaceCosts: NamespaceCost[] = [];
  if (options.opencost) {
    if (!options.opencostWindow && !period) throw new UsageError("--opencost needs a period: give --period YYYY-MM or --opencost-window");
    let window: string;
    try {
      window = options.opencostWindow ?? periodWindow(period);
    } catch (error) {
      throw new UsageError(`--period: ${error instanceof Error ? error.message : String(error)}`);
    }
    const answer = await fetchOpenCost(options.opencost, window);
    namespaceCosts = answer.costs;
    inputs.push({ kind: "opencost", source: answer.source, files: [], rows: answer.costs.length, excludedRows: 0, excludedUnits: 0n });
  }
  for (const [pool, units] of Object.entries(options.poolCosts)) inputs.push({ kind: "pool-cost", source: `--pool-cost ${pool}=${formatCents(Number(units / UNITS_PER_CENT))}`, files: [], rows: 1, excludedRows: 0, excludedUnits: 0n });
  const groups: BillGroup[] = bills.flatMap((b) => b.groups);
  const accounts = inventoryAccounts(placements);
  for (const [tenant, account] of options.accounts) accounts[account] = tenant;
  return buildReport({
    tenants: placements.map(costTenant),
    pools: poolObjects.map(costPool),
    groups,
    namespaceCosts,
    namespaceCostMode: bills.length > 0 ? "carve" : "add",
    poolCosts: options.poolCosts,
    accounts,
    shared: options.shared,
    period,
    currency: currencies[0] ?? "USD",
    basis: options.basis,
    inputs,
    revenueSignal: options.revenueSignal,
  });
}

export async function costsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    file: { type: "string", short: "f", multiple: true },
    bill: { type: "string", multiple: true },
    "aws-costs": { type: "string", multiple: true },
    basis: { type: "string" },
    period: { type: "string" },
    opencost: { type: "string" },
    "opencost-window": { type: "string" },
    shared: { type: "string" },
    "revenue-signal": { type: "string" },
    "pool-cost": { type: "string", multiple: true },
    account: { type: "string", multiple: true },
    output: { type: "string", short: "o" },
    ...KUBECONFIG_FLAG,
    ...COST_LOOP_FLAGS,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const format = parseOutputFormat(values.output);
  const files = values.file ?? [];
  if (files.length > 0 && values.kubeconfig !== undefined) throw new UsageError("give either -f files or --kubeconfig, not both");
  const period = values.period;
  if (period !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new UsageError(`--period must be a billing month YYYY-MM, e.g. 2026-11, got "${period}"`);
  const revenueSignal = values["revenue-signal"] ?? DEFAULT_REVENUE_SIGNAL;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(revenueSignal)) throw new UsageError(`--revenue-signal must be a signal name such as monthlyRevenueUSD, got "${revenueSignal}"`);
  if (values.opencost !== undefined && !/^https?:\/\/[^\s]+$/.test(values.opencost)) throw new UsageError(`--opencost must be an http(s) URL, got "${values.opencost}"`);
  const options: CostsOptions = {
    bills: [...(values.bill ?? []), ...(values["aws-costs"] ?? [])],
    basis: choice("--basis", values.basis, COST_BASES, "unblended"),
    period,
    opencost: values.opencost,
    opencostWindow: values["opencost-window"],
    shared: choice("--shared", values.shared, SHARED_RULES, "none"),
    revenueSignal,
    poolCosts: poolCostFlags(values["pool-cost"]),
    accounts: pairs("--account", values.account),
  };
  for (const [tenant, account] of options.accounts) {
    if (!AWS_ACCOUNT_ID.test(account)) throw new UsageError(`--account ${tenant}: expected a 12-digit AWS account id, got "${account}"`);
  }
  checkCostLoopFlags(values, files.length > 0);
  if (options.bills.length === 0 && !options.opencost && Object.keys(options.poolCosts).length === 0) {
    throw new UsageError("nothing to allocate: give --bill EXPORT (CUR 2.0 or FOCUS), --opencost URL and/or --pool-cost POOL=AMOUNT");
  }

  // The bill's query runs in DuckDB's own threads: started first, it overlaps reading the tenants
  // (parsing files on this thread, or listing them from the cluster).
  let queryStarted = (): void => undefined;
  const started = new Promise<void>((resolve) => (queryStarted = resolve));
  const reading = readBills(options, queryStarted);
  reading.catch(() => undefined); // awaited below; a failure to read the tenants must not leave it unhandled
  await started;

  let placements: CostPlacement[];
  let pools: CostPoolObject[];
  let from: string;
  let connection: ReturnType<typeof connect> | undefined;
  if (files.length > 0) {
    placements = readManifestFiles(files).tenants.map((t) => t.object);
    pools = poolsFromFiles(files);
    from = files.join(", ");
    if (placements.length === 0) throw new UsageError(`no TenantPlacement in ${from}`);
  } else {
    connection = connect(values.kubeconfig);
    placements = await listAll<CostPlacement>(connection, "TenantPlacement", values.selector);
    pools = await listAll<CostPoolObject>(connection, "TenantPool");
    from = `the cluster at ${connection.server}`;
    // Not a usage error: the command was right, the cluster has nothing to charge.
    if (placements.length === 0) throw new Error(`no TenantPlacements in ${from}; nothing to charge the costs to`);
  }
  const ids = new Set(placements.map(idOf));
  for (const [tenant] of options.accounts) {
    if (ids.has(tenant)) continue;
    const message = `--account: no tenant "${tenant}" in ${from}`;
    throw files.length > 0 ? new UsageError(message) : new Error(message);
  }
  let report: CostReport;
  try {
    report = await costReport(options, placements, pools, reading);
  } catch (error) {
    // Bad input is the user's to fix: one line, exit code 2.
    if (error instanceof BillError || error instanceof AllocationError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(renderCosts(report, format));
  if (wantsCostLoop(values)) {
    const names = signalNames(values);
    const costRun = () => costRunFromReport(report, { now: Date.now(), tenants: placements.map(costTenant), from: files.length > 0 ? from : "the cluster", written: [names.cost, names.share, names.margin] });
    for (const line of await costLoop({ values, tenants: placements, costRun, connection })) process.stderr.write(`${line}\n`);
  }
  return 0;
}
