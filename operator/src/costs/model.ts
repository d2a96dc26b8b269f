/**
 * The vocabulary shared by the bill readers (SQL over an export), the allocation (pure) and the
 * report. Money in this layer is an exact decimal held as a bigint of UNIT_SCALE decimal places
 * (DuckDB's DECIMAL(38,10)), so summing ten million rows loses nothing; it becomes integer cents
 * once, at the very end, by the largest remainder method.
 */

/** Decimal places of a money amount in the aggregation: 1 unit = 1e-10 of the currency. */
export const UNIT_SCALE = 10;
export const UNITS_PER_CENT = 10n ** BigInt(UNIT_SCALE - 2);

export const CATEGORIES = ["compute", "storage", "database", "network", "other"] as const;
export type Category = (typeof CATEGORIES)[number];

export const BILL_FORMATS = ["cur2", "focus", "legacy"] as const;
export type BillFormat = (typeof BILL_FORMATS)[number];

/**
 * The cost basis (which column is "the cost"). CUR 2.0 knows unblended, net and amortized; FOCUS
 * knows billed, effective, list and contracted. unblended/billed and amortized/effective are the
 * same idea in the two vocabularies and are accepted for either format.
 */
export const COST_BASES = ["unblended", "net", "amortized", "billed", "effective", "list", "contracted"] as const;
export type CostBasis = (typeof COST_BASES)[number];

/**
 * One group of the export's rows after the aggregation query: every row with the same values of
 * these keys, summed. The allocation never sees a row, only these groups (a few per tenant).
 */
export interface BillGroup {
  /** Linked (usage) account / FOCUS SubAccountId; "" when empty. */
  account: string;
  /** Value of the landlord.dev/tenant tag; "" when untagged. */
  tenantTag: string;
  /** Value of the landlord.dev/pool tag; "" when untagged. */
  poolTag: string;
  /**
   * Kubernetes namespace of an EKS split cost allocation pod row (aws:eks:namespace); "" for
   * other rows.
   */
  namespace: string;
  category: Category;
  /** CUR line_item_line_item_type or FOCUS ChargeCategory: Usage, Credit, Tax, ... */
  chargeType: string;
  /**
   * "parent" = an EC2 instance row whose cost EKS split cost allocation divides among pods;
   * "pod" = a split cost allocation pod row; "" = any other row.
   */
  split: "" | "parent" | "pod";
  rows: number;
  /** Sum of the basis cost, in units (UNIT_SCALE decimals). */
  units: bigint;
  /** Pod rows only: split cost + unused cost, in units; the weight the parents' cost is split by. */
  splitWeight: bigint;
}

/** A Kubernetes namespace's cost for the period from OpenCost, by category, in units. */
export interface NamespaceCost {
  namespace: string;
  units: Readonly<Partial<Record<Category, bigint>>>;
}

/** Where an input came from, for the report (and the CostReport a recorded run writes). */
export interface InputSummary {
  kind: "cur2" | "focus" | "legacy" | "opencost" | "pool-cost";
  /** File path, s3:// URL or OpenCost URL. */
  source: string;
  /** sha256 of each file (hex), in path order; [] for inputs that are not files. */
  files: { path: string; sha256: string; bytes: number }[];
  /** Rows read (all of them, including the excluded ones). */
  rows: number;
  /** Rows outside the billing period, excluded from the allocation. */
  excludedRows: number;
  /** Sum of the excluded rows' cost, in units. */
  excludedUnits: bigint;
}

/** Parses a decimal text ("-12.3400000000") into units of UNIT_SCALE decimals, exactly. */
export function decimalToUnits(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new Error(`not a decimal: "${text}"`);
  const frac = (m[3] ?? "").padEnd(UNIT_SCALE, "0");
  if (frac.length > UNIT_SCALE) throw new Error(`more than ${UNIT_SCALE} decimals: "${text}"`);
  const value = BigInt(`${m[2]}${frac}`);
  return m[1] === "-" ? -value : value;
}
