import type { Tier } from "../api/v1alpha1/index.ts";
import { CATEGORIES, UNITS_PER_CENT, type BillGroup, type Category, type NamespaceCost } from "./model.ts";

/**
 * Per-tenant cost from the aggregated bill. Pure, synchronous, I/O-free, exact: amounts are bigint
 * units (1e-10 of the currency) until the end, where every line becomes integer cents by the
 * largest remainder method so that the lines add up to the rounded input total exactly.
 *
 * Rules, in this order, for every group of bill rows:
 *  1. the linked account of an account-tier tenant → that tenant ("linked account");
 *  2. a landlord.dev/tenant tag → that tenant ("tag"), or a line under the tag's own value when no
 *     such tenant exists (deleted last month, a typo);
 *  3. an EKS split cost allocation pod row → its namespace (see 5);
 *  4. a landlord.dev/pool tag → the pool's cost;
 *  5. otherwise shared platform cost, one line per charge type (Usage, Tax, Credit, ...).
 * Namespaces (EKS split rows, whose instances' cost is divided by the pods' split cost, and
 * OpenCost): tenant-<id> → that tenant; a pool's shard namespace → the pool's cost; any other →
 * shared. A pool's cost is split among its pooled members per category by the driver its
 * TenantPool declares (costAllocation), falling back to the default driver, then to equal shares,
 * and the basis column says which. Shared cost stays its own line, or is spread (proportional to
 * the tenants' cost, or evenly) when asked.
 */

export const UNALLOCATED = "(unallocated)";
export const SHARED = "(shared)";
export const DEFAULT_DRIVER = "requestsPerDay";

export interface CostTenant {
  tenantId: string;
  /** Where it is served now (status.tier); undefined = not placed yet. */
  tier: Tier | undefined;
  /** Pool serving it while pooled (status.pool, else spec.pool). */
  pool: string | undefined;
  /** Namespace it is served from (status.namespace), if any. */
  namespace?: string | undefined;
  /** Signal values (status.signals, then spec.reportedSignals). */
  signals: Readonly<Record<string, number>>;
}

export type Driver = Partial<Record<Category | "default", string>>;

export interface CostPool {
  name: string;
  /** spec.costAllocation: the signal that drives each category's split. */
  costAllocation?: Driver | undefined;
  /** Shard namespaces (status.shards), and the prefix they are named with (<prefix>-<n>). */
  namespaces?: readonly string[] | undefined;
  namespacePrefix?: string | undefined;
}

export const SHARED_RULES = ["none", "proportional", "even"] as const;
export type SharedRule = (typeof SHARED_RULES)[number];

export interface AllocationInput {
  tenants: readonly CostTenant[];
  pools?: readonly CostPool[];
  groups: readonly BillGroup[];
  /** Kubernetes cost by namespace (OpenCost). */
  namespaceCosts?: readonly NamespaceCost[];
  /**
   * "carve": the namespace costs are part of the bill's shared cost (the cluster's nodes are
   * untagged rows) and are moved out of it; "add": they are an input of their own (no bill).
   */
  namespaceCostMode?: "carve" | "add";
  /** Extra pool costs in units (--pool-cost), split by the pool's default driver. */
  poolCosts?: Readonly<Record<string, bigint>>;
  /** AWS linked account id → account-tier tenant id. */
  accounts: Readonly<Record<string, string>>;
  shared?: SharedRule;
}

export type LineKind = "tenant" | "shared" | "unknown-tenant" | "unallocated";

export interface AllocationLine {
  kind: LineKind;
  /** Tenant id; the tag's own value for unknown-tenant; (shared) / (unallocated) otherwise. */
  tenant: string;
  tier: string;
  pool: string;
  /** Every rule that put cost on this line, e.g. "tag; pool standard: compute by cpuSeconds 1.20%". */
  basis: string;
  cents: number;
  /** The same cents by cost category (sums to cents). */
  categories: Record<Category, number>;
  /** The exact amount before rounding to cents. */
  units: bigint;
  /** Bill rows charged to this line directly (a pool's rows are counted in Allocation.poolRows). */
  rows: number;
}

export interface Allocation {
  lines: AllocationLine[];
  totalCents: number;
  /** Sum of every input, rounded to the cent once. Always equal to totalCents. */
  inputCents: number;
  inputUnits: bigint;
  /** Rows of each pool's cost that was split among its members. */
  poolRows: Record<string, number>;
  /** EKS split cost allocation rows (instances and pods), spread over namespaces by weight. */
  splitRows: number;
}

