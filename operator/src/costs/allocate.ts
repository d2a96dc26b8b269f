import type { Tier } from "../api/v1alpha1/index.ts";

/**
 * Per-tenant monthly cost, on integer cents. Pure, synchronous, I/O-free.
 *
 * - Pooled tenants share their pool's cost in proportion to requestsPerDay when every member of the
 *   pool reports it (and the sum is positive), else in equal shares (the basis says which members
 *   lack the figure). The split uses the largest
 *   remainder method, so the shares add up to the pool's cost exactly (ties go to the earlier
 *   tenant id).
 * - AWS cost rows go, in this order, to the account-tier tenant that owns the row's linked account;
 *   to the tenant named by the row's landlord.dev/tenant tag (any tier; dedicated tiers are exact by
 *   tag); otherwise to "(unallocated)" (untagged/shared rows, or tags naming no known tenant).
 * - A pool cost with no pooled member is reported as "(unallocated)" too, so the total always
 *   equals the sum of the inputs; allocate() checks that and throws if it ever does not.
 */

export const UNALLOCATED = "(unallocated)";

export interface CostTenant {
  tenantId: string;
  /** Where it is served now (status.tier); undefined = not placed yet. */
  tier: Tier | undefined;
  /** Pool serving it while pooled (status.pool, else spec.pool). */
  pool: string | undefined;
  /** requestsPerDay usage (status.signals), if known. */
  requestsPerDay?: number | undefined;
}

export interface AwsCostRow {
  linkedAccount: string;
  /** Value of the landlord.dev/tenant tag; "" when untagged. */
  tenantTag: string;
  service: string;
  cents: number;
}

export interface AllocationInput {
  tenants: readonly CostTenant[];
  /** Monthly cost of each pool, in cents. */
  poolCosts: Readonly<Record<string, number>>;
  awsRows: readonly AwsCostRow[];
  /** AWS linked account id → account-tier tenant id. */
  accounts: Readonly<Record<string, string>>;
}

export interface AllocationLine {
  tenant: string;
  tier: string;
  pool: string;
  /** How the figure was reached, e.g. "requestsPerDay share 12.50% of standard", "tag", "linked account". */
  basis: string;
  cents: number;
}

export interface Allocation {
  lines: AllocationLine[];
  totalCents: number;
  /** Sum of every input: pool costs plus AWS rows. Always equal to totalCents. */
  inputCents: number;
}

/**
 * Splits `total` cents in proportion to integer `weights` by the largest remainder method: each
 * gets floor(total*w/W), then the cents left over go one each to the largest remainders (ties: the
 * earlier index). The result sums to `total` exactly. Weights must be non-negative integers with a
 * positive sum; `total` a non-negative integer.
 */
export function largestRemainder(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new Error(`largestRemainder: total must be a non-negative integer of cents, got ${total}`);
  if (weights.some((w) => !Number.isSafeInteger(w) || w < 0)) throw new Error("largestRemainder: weights must be non-negative integers");
  const sum = weights.reduce((a, b) => a + BigInt(b), 0n);
  if (sum === 0n) throw new Error("largestRemainder: the weights sum to zero");
  const big = BigInt(total);
  const shares = weights.map((w) => (big * BigInt(w)) / sum);
  const remainders = weights.map((w, i) => ({ i, r: (big * BigInt(w)) % sum }));
  let left = Number(big - shares.reduce((a, b) => a + b, 0n));
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left-- <= 0) break;
    shares[i] = (shares[i] as bigint) + 1n;
  }
  return shares.map(Number);
}

