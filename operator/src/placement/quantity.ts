/**
 * Exact Kubernetes quantity arithmetic (resource.Quantity), on bigints.
 *
 * `parseQuantity` returns milli-units, the unit the API server itself rounds to: a quantity finer
 * than 1m ("1n", "0.1m") is rounded up to the next milli-unit, as `Quantity.MilliValue()` does.
 * `quantitiesEqual` compares exactly (no rounding), so "1n" and "2n" are different quantities.
 *
 * Grammar (apimachinery/pkg/api/resource/quantity.go):
 *   <quantity> ::= <signedNumber><suffix>
 *   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | (e|E)<signedInteger>
 * A lone "E" is exa; "E" followed by an integer is an exponent.
 */

/** A quantity as written in a spec: an integer or a quantity string. */
export type QuantityValue = string | number;

/** How a quantity is shown: cores, bytes or a plain count. */
export type QuantityKind = "cpu" | "memory" | "storage" | "count";

/** The keys of a per-tenant quota, in the order they are reported. */
export const QUOTA_KEYS = ["cpu", "memory", "storage", "pods"] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];

/** Per-tenant or per-shard limits; an absent key means "not limited". Structurally the API's Quota. */
export type Quota = { [K in QuotaKey]?: QuantityValue | undefined };

/** How each quota key is formatted. */
export const QUOTA_KINDS: Readonly<Record<QuotaKey, QuantityKind>> = {
  cpu: "cpu",
  memory: "memory",
  storage: "storage",
  pods: "count",
};

const QUANTITY_GRAMMAR = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([KMGTPE]i|[numkMGTPE])|[eE]([+-]?[0-9]+))?$/;
const PLAIN_INTEGER = /^[0-9]{1,15}$/;

/** Beyond this an exponent is certainly a typo, and 10^n would cost real memory. */
const MAX_EXPONENT = 1000;

const BINARY: Readonly<Record<string, bigint>> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL_EXPONENT: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** value = num / den, den > 0, exact. */
interface Exact {
  num: bigint;
  den: bigint;
}

function describe(q: unknown): string {
  return typeof q === "string" ? JSON.stringify(q) : String(q);
}

function invalid(q: unknown, why: string): Error {
  return new Error(
    `${describe(q)} is not a Kubernetes quantity: ${why}; use a number with an optional suffix, e.g. 500m, 2, 1.5, 512Mi, 4Gi, 1k or 1e3`,
  );
}

function parseExact(q: unknown): Exact {
  const result = tryParseExact(q);
  if (typeof result === "string") throw invalid(q, result);
  return result;
}

/** The exact value, or why `q` is not a quantity (no exceptions: isSubset calls this on hot paths). */
function tryParseExact(q: unknown): Exact | string {
  if (typeof q === "number") {
    if (!Number.isFinite(q)) return "it is not a finite number";
    if (Number.isSafeInteger(q)) return { num: BigInt(q), den: 1n };
    // String() of any finite number is in the grammar: "1.5", "1e-7", "1e+21".
    return tryParseString(String(q));
  }
  if (typeof q !== "string") return `expected a string or a number, got ${q === null ? "null" : typeof q}`;
  if (PLAIN_INTEGER.test(q)) return { num: BigInt(q), den: 1n };
  return tryParseString(q);
}

function tryParseString(s: string): Exact | string {
  const match = QUANTITY_GRAMMAR.exec(s);
  if (!match) return s === "" ? "it is empty" : "it does not match the quantity grammar";
  const [, sign = "", number = "", suffix, exponentText] = match;
  const [whole = "", fraction = ""] = number.split(".");
  let num = BigInt((whole || "0") + fraction);
  let den = 10n ** BigInt(fraction.length);
  if (sign === "-") num = -num;
  let exponent = 0;
  if (exponentText !== undefined) {
    exponent = Number(exponentText);
    if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > MAX_EXPONENT) {
      return `the exponent ${exponentText} is outside ±${MAX_EXPONENT}`;
    }
  } else if (suffix !== undefined) {
    const binary = BINARY[suffix];
    if (binary !== undefined) num *= binary;
    else exponent = DECIMAL_EXPONENT[suffix] ?? 0;
  }
  if (exponent > 0) num *= 10n ** BigInt(exponent);
  else if (exponent < 0) den *= 10n ** BigInt(-exponent);
  return { num, den };
}

/** ceil(a / b) for b > 0 (bigint division truncates toward zero). */
function ceilDiv(a: bigint, b: bigint): bigint {
  return a > 0n ? (a + b - 1n) / b : a / b;
}

/**
 * Parses an int-or-string quantity into milli-units: "250m" → 250n, "2" → 2000n,
 * "4Gi" → 4n * 2n ** 30n * 1000n, "1e3" → 1000000n. Anything finer than 1m is rounded up.
 * Throws an Error naming the value when it is not a quantity.
 */