export class AllocationError extends Error {
  override name = "AllocationError";
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const zero = (): Record<Category, bigint> => ({ compute: 0n, storage: 0n, database: 0n, network: 0n, other: 0n });
const sumOf = (values: Iterable<bigint>): bigint => {
  let s = 0n;
  for (const v of values) s += v;
  return s;
};

/**
 * Splits `total` (any sign) in proportion to non-negative bigint `weights` by the largest
 * remainder method: floor shares, then the units left over one each to the largest remainders
 * (ties: the earlier index). The shares sum to `total` exactly.
 */
export function splitExact(total: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.some((w) => w < 0n)) throw new Error("splitExact: weights must not be negative");
  const sum = sumOf(weights);
  if (sum === 0n) throw new Error("splitExact: the weights sum to zero");
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const shares = weights.map((w) => (abs * w) / sum);
  const order = weights.map((w, i) => ({ i, r: (abs * w) % sum })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  let left = abs - sumOf(shares);
  for (const { i } of order) {
    if (left <= 0n) break;
    shares[i] = (shares[i] as bigint) + 1n;
    left--;
  }
  return negative ? shares.map((s) => -s) : shares;
}

/** Number version for integer cents, kept for callers that split a whole-cent amount. */
export function largestRemainder(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new Error(`largestRemainder: total must be a non-negative integer of cents, got ${total}`);
  if (weights.some((w) => !Number.isSafeInteger(w) || w < 0)) throw new Error("largestRemainder: weights must be non-negative integers");
  return splitExact(BigInt(total), weights.map(BigInt)).map(Number);
}

/**
 * Rounds amounts in units to cents so that they add up to `target` cents (default: the rounded
 * sum): floor each, then one cent each to the largest remainders.
 */
export function toCents(values: readonly bigint[], target?: bigint): bigint[] {
  const floorDiv = (v: bigint): bigint => (v >= 0n ? v / UNITS_PER_CENT : -((-v + UNITS_PER_CENT - 1n) / UNITS_PER_CENT));
  const floors = values.map(floorDiv);
  const goal = target ?? roundCents(sumOf(values));
  let left = goal - sumOf(floors);
  const order = values.map((v, i) => ({ i, r: v - (floors[i] as bigint) * UNITS_PER_CENT })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  if (left < 0n || left > BigInt(values.length)) throw new Error(`toCents: target ${goal} is not a rounding of the values`);
  for (const { i } of order) {
    if (left <= 0n) break;
    floors[i] = (floors[i] as bigint) + 1n;
    left--;
  }
  return floors;
}

/** Units to cents, half away from zero. */
export function roundCents(units: bigint): bigint {
  const half = UNITS_PER_CENT / 2n;
  return units >= 0n ? (units + half) / UNITS_PER_CENT : -((-units + half) / UNITS_PER_CENT);
}

/** A signal value as an integer weight (micro-units), or undefined when it cannot be one. */
function weightOf(value: number | undefined): bigint | undefined {
  if (value === undefined || !Number.isFinite(value) || value < 0) return undefined;
  return BigInt(Math.round(value * 1e6));
}

function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return "0.00%";
  const basisPoints = (part * 1000000n) / whole; // 1e-4 %
  return `${(Number(basisPoints) / 10000).toFixed(2)}%`;
}

function names(list: readonly string[]): string {
  return list.length > 3 ? `${list.slice(0, 3).join(", ")} and ${list.length - 3} more` : list.join(", ");
}

interface Bucket {
  kind: LineKind;
  tenant: string;
  tier: string;
  pool: string;
  basis: string[];
  units: Record<Category, bigint>;
  rows: number;
}

export function allocate(input: AllocationInput): Allocation {
  const tenants = [...input.tenants].sort((a, b) => compare(a.tenantId, b.tenantId));
  const known = new Map(tenants.map((t) => [t.tenantId, t]));
  const pools = new Map((input.pools ?? []).map((p) => [p.name, p]));
  for (const t of tenants) if (t.tier === "pooled" && !pools.has(t.pool ?? "standard")) pools.set(t.pool ?? "standard", { name: t.pool ?? "standard" });

  const buckets = new Map<string, Bucket>();
  const bucket = (key: string, init: () => Omit<Bucket, "basis" | "units" | "rows">): Bucket => {
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { ...init(), basis: [], units: zero(), rows: 0 }));
    return b;
  };
  const note = (b: Bucket, text: string): void => void (b.basis.includes(text) || b.basis.push(text));
  const tenantBucket = (t: CostTenant): Bucket =>
    bucket(`t:${t.tenantId}`, () => ({ kind: "tenant", tenant: t.tenantId, tier: t.tier ?? "", pool: t.tier === "pooled" ? (t.pool ?? "standard") : "" }));
  for (const t of tenants) tenantBucket(t);
  const unknownBucket = (value: string): Bucket => bucket(`u:${value}`, () => ({ kind: "unknown-tenant", tenant: value, tier: "", pool: "" }));
  const sharedBucket = (label: string): Bucket => bucket(`s:${label}`, () => ({ kind: "shared", tenant: SHARED, tier: "", pool: "" }));
  const poolCost = new Map<string, { units: Record<Category, bigint>; sources: Set<string>; rows: number }>();
  const toPool = (pool: string, category: Category, units: bigint, source: string, rows = 0): void => {
    let p = poolCost.get(pool);
    if (!p) poolCost.set(pool, (p = { units: zero(), sources: new Set(), rows: 0 }));
    p.units[category] += units;
    p.rows += rows;
    p.sources.add(source);
  };

  // Namespace → pool: listed shards, <prefix>-<n>, and where pooled tenants say they are served.
  const shardPool = new Map<string, string>();
  for (const p of pools.values()) for (const ns of p.namespaces ?? []) shardPool.set(ns, p.name);
  for (const t of tenants) if (t.tier === "pooled" && t.namespace) shardPool.set(t.namespace, t.pool ?? "standard");
  const poolOfNamespace = (ns: string): string | undefined => {
    const listed = shardPool.get(ns);
    if (listed) return listed;
    for (const p of pools.values()) if (p.namespacePrefix && new RegExp(`^${p.namespacePrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d+$`).test(ns)) return p.name;
    return undefined;
  };
  const routeNamespace = (ns: string, category: Category, units: bigint, source: string): void => {
    const id = ns.startsWith("tenant-") ? ns.slice("tenant-".length) : undefined;
    const dedicated = tenants.find((t) => t.tier !== "pooled" && t.namespace === ns);
    if (dedicated || (id !== undefined && known.has(id))) {
      const b = tenantBucket(dedicated ?? (known.get(id as string) as CostTenant));
      b.units[category] += units;
      note(b, `namespace ${ns} (${source})`);
    } else if (id !== undefined) {
      const b = unknownBucket(id);
      b.units[category] += units;
      note(b, `namespace ${ns} names no known tenant (${source})`);
    } else {
      const pool = poolOfNamespace(ns);
      if (pool) toPool(pool, category, units, `shard ${ns} (${source})`);
      else {
        const b = sharedBucket(`k8s:${source}`);
        b.units[category] += units;
        note(b, `Kubernetes namespaces of no tenant or pool (${source})`);
      }
    }
  };

  let inputUnits = 0n;
  let splitParents = 0n;
  let splitRows = 0;
  const podWeights = new Map<string, bigint>();
  for (const g of input.groups) {
    inputUnits += g.units;
    if (g.split === "parent") {
      splitParents += g.units;
      splitRows += g.rows;
      continue;
    }
    const owner = input.accounts[g.account];
    if (owner !== undefined && known.has(owner)) {
      const b = tenantBucket(known.get(owner) as CostTenant);
      b.units[g.category] += g.units;
      b.rows += g.rows;
      note(b, `linked account ${g.account}`);
    } else if (g.tenantTag !== "") {
      const t = known.get(g.tenantTag);
      const b = t ? tenantBucket(t) : unknownBucket(g.tenantTag);
      b.units[g.category] += g.units;
      b.rows += g.rows;
      note(b, t ? "tag" : "tag landlord.dev/tenant names no known tenant");
    } else if (g.split === "pod") {
      podWeights.set(g.namespace, (podWeights.get(g.namespace) ?? 0n) + g.splitWeight);
      splitRows += g.rows;
      if (g.units !== 0n) routeNamespace(g.namespace, g.category, g.units, "EKS split");
    } else if (g.poolTag !== "") {
      if (pools.has(g.poolTag)) toPool(g.poolTag, g.category, g.units, "tag", g.rows);
      else {
        const b = sharedBucket(`pool:${g.poolTag}`);
        b.units[g.category] += g.units;
        b.rows += g.rows;
        note(b, `tag landlord.dev/pool=${g.poolTag} names no known pool`);
      }
    } else {
      const b = sharedBucket(`charge:${g.chargeType}`);
      b.units[g.category] += g.units;
      b.rows += g.rows;
      note(b, `untagged ${g.chargeType || "(no charge type)"}`);
    }
  }

  // EKS split: the covered instances' cost, divided by the pods' split cost (+ unused) per namespace.
  if (splitParents !== 0n) {
    const spaces = [...podWeights].filter(([, w]) => w > 0n).sort(([a], [b]) => compare(a, b));
    if (spaces.length === 0) {
      const b = sharedBucket("split:none");
      b.units.compute += splitParents;
      note(b, "EKS instances with split cost allocation rows but no pod split cost");
    } else {
      const shares = splitExact(splitParents, spaces.map(([, w]) => w));
      spaces.forEach(([ns], i) => routeNamespace(ns === "" ? "(no namespace)" : ns, "compute", shares[i] as bigint, "EKS split"));
    }
  }

  // OpenCost: Kubernetes cost by namespace, carved out of the bill's untagged cost or added.
  const mode = input.namespaceCostMode ?? "add";
  const carve = zero();
  for (const nc of input.namespaceCosts ?? []) {
    for (const category of CATEGORIES) {
      const units = nc.units[category] ?? 0n;
      if (units === 0n) continue;
      routeNamespace(nc.namespace, category, units, "OpenCost");
      carve[category] += units;
      if (mode === "add") inputUnits += units;
    }
  }
  if (mode === "carve") {
    const untagged = sharedBucket("charge:Usage");
    for (const category of CATEGORIES) {
      if (carve[category] === 0n) continue;
      if (untagged.units[category] < carve[category]) {
        throw new AllocationError(
          `OpenCost reports ${fmt(carve[category])} of ${category} cost, but the bill's untagged ${category} usage is only ${fmt(untagged.units[category])}: the window or the cluster does not match the bill`,
        );
      }
      untagged.units[category] -= carve[category];
      note(untagged, `less ${category} ${fmt(carve[category])} that OpenCost attributes to namespaces`);
    }
  }

  for (const [pool, units] of Object.entries(input.poolCosts ?? {})) {
    inputUnits += units;
    if (!pools.has(pool)) pools.set(pool, { name: pool });
    toPool(pool, "other", units, "--pool-cost");
  }

  // Pools: each category split by its driver among the pool's pooled members.
  for (const [poolName, cost] of [...poolCost].sort(([a], [b]) => compare(a, b))) {
    const members = tenants.filter((t) => t.tier === "pooled" && (t.pool ?? "standard") === poolName);
    const sources = [...cost.sources].join(", ");
    if (members.length === 0) {
      const b = bucket(`p:${poolName}`, () => ({ kind: "unallocated", tenant: UNALLOCATED, tier: "", pool: poolName }));
      for (const c of CATEGORIES) b.units[c] += cost.units[c];
      b.rows += cost.rows;
      note(b, `pool ${poolName} has no pooled tenant (${sources})`);
      continue;
    }
    const declared = pools.get(poolName)?.costAllocation ?? {};
    const fallback = declared.default ?? DEFAULT_DRIVER;
    // One basis entry per member and pool: categories split by the same rule are named together.
    const rules = members.map(() => new Map<string, Category[]>());
    for (const category of CATEGORIES) {
      const total = cost.units[category];
      if (total === 0n) continue;
      const wanted = declared[category] ?? fallback;
      const tryDriver = (driver: string): { weights: bigint[]; missing: string[] } => {
        const weights = members.map((m) => weightOf(m.signals[driver]));
        const missing = members.filter((_, i) => weights[i] === undefined).map((m) => m.tenantId);
        return { weights: weights.map((w) => w ?? 0n), missing };
      };
      let used = wanted;
      let attempt = tryDriver(wanted);
      let why = "";
      if (attempt.missing.length > 0 || sumOf(attempt.weights) === 0n) {
        why = attempt.missing.length > 0 ? `no ${wanted} from ${names(attempt.missing)}` : `${wanted} is 0 for every member`;
        if (wanted !== fallback) {
          const second = tryDriver(fallback);
          if (second.missing.length === 0 && sumOf(second.weights) > 0n) {
            used = fallback;
            attempt = second;
          }
        }
      }
      const equal = attempt.missing.length > 0 || sumOf(attempt.weights) === 0n;
      const weights = equal ? members.map(() => 1n) : attempt.weights;
      const shares = splitExact(total, weights);
      const whole = sumOf(weights);
      members.forEach((m, i) => {
        tenantBucket(m).units[category] += shares[i] as bigint;
        const rule = `${equal ? `equal share 1/${members.length}` : `by ${used} ${percent(weights[i] as bigint, whole)}`}${why ? ` (${why}${equal ? "" : `, fell back to ${used}`})` : ""}`;
        const map = rules[i] as Map<string, Category[]>;
        map.set(rule, [...(map.get(rule) ?? []), category]);
      });
    }
    members.forEach((m, i) => {
      const text = [...(rules[i] as Map<string, Category[]>)].map(([rule, categories]) => `${categories.join(", ")} ${rule}`).join("; ");
      if (text) note(tenantBucket(m), `pool ${poolName}: ${text}`);
    });
  }

  // Shared platform cost: its own lines, or spread over the tenants.
  const rule = input.shared ?? "none";
  if (rule !== "none" && tenants.length > 0) {
    const sharedKeys = [...buckets].filter(([, b]) => b.kind === "shared").map(([k]) => k);
    const totalShared = zero();
    for (const k of sharedKeys) for (const c of CATEGORIES) totalShared[c] += (buckets.get(k) as Bucket).units[c];
    const tenantBuckets = tenants.map(tenantBucket);
    const own = tenantBuckets.map((b) => sumOf(Object.values(b.units)));
    const weights = rule === "even" ? tenantBuckets.map(() => 1n) : own.map((u) => (u > 0n ? u : 0n));
    if (sumOf(weights) > 0n) {
      for (const k of sharedKeys) buckets.delete(k);
      for (const c of CATEGORIES) {
        if (totalShared[c] === 0n) continue;
        const shares = splitExact(totalShared[c], weights);
        tenantBuckets.forEach((b, i) => (b.units[c] += shares[i] as bigint));
      }
      const whole = sumOf(weights);
      tenantBuckets.forEach((b, i) => note(b, `shared cost ${rule === "even" ? `1/${tenantBuckets.length}` : percent(weights[i] as bigint, whole)}`));
    }
  }

  const order = (b: Bucket): number => ({ tenant: 0, "unknown-tenant": 1, unallocated: 2, shared: 3 })[b.kind];
  const list = [...buckets.values()].sort((a, b) => order(a) - order(b) || compare(a.tenant, b.tenant) || compare(a.pool, b.pool) || compare(a.basis.join(), b.basis.join()));
  const lineUnits = list.map((b) => sumOf(Object.values(b.units)));
  const allocated = sumOf(lineUnits);
  if (allocated !== inputUnits) throw new AllocationError(`cost allocation does not reconcile: allocated ${fmt(allocated)}, inputs sum to ${fmt(inputUnits)}`);
  const cents = toCents(lineUnits);
  const lines: AllocationLine[] = list.map((b, i) => {
    const byCategory = toCents(CATEGORIES.map((c) => b.units[c]), cents[i]);
    return {
      kind: b.kind,
      tenant: b.tenant,
      tier: b.tier,
      pool: b.pool,
      basis: b.basis.join("; ") || "no cost found",
      cents: Number(cents[i]),
      categories: Object.fromEntries(CATEGORIES.map((c, j) => [c, Number(byCategory[j])])) as Record<Category, number>,
      units: lineUnits[i] as bigint,
      rows: b.rows,
    };
  });
  const totalCents = lines.reduce((a, l) => a + l.cents, 0);
  const inputCents = Number(roundCents(inputUnits));
  if (totalCents !== inputCents) throw new AllocationError(`cost allocation does not reconcile: ${totalCents} cents allocated, inputs round to ${inputCents}`);
  const poolRows = Object.fromEntries([...poolCost].filter(([pool]) => !buckets.has(`p:${pool}`)).map(([pool, p]) => [pool, p.rows]));
  return { lines, totalCents, inputCents, inputUnits, poolRows, splitRows };
}

