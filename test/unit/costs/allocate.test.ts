import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { allocate, formatCents, largestRemainder, parseUsdCents, SHARED, splitExact, toCents, UNALLOCATED, type CostTenant } from "../../../operator/src/costs/allocate.ts";
import { UNITS_PER_CENT, type BillGroup, type Category } from "../../../operator/src/costs/model.ts";

const cents = (c: number): bigint => BigInt(c) * UNITS_PER_CENT;

function group(over: Partial<BillGroup> & { cents?: number }): BillGroup {
  const { cents: c, ...rest } = over;
  return { account: "111111111111", tenantTag: "", poolTag: "", namespace: "", category: "other", chargeType: "Usage", split: "", rows: 1, units: cents(c ?? 0), splitWeight: 0n, ...rest };
}

const pooled = (tenantId: string, signals: Record<string, number>, pool = "standard"): CostTenant => ({ tenantId, tier: "pooled", pool, namespace: `pool-${pool}-1`, signals });

describe("largest remainder, exact", () => {
  it("splits $100.00 three ways as 33.34, 33.33, 33.33", () => {
    expect(largestRemainder(10000, [1, 1, 1])).toEqual([3334, 3333, 3333]);
  });

  it("gives leftover cents to the largest fractional parts", () => {
    // 100000 * {1,2,4}/7 = 14285.714, 28571.428, 57142.857 → 2 cents left: to .857 and .714.
    expect(largestRemainder(100000, [10000, 20000, 40000])).toEqual([14286, 28571, 57143]);
  });

  it("splits a credit (negative) symmetrically", () => {
    expect(splitExact(-10n, [1n, 1n, 1n])).toEqual([-4n, -3n, -3n]);
  });

  it("always sums to the total, for any amounts and weights", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 15n }), { minLength: 1, maxLength: 30 }), (total, weights) => {
        fc.pre(weights.some((w) => w > 0n));
        const shares = splitExact(total, weights);
        expect(shares.reduce((a, b) => a + b, 0n)).toBe(total);
        weights.forEach((w, i) => w === 0n && expect(shares[i]).toBe(0n));
      }),
    );
  });

  it("rounds amounts to cents that add up to the rounded sum, each off by less than a cent", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n }), { minLength: 1, maxLength: 40 }), (values) => {
        const rounded = toCents(values);
        const sum = values.reduce((a, b) => a + b, 0n);
        const target = sum >= 0n ? (sum + UNITS_PER_CENT / 2n) / UNITS_PER_CENT : -((-sum + UNITS_PER_CENT / 2n) / UNITS_PER_CENT);
        expect(rounded.reduce((a, b) => a + b, 0n)).toBe(target);
        values.forEach((v, i) => {
          const diff = (rounded[i] as bigint) * UNITS_PER_CENT - v;
          expect(diff > -UNITS_PER_CENT && diff < UNITS_PER_CENT).toBe(true);
        });
      }),
    );
  });
});

describe("parseUsdCents / formatCents", () => {
  it("rounds half away from zero on the decimal digits", () => {
    expect(parseUsdCents("80.255")).toBe(8026);
    expect(parseUsdCents("-1.005")).toBe(-101);
    expect(parseUsdCents("1.2e3")).toBe(120_000);
    expect(() => parseUsdCents("12k")).toThrow(/not a USD amount/);
    expect(formatCents(123456)).toBe("1234.56");
    expect(formatCents(-5)).toBe("-0.05");
  });
});

