import { COST_KEYS } from "../api/labels.ts";
import type { BillFormat, CostBasis } from "./model.ts";

/**
 * The one aggregation query over a bill export, as SQL text (pure). It reads the export's own
 * columns, never a row in JS: every row is reduced to its group keys (period, currency, account,
 * tenant tag, pool tag, EKS namespace, cost category, charge type, split role) and summed as
 * DECIMAL(38,10). DuckDB runs it here; the README shows the same query for Athena.
 */

/** The columns each format must have (checked before the query runs, so the error names them). */
export const REQUIRED_COLUMNS: Record<BillFormat, readonly string[]> = {
  cur2: [
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_currency_code",
    "line_item_unblended_cost",
    "bill_billing_period_start_date",
    "resource_tags",
  ],
  focus: ["SubAccountId", "ChargeCategory", "ServiceCategory", "BillingCurrency", "BilledCost", "EffectiveCost", "BillingPeriodStart", "Tags"],
  legacy: ["linked_account", "tag_landlord_dev_tenant", "service", "unblended_cost_usd"],
};

/** CUR 2.0 columns the amortized basis reads (AWS's well-known amortized-cost CASE). */
export const AMORTIZED_COLUMNS = [
  "savings_plan_savings_plan_effective_cost",
  "savings_plan_total_commitment_to_date",
  "savings_plan_used_commitment",
  "reservation_effective_cost",
  "reservation_unused_amortized_upfront_fee_for_billing_period",
  "reservation_unused_recurring_fee",
  "reservation_reservation_a_r_n",
] as const;

export const SPLIT_COLUMNS = ["split_line_item_parent_resource_id", "split_line_item_split_cost", "split_line_item_unused_cost"] as const;
export const NET_SPLIT_COLUMNS = ["split_line_item_net_split_cost", "split_line_item_net_unused_cost"] as const;

/**
 * How a tag key is spelled in each format. CUR 2.0 puts activated user tags in resource_tags as
 * "user_" + the key with every character other than a letter, digit or '_' replaced by '_'
 * (landlord.dev/tenant → user_landlord_dev_tenant) and AWS-generated ones as "aws_" + the same
 * (aws:eks:namespace → aws_eks_namespace). FOCUS keeps the key as written.
 */