const byId = (a: CostTenant, b: CostTenant): number => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0);

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(2)}%`;
}

export function allocate(input: AllocationInput): Allocation {
  const tenants = [...input.tenants].sort(byId);
  const known = new Map(tenants.map((t) => [t.tenantId, t]));
  const cents = new Map<string, number>(tenants.map((t) => [t.tenantId, 0]));
  const basis = new Map<string, string[]>(tenants.map((t) => [t.tenantId, []]));
  const unallocated: AllocationLine[] = [];
  const add = (tenant: string, amount: number): void => void cents.set(tenant, (cents.get(tenant) ?? 0) + amount);
  const note = (tenant: string, text: string): void => {
    const list = basis.get(tenant) as string[];
    if (!list.includes(text)) list.push(text);
  };

  // Pools.
  const pooled = new Map<string, CostTenant[]>();
  for (const t of tenants) {
    if (t.tier !== "pooled") continue;
    const pool = t.pool ?? "standard";
    pooled.set(pool, [...(pooled.get(pool) ?? []), t]);
  }
  for (const [pool, members] of pooled) {
    const cost = input.poolCosts[pool];
    if (cost === undefined) {
      for (const m of members) note(m.tenantId, `no cost given for pool ${pool}`);
      continue;
    }
    const usage = members.map((m) => m.requestsPerDay);
    const byUsage = usage.every((u) => u !== undefined && Number.isFinite(u) && u >= 0) && usage.some((u) => Math.round(u as number) > 0);
    const weights = byUsage ? usage.map((u) => Math.round(u as number)) : members.map(() => 1);
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    const shares = largestRemainder(cost, weights);
    // Say why a pool fell back to equal shares: one tenant without usage figures changes everyone's bill.
    const missing = members.filter((m) => !(m.requestsPerDay !== undefined && Number.isFinite(m.requestsPerDay) && m.requestsPerDay >= 0)).map((m) => m.tenantId);
    const why = missing.length > 0 ? `no requestsPerDay from ${missing.length > 3 ? `${missing.slice(0, 3).join(", ")} and ${missing.length - 3} more` : missing.join(", ")}` : "no requests reported";
    members.forEach((m, i) => {
      add(m.tenantId, shares[i] as number);
      note(m.tenantId, byUsage ? `requestsPerDay share ${percent(weights[i] as number, totalWeight)} of pool ${pool}` : `equal share 1/${members.length} of pool ${pool} (${why})`);
    });
  }
  for (const [pool, cost] of Object.entries(input.poolCosts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!pooled.has(pool)) unallocated.push({ tenant: UNALLOCATED, tier: "", pool, basis: `pool ${pool} has no pooled tenant`, cents: cost });
  }

  // AWS rows.
  let untagged = 0;
  let untaggedRows = 0;
  const strangers = new Map<string, number>();
  for (const row of input.awsRows) {
    const owner = input.accounts[row.linkedAccount];
    if (owner !== undefined && known.has(owner)) {
      add(owner, row.cents);
      note(owner, `linked account ${row.linkedAccount}`);
    } else if (row.tenantTag !== "" && known.has(row.tenantTag)) {
      add(row.tenantTag, row.cents);
      note(row.tenantTag, "AWS tag");
    } else if (row.tenantTag !== "") {
      strangers.set(row.tenantTag, (strangers.get(row.tenantTag) ?? 0) + row.cents);
    } else {
      untagged += row.cents;
      untaggedRows++;
    }
  }
  if (untaggedRows > 0) unallocated.push({ tenant: UNALLOCATED, tier: "", pool: "", basis: `untagged/shared AWS cost (${untaggedRows} rows)`, cents: untagged });
  for (const [tag, amount] of [...strangers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    unallocated.push({ tenant: UNALLOCATED, tier: "", pool: "", basis: `tag landlord.dev/tenant=${tag} names no known tenant`, cents: amount });
  }

  const lines: AllocationLine[] = tenants.map((t) => ({
    tenant: t.tenantId,
    tier: t.tier ?? "",
    pool: t.tier === "pooled" ? (t.pool ?? "standard") : "",
    basis: (basis.get(t.tenantId) as string[]).join("; ") || "no cost found",
    cents: cents.get(t.tenantId) ?? 0,
  }));
  lines.push(...unallocated);

  const inputCents = Object.values(input.poolCosts).reduce((a, b) => a + b, 0) + input.awsRows.reduce((a, r) => a + r.cents, 0);
  const totalCents = lines.reduce((a, l) => a + l.cents, 0);
  if (totalCents !== inputCents) {
    throw new Error(`cost allocation does not reconcile: allocated ${formatCents(totalCents)} USD, inputs sum to ${formatCents(inputCents)} USD`);
  }
  return { lines, totalCents, inputCents };
}

/** Integer cents as a USD amount with two decimals, e.g. 123456 → "1234.56", -5 → "-0.05". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/**
 * A USD amount written in decimal ("12000", "33.3", "-0.004", "1.2e3") as integer cents, rounded
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