describe("allocate", () => {
  const drivers = { compute: "cpuSeconds", storage: "storageGB", default: "requestsPerDay" };
  const pools = [{ name: "standard", namespacePrefix: "pool-standard", costAllocation: drivers }];

  it("splits each category of a pool's cost by the driver the pool declares", () => {
    const tenants = [pooled("a", { cpuSeconds: 100, storageGB: 1, requestsPerDay: 1 }), pooled("b", { cpuSeconds: 300, storageGB: 3, requestsPerDay: 1 })];
    const result = allocate({
      tenants,
      pools,
      accounts: {},
      groups: [group({ poolTag: "standard", category: "compute", cents: 1000 }), group({ poolTag: "standard", category: "storage", cents: 400 }), group({ poolTag: "standard", category: "network", cents: 101 })],
    });
    const line = (t: string) => result.lines.find((l) => l.tenant === t);
    // compute 10.00 by cpuSeconds 1:3 → 2.50 / 7.50; storage 4.00 by storageGB 1:3 → 1.00 / 3.00;
    // network has no driver → default requestsPerDay 1:1 → 1.01 = 0.51 (earlier id) / 0.50.
    expect(line("a")?.categories).toEqual({ compute: 250, storage: 100, database: 0, network: 51, other: 0 });
    expect(line("b")?.categories).toEqual({ compute: 750, storage: 300, database: 0, network: 50, other: 0 });
    expect(line("a")?.cents).toBe(401);
    expect(line("b")?.basis).toBe("pool standard: compute by cpuSeconds 75.00%; storage by storageGB 75.00%; network by requestsPerDay 50.00%");
    expect(result.totalCents).toBe(1501);
    expect(result.poolRows).toEqual({ standard: 3 });
  });

  it("falls back to the default driver, then to equal shares, and says why", () => {
    const tenants = [pooled("a", { requestsPerDay: 1 }), pooled("b", { cpuSeconds: 5, requestsPerDay: 3 }), pooled("c", { cpuSeconds: 5 })];
    const compute = allocate({ tenants: tenants.slice(0, 2), pools, accounts: {}, groups: [group({ poolTag: "standard", category: "compute", cents: 400 })] });
    expect(compute.lines.map((l) => [l.tenant, l.cents])).toEqual([["a", 100], ["b", 300]]);
    expect(compute.lines[0]?.basis).toBe("pool standard: compute by requestsPerDay 25.00% (no cpuSeconds from a, fell back to requestsPerDay)");
    const equal = allocate({ tenants, pools, accounts: {}, groups: [group({ poolTag: "standard", category: "compute", cents: 100 })] });
    expect(equal.lines.map((l) => l.cents)).toEqual([34, 33, 33]);
    expect(equal.lines[2]?.basis).toBe("pool standard: compute equal share 1/3 (no cpuSeconds from a)");
  });

  it("charges by linked account, then tag; an unknown tag gets a line under its own value", () => {
    const tenants: CostTenant[] = [
      { tenantId: "hooli", tier: "account", pool: undefined, signals: {} },
      { tenantId: "initech", tier: "namespace", pool: undefined, namespace: "tenant-initech", signals: {} },
    ];
    const result = allocate({
      tenants,
      accounts: { "210987654321": "hooli" },
      groups: [
        group({ account: "210987654321", cents: 1234, rows: 4 }),
        group({ account: "210987654321", tenantTag: "initech", cents: 5 }), // the account wins
        group({ tenantTag: "initech", category: "database", cents: 8026, rows: 2 }),
        group({ tenantTag: "initech", chargeType: "Credit", category: "database", cents: -26 }),
        group({ tenantTag: "umbrella", cents: 300 }),
        group({ cents: 5000, rows: 3 }),
        group({ chargeType: "Tax", cents: 700 }),
      ],
    });
    expect(result.lines.map((l) => [l.kind, l.tenant, l.cents, l.rows, l.basis])).toEqual([
      ["tenant", "hooli", 1239, 5, "linked account 210987654321"],
      ["tenant", "initech", 8000, 3, "tag"],
      ["unknown-tenant", "umbrella", 300, 1, "tag landlord.dev/tenant names no known tenant"],
      ["shared", SHARED, 700, 1, "untagged Tax"],
      ["shared", SHARED, 5000, 3, "untagged Usage"],
    ]);
  });

  it("divides EKS instances by the pods' split cost: tenant namespace, pool shard, other namespaces", () => {
    const tenants: CostTenant[] = [{ tenantId: "initech", tier: "namespace", pool: undefined, namespace: "tenant-initech", signals: {} }, pooled("a", { requestsPerDay: 1 })];
    const result = allocate({
      tenants,
      pools,
      accounts: {},
      groups: [
        group({ split: "parent", category: "compute", cents: 1000, rows: 2 }),
        group({ split: "pod", namespace: "tenant-initech", category: "compute", splitWeight: cents(6), rows: 2 }),
        group({ split: "pod", namespace: "pool-standard-1", category: "compute", splitWeight: cents(3), rows: 2 }),
        group({ split: "pod", namespace: "kube-system", category: "compute", splitWeight: cents(1), rows: 1 }),
      ],
    });
    expect(result.lines.map((l) => [l.tenant, l.cents])).toEqual([
      ["a", 300],
      ["initech", 600],
      [SHARED, 100],
    ]);
    expect(result.lines[1]?.basis).toBe("namespace tenant-initech (EKS split)");
    expect(result.splitRows).toBe(7);
  });

  it("carves OpenCost's namespace costs out of the untagged usage, and refuses more than is there", () => {
    const tenants: CostTenant[] = [{ tenantId: "initech", tier: "namespace", pool: undefined, namespace: "tenant-initech", signals: {} }];
    const namespaceCosts = [{ namespace: "tenant-initech", units: { compute: cents(300), storage: cents(20) } as Partial<Record<Category, bigint>> }];
    const groups = [group({ category: "compute", cents: 1000 }), group({ category: "storage", cents: 50 })];
    const result = allocate({ tenants, accounts: {}, groups, namespaceCosts, namespaceCostMode: "carve" });
    expect(result.lines.map((l) => [l.tenant, l.cents])).toEqual([
      ["initech", 320],
      [SHARED, 730],
    ]);
    expect(result.totalCents).toBe(1050);
    const added = allocate({ tenants, accounts: {}, groups: [], namespaceCosts, namespaceCostMode: "add" });
    expect(added.totalCents).toBe(320);
    expect(() => allocate({ tenants, accounts: {}, groups: [group({ category: "compute", cents: 100 })], namespaceCosts, namespaceCostMode: "carve" })).toThrow(
      "OpenCost reports 3.00 of compute cost, but the bill's untagged compute usage is only 1.00: the window or the cluster does not match the bill",
    );
  });

  it("spreads shared cost proportionally or evenly when asked, and keeps a pool without tenants as unallocated", () => {
    const tenants: CostTenant[] = [
      { tenantId: "a", tier: "namespace", pool: undefined, signals: {} },
      { tenantId: "b", tier: "namespace", pool: undefined, signals: {} },
    ];
    const groups = [group({ tenantTag: "a", cents: 300 }), group({ tenantTag: "b", cents: 100 }), group({ cents: 101 }), group({ poolTag: "eu", cents: 50 })];
    const pools2 = [{ name: "eu" }];
    const proportional = allocate({ tenants, pools: pools2, accounts: {}, groups, shared: "proportional" });
    expect(proportional.lines.map((l) => [l.tenant, l.cents])).toEqual([["a", 376], ["b", 125], [UNALLOCATED, 50]]);
    expect(proportional.lines[0]?.basis).toBe("tag; shared cost 75.00%");
    const even = allocate({ tenants, pools: pools2, accounts: {}, groups, shared: "even" });
    expect(even.lines.map((l) => [l.tenant, l.cents])).toEqual([["a", 351], ["b", 150], [UNALLOCATED, 50]]);
    expect(even.lines[2]?.basis).toBe("pool eu has no pooled tenant (tag)");
  });

  it("rounds once at the end: seven rows of 0.333333 make 2.33, not 7 × 0.33", () => {
    const groups = Array.from({ length: 7 }, () => group({ units: 3_333_333_333n }));
    const result = allocate({ tenants: [], accounts: {}, groups });
    expect(result.totalCents).toBe(233);
    expect(result.inputCents).toBe(233);
  });
});