/** Units as a decimal amount with two decimals, for messages. */
function fmt(units: bigint): string {
  return formatCents(Number(roundCents(units)));
}

/** Integer cents as an amount with two decimals, e.g. 123456 → "1234.56", -5 → "-0.05". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/**
 * An amount written in decimal ("12000", "33.3", "-0.004", "1.2e3") as integer cents, rounded
 * half away from zero on the decimal digits themselves (no binary floating point).
 */
export function parseUsdCents(text: string): number {
  const trimmed = text.trim().replace(/^\$/, "");
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(trimmed);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new Error(`"${text}" is not a USD amount`);
  const sign = m[1] === "-" ? -1n : 1n;
  let digits = `${m[2] ?? ""}${m[3] ?? ""}`.replace(/^0+(?=\d)/, "") || "0";
  let scale = (m[3] ?? "").length - Number(m[4] ?? 0) - 2; // digits * 10^-scale = cents
  if (scale < 0) {
    digits += "0".repeat(-scale);
    scale = 0;
  }
  const value = BigInt(digits);
  const unit = 10n ** BigInt(scale);
  let whole = value / unit;
  if ((value % unit) * 2n >= unit && scale > 0) whole += 1n;
  const result = Number(sign * whole);
  if (!Number.isSafeInteger(result)) throw new Error(`"${text}" is out of range`);
  return result === 0 ? 0 : result;
}