export function cur2TagKey(key: string, source: "user" | "aws" = "user"): string {
  const bare = source === "aws" ? key.replace(/^aws:/, "") : key;
  return `${source}_${bare.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

export const TENANT_TAG = COST_KEYS.tenant;
export const POOL_TAG = COST_KEYS.pool;
export const EKS_NAMESPACE_TAG = "aws:eks:namespace";

export interface QueryOptions {
  format: BillFormat;
  basis: CostBasis;
  /** A DuckDB table expression that reads the export, e.g. read_parquet([...]). */
  source: string;
  /** Column name → DuckDB type, from DESCRIBE of the source. */
  columns: ReadonlyMap<string, string>;
}

/** The basis each format understands, with the format's own word for it in messages. */
export const BASIS_COLUMN: Record<"cur2" | "focus", Partial<Record<CostBasis, string>>> = {
  cur2: { unblended: "line_item_unblended_cost", billed: "line_item_unblended_cost", net: "line_item_net_unblended_cost", amortized: "(amortized)", effective: "(amortized)" },
  focus: { billed: "BilledCost", unblended: "BilledCost", effective: "EffectiveCost", amortized: "EffectiveCost", list: "ListCost", contracted: "ContractedCost" },
};

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteString = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * One row's amount: DECIMAL(18,10) is an int64 per row (a row below 100,000,000 in the currency,
 * to 10 decimals, as CUR writes them), summed into DECIMAL(38,10); a 128-bit decimal per row would
 * double the query's time.
 */
const money = (expr: string): string => `TRY_CAST(${expr} AS DECIMAL(18,10))`;
const col = quoteIdent;

/** A tag value from a MAP column or a JSON text column; NULL when absent or the JSON is malformed. */
function tagValue(column: string, type: string, keys: readonly string[]): string {
  const isMap = /^MAP\(/i.test(type);
  const one = (key: string): string =>
    isMap ? `NULLIF(${col(column)}[${quoteString(key)}], '')` : `NULLIF(CASE WHEN json_valid(${col(column)}) THEN json_extract_string(${col(column)}, ${quoteString(`$."${key.replace(/"/g, '\\"')}"`)}) END, '')`;
  return keys.length === 1 ? one(keys[0] as string) : `COALESCE(${keys.map(one).join(", ")})`;
}

/** TRUE for a row whose tags column holds text that is not a JSON object (MAP columns cannot be malformed). */
function malformedTags(column: string, type: string): string {
  if (/^MAP\(/i.test(type)) return "FALSE";
  const c = col(column);
  // CASE, not AND: DuckDB evaluates both sides of an AND, and json_type fails on malformed text.
  return `(${c} IS NOT NULL AND trim(${c}) <> '' AND NOT CASE WHEN coalesce(json_valid(${c}), FALSE) THEN json_type(${c}) = 'OBJECT' ELSE FALSE END)`;
}

const CUR_CATEGORY = `CASE
      WHEN line_item_usage_type ILIKE '%DataTransfer%' OR line_item_usage_type ILIKE '%NatGateway%' OR line_item_usage_type ILIKE '%LoadBalancer%'
        OR line_item_product_code IN ('AmazonVPC', 'AmazonCloudFront', 'AWSDataTransfer', 'AmazonRoute53', 'AWSELB', 'AWSGlobalAccelerator') THEN 'network'
      WHEN line_item_product_code IN ('AmazonRDS', 'AmazonDynamoDB', 'AmazonElastiCache', 'AmazonDocDB', 'AmazonNeptune', 'AmazonRedshift', 'AmazonMemoryDB', 'AmazonKeyspaces') THEN 'database'
      WHEN line_item_usage_type ILIKE '%EBS:%' OR line_item_usage_type ILIKE '%TimedStorage%'
        OR line_item_product_code IN ('AmazonS3', 'AmazonEFS', 'AmazonFSx', 'AWSBackup', 'AmazonGlacier') THEN 'storage'
      WHEN line_item_product_code IN ('AmazonEC2', 'AmazonEKS', 'AmazonECS', 'AWSLambda', 'AWSFargate', 'ElasticMapReduce', 'AmazonSageMaker') THEN 'compute'
      ELSE 'other' END`;

const FOCUS_CATEGORY = `CASE "ServiceCategory" WHEN 'Compute' THEN 'compute' WHEN 'Storage' THEN 'storage' WHEN 'Databases' THEN 'database' WHEN 'Networking' THEN 'network' ELSE 'other' END`;

const LEGACY_CATEGORY = `CASE
      WHEN service ILIKE '%Virtual Private Cloud%' OR service ILIKE '%CloudFront%' OR service ILIKE '%Data Transfer%' OR service ILIKE '%Load Balanc%' THEN 'network'
      WHEN service ILIKE '%Relational Database%' OR service ILIKE '%DynamoDB%' OR service ILIKE '%ElastiCache%' THEN 'database'
      WHEN service ILIKE '%Simple Storage%' OR service ILIKE '%Elastic File%' OR service ILIKE '%Elastic Block%' THEN 'storage'
      WHEN service ILIKE '%Elastic Compute%' OR service ILIKE '%Kubernetes%' OR service ILIKE '%Lambda%' OR service ILIKE '%Container%' THEN 'compute'
      ELSE 'other' END`;

/** AWS's amortized cost of a CUR row: commitments spread over the usage they cover. */
const CUR_AMORTIZED = `CASE line_item_line_item_type
      WHEN 'SavingsPlanCoveredUsage' THEN ${money("savings_plan_savings_plan_effective_cost")}
      WHEN 'SavingsPlanRecurringFee' THEN ${money("savings_plan_total_commitment_to_date")} - ${money("savings_plan_used_commitment")}
      WHEN 'SavingsPlanNegation' THEN 0
      WHEN 'SavingsPlanUpfrontFee' THEN 0
      WHEN 'DiscountedUsage' THEN ${money("reservation_effective_cost")}
      WHEN 'RIFee' THEN ${money("reservation_unused_amortized_upfront_fee_for_billing_period")} + ${money("reservation_unused_recurring_fee")}
      ELSE CASE WHEN line_item_line_item_type = 'Fee' AND coalesce(reservation_reservation_a_r_n, '') <> '' THEN 0 ELSE ${money("line_item_unblended_cost")} END
    END`;

export interface BasisChoice {
  /** SQL of the row's cost. */
  cost: string;
  /** The column whose unreadable value makes a row an error. */
  checked: string;
  /** Columns the basis needs besides the required ones. */
  needs: readonly string[];
}

/** The cost expression of a basis, or an Error saying which bases the format has. */
export function basisFor(format: BillFormat, basis: CostBasis): BasisChoice {
  if (format === "legacy") {
    if (basis !== "unblended" && basis !== "billed") throw new Error(`the legacy 4-column CSV has only the unblended cost, not --basis ${basis}`);
    return { cost: money("unblended_cost_usd"), checked: "unblended_cost_usd", needs: [] };
  }
  const column = BASIS_COLUMN[format][basis];
  if (column === undefined) {
    const known = Object.keys(BASIS_COLUMN[format]).join(", ");
    throw new Error(`a ${format === "cur2" ? "CUR 2.0" : "FOCUS"} export has no ${basis} cost basis; use one of ${known}`);
  }
  if (column === "(amortized)") return { cost: CUR_AMORTIZED, checked: "line_item_unblended_cost", needs: AMORTIZED_COLUMNS };
  return { cost: money(col(column)), checked: column, needs: column === "line_item_unblended_cost" ? [] : [column] };
}

/** The select list that reduces one row of the export to its group keys and its cost. */
interface RowExpressions {
  /** Group keys computed per row (period is the raw column: it is formatted per group). */
  keys: Record<string, string>;
  /** Columns the category is computed from, per group (cheaper than per row). */
  categoryColumns: Record<string, string>;
  /** The category, over categoryColumns and the split key. */
  category: string;
  cost: string;
  weight: string;
  badCost: string;
  badTags: string;
}

function rowExpressions(options: QueryOptions, split: boolean): RowExpressions {
  const { format, basis, columns } = options;
  const type = (name: string): string => columns.get(name) ?? "VARCHAR";
  const choice = basisFor(format, basis);
  const badCost = `(${col(choice.checked)} IS NOT NULL AND ${money(col(choice.checked))} IS NULL)`;
  if (format === "legacy") {
    return {
      keys: {
        period: "NULL",
        currency: "'USD'",
        account: "coalesce(linked_account, '')",
        tenant_tag: "coalesce(regexp_replace(tag_landlord_dev_tenant, '^landlord\\.dev/tenant\\$', ''), '')",
        pool_tag: "''",
        namespace: "''",
        charge_type: "'Usage'",
        split: "''",
      },
      categoryColumns: { service: "service" },
      category: LEGACY_CATEGORY,
      cost: choice.cost,
      weight: "0",
      badCost,
      badTags: "FALSE",
    };
  }
  if (format === "focus") {
    return {
      keys: {
        period: `"BillingPeriodStart"`,
        currency: `coalesce("BillingCurrency", '')`,
        account: `coalesce(CAST("SubAccountId" AS VARCHAR), '')`,
        tenant_tag: `coalesce(${tagValue("Tags", type("Tags"), [TENANT_TAG, `user:${TENANT_TAG}`])}, '')`,
        pool_tag: `coalesce(${tagValue("Tags", type("Tags"), [POOL_TAG, `user:${POOL_TAG}`])}, '')`,
        namespace: "''",
        charge_type: `coalesce("ChargeCategory", '')`,
        split: "''",
      },
      categoryColumns: { ServiceCategory: `"ServiceCategory"` },
      category: FOCUS_CATEGORY,
      cost: choice.cost,
      weight: "0",
      badCost,
      badTags: malformedTags("Tags", type("Tags")),
    };
  }
  const tags = type("resource_tags");
  const net = basis === "net";
  const splitCost = net ? NET_SPLIT_COLUMNS : SPLIT_COLUMNS.slice(1);
  return {
    keys: {
      period: "bill_billing_period_start_date",
      currency: "coalesce(line_item_currency_code, '')",
      account: "coalesce(CAST(line_item_usage_account_id AS VARCHAR), '')",
      tenant_tag: `coalesce(${tagValue("resource_tags", tags, [cur2TagKey(TENANT_TAG)])}, '')`,
      pool_tag: `coalesce(${tagValue("resource_tags", tags, [cur2TagKey(POOL_TAG)])}, '')`,
      namespace: split ? `CASE WHEN coalesce(split_line_item_parent_resource_id, '') <> '' THEN coalesce(${tagValue("resource_tags", tags, [cur2TagKey(EKS_NAMESPACE_TAG, "aws")])}, '') ELSE '' END` : "''",
      charge_type: "coalesce(line_item_line_item_type, '')",
      split: split ? "CASE WHEN coalesce(split_line_item_parent_resource_id, '') <> '' THEN 'pod' WHEN parents.id IS NOT NULL THEN 'parent' ELSE '' END" : "''",
    },
    categoryColumns: { line_item_product_code: "line_item_product_code", line_item_usage_type: "line_item_usage_type" },
    // Pod rows are the vCPU and memory of a pod: compute.
    category: split ? `CASE WHEN split = 'pod' THEN 'compute' ELSE ${CUR_CATEGORY} END` : CUR_CATEGORY,
    cost: choice.cost,
    weight: split ? `CASE WHEN coalesce(split_line_item_parent_resource_id, '') <> '' THEN coalesce(${money(splitCost[0] as string)}, 0) + coalesce(${money(splitCost[1] as string)}, 0) ELSE 0 END` : "0",
    badCost,
    badTags: malformedTags("resource_tags", tags),
  };
}

/** True when a CUR 2.0 export carries EKS split cost allocation data. */
export function hasSplitData(columns: ReadonlyMap<string, string>): boolean {
  return SPLIT_COLUMNS.every((c) => columns.has(c));
}

/**
 * The aggregation query: one row per group, with rows, cost, split weight and the bad-row counts.
 * Rows are grouped once on the keys and the raw columns the period and the category come from;
 * those two are then computed per group (a few thousand) instead of per row (millions), and the
 * groups summed again by category.
 */
export function aggregationQuery(options: QueryOptions): string {
  const split = options.format === "cur2" && hasSplitData(options.columns);
  const e = rowExpressions(options, split);
  const keys = Object.entries(e.keys);
  const rowSelect = [...keys, ...Object.entries(e.categoryColumns)].map(([name, expr]) => `    ${expr} AS ${name}`).join(",\n");
  const from = split
    ? `src LEFT JOIN (SELECT DISTINCT split_line_item_parent_resource_id AS id FROM src WHERE coalesce(split_line_item_parent_resource_id, '') <> '') parents
    ON src.line_item_resource_id = parents.id`
    : "src";
  const outerKeys = keys.map(([name]) => (name === "period" ? "coalesce(left(CAST(period AS VARCHAR), 7), '') AS period" : name));
  return `WITH src AS (SELECT * FROM ${options.source}),
rows AS (
  SELECT
${rowSelect},
    coalesce(${e.cost}, 0) AS cost,
    ${e.weight} AS weight,
    ${e.badCost} AS bad_cost,
    ${e.badTags} AS bad_tags
  FROM ${from}
),
grouped AS (
  SELECT ${[...keys.map(([name]) => name), ...Object.keys(e.categoryColumns)].join(", ")},
    count(*) AS row_count, sum(cost) AS cost, sum(weight) AS weight, count_if(bad_cost) AS bad_cost_rows, count_if(bad_tags) AS bad_tag_rows
  FROM rows
  GROUP BY ALL
)
SELECT ${outerKeys.join(", ")},
  ${e.category} AS category,
  sum(row_count) AS row_count,
  CAST(sum(cost) AS VARCHAR) AS cost,
  CAST(sum(weight) AS VARCHAR) AS weight,
  sum(bad_cost_rows) AS bad_cost_rows,
  sum(bad_tag_rows) AS bad_tag_rows
FROM grouped
GROUP BY ALL`;
}

/**
 * A query naming the first rows that match a condition, for error messages. namedSource reads the
 * same files with two more columns: filename and row_in_file (the 1-based row, or CSV line).
 */
export function offendingRowsQuery(options: QueryOptions, namedSource: string, condition: "bad_cost" | "bad_tags" | { currencyNot: string }, limit = 3): string {
  // Split roles need the parents join; no condition here depends on it.
  const e = rowExpressions(options, false);
  const where = condition === "bad_cost" ? e.badCost : condition === "bad_tags" ? e.badTags : `${e.keys.currency} <> ${quoteString(condition.currencyNot)}`;
  return `SELECT filename, row_in_file, ${e.keys.currency} AS currency FROM ${namedSource} WHERE ${where} ORDER BY filename, row_in_file LIMIT ${limit}`;
}