export function parseQuantity(q: QuantityValue): bigint {
  const { num, den } = parseExact(q);
  return den === 1n ? num * 1000n : ceilDiv(num * 1000n, den);
}

/** True when both parse and are numerically equal ("0.5" and "500m", 1 and "1"); exact, no rounding. */
export function quantitiesEqual(a: QuantityValue, b: QuantityValue): boolean {
  const x = tryParseExact(a);
  if (typeof x === "string") return false;
  const y = tryParseExact(b);
  if (typeof y === "string") return false;
  return x.num * y.den === y.num * x.den;
}

const BINARY_FORMAT: readonly (readonly [string, bigint])[] = [
  ["Gi", 1n << 30n],
  ["Mi", 1n << 20n],
  ["Ki", 1n << 10n],
];

/**
 * Canonical, human form of a milli-unit amount:
 * - cpu: whole cores when integral ("2"), else millicores ("1500m");
 * - memory, storage: bytes (a fraction of a byte rounded up) in the largest of Gi, Mi, Ki that is
 *   exact ("4Gi", "1536Mi"), else plain bytes ("1000");
 * - count: an integer (a fraction rounded up).
 * The result always parses back with `parseQuantity`; it is exact for cpu and for whole bytes/counts.
 */
export function formatQuantity(milli: bigint, kind: QuantityKind): string {
  switch (kind) {
    case "cpu":
      return milli % 1000n === 0n ? String(milli / 1000n) : `${milli}m`;
    case "memory":
    case "storage": {
      const bytes = ceilDiv(milli, 1000n);
      if (bytes === 0n) return "0";
      for (const [suffix, size] of BINARY_FORMAT) {
        if (bytes % size === 0n) return `${bytes / size}${suffix}`;
      }
      return String(bytes);
    }
    case "count":
      return String(ceilDiv(milli, 1000n));
  }
}

function formatKey(key: QuotaKey, milli: bigint): string {
  return formatQuantity(milli, QUOTA_KINDS[key]);
}

/** Sum of quotas, per key, in canonical form; a key is present when any quota sets it. Throws on a bad value. */
export function sumQuotas(quotas: Iterable<Quota>): Quota {
  const totals = new Map<QuotaKey, bigint>();
  for (const quota of quotas) {
    for (const key of QUOTA_KEYS) {
      const value = quota[key];
      if (value === undefined) continue;
      totals.set(key, (totals.get(key) ?? 0n) + parseQuotaValue(key, value));
    }
  }
  const out: Quota = {};
  for (const key of QUOTA_KEYS) {
    const total = totals.get(key);
    if (total !== undefined) out[key] = formatKey(key, total);
  }
  return out;
}

/**
 * Per-key minimum of `quota` and `cap`, in canonical form. An absent key means "not limited" on
 * either side: keys absent in `cap` are not capped, and a key absent in `quota` but present in
 * `cap` takes the cap's value (min(unlimited, cap) = cap). Throws on a bad value.
 */
export function capQuota(quota: Quota, cap: Quota): Quota {
  const out: Quota = {};
  for (const key of QUOTA_KEYS) {
    const q = quota[key];
    const c = cap[key];
    if (q === undefined && c === undefined) continue;
    if (q === undefined) out[key] = formatKey(key, parseQuotaValue(key, c as QuantityValue));
    else if (c === undefined) out[key] = formatKey(key, parseQuotaValue(key, q));
    else {
      const qm = parseQuotaValue(key, q);
      const cm = parseQuotaValue(key, c);
      out[key] = formatKey(key, qm < cm ? qm : cm);
    }
  }
  return out;
}

/**
 * The first key (in QUOTA_KEYS order) for which used + add would exceed capacity, or undefined
 * when it fits. Keys absent in capacity are unlimited; keys absent in used/add count as zero.
 * Throws on a bad value.
 */
export function quotaFits(used: Quota, add: Quota, capacity: Quota): QuotaKey | undefined {
  for (const key of QUOTA_KEYS) {
    const c = capacity[key];
    if (c === undefined) continue;
    const u = used[key];
    const a = add[key];
    const total = (u === undefined ? 0n : parseQuotaValue(key, u)) + (a === undefined ? 0n : parseQuotaValue(key, a));
    if (total > parseQuotaValue(key, c)) return key;
  }
  return undefined;
}

/** `defaults` with every key that `override` sets replaced; values are kept as written. */
export function mergeQuota(override: Quota | undefined, defaults: Quota | undefined): Quota {
  const out: Quota = {};
  for (const key of QUOTA_KEYS) {
    const value = override?.[key] ?? defaults?.[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function parseQuotaValue(key: QuotaKey, value: QuantityValue): bigint {
  try {
    return parseQuantity(value);
  } catch (error) {
    throw new Error(`quota ${key}: ${(error as Error).message}`, { cause: error });
  }
}
