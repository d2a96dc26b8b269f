import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { costRows, costTenant, inventoryAccounts, type CostPlacement } from "../../../operator/src/cli/costs.ts";
import { parseManifests } from "../../../operator/src/cli/plan.ts";
import { allocate, formatCents, largestRemainder, parseUsdCents, UNALLOCATED } from "../../../operator/src/costs/allocate.ts";
import { parseAwsCosts } from "../../../operator/src/costs/aws.ts";

const FIXTURES = "test/fixtures/costs";

describe("largestRemainder", () => {
  it("splits $100.00 three ways as 33.34, 33.33, 33.33", () => {
    // 10000 cents / 3 = 3333 r 1 each; 1 cent left over goes to the first (ties: earlier index).
    expect(largestRemainder(10000, [1, 1, 1])).toEqual([3334, 3333, 3333]);
  });

  it("gives leftover cents to the largest fractional parts", () => {
    // 100000 * {1,2,4}/7 = 14285.714, 28571.428, 57142.857 → floors 14285, 28571, 57142 (sum 99998);
    // 2 cents left: to .857 (third) and .714 (first).
    expect(largestRemainder(100000, [10000, 20000, 40000])).toEqual([14286, 28571, 57143]);
  });

  it("always sums to the total, and stays exact with large numbers", () => {
    const weights = [1_000_000_007, 999_999_937, 3, 0, 77];
    const shares = largestRemainder(987_654_321_01, weights);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(987_654_321_01);
    expect(shares[3]).toBe(0);
  });
});

describe("parseUsdCents / formatCents", () => {
  it("rounds half away from zero on the decimal digits", () => {
    expect(parseUsdCents("80.255")).toBe(8026);
    expect(parseUsdCents("0.004")).toBe(0);
    expect(parseUsdCents("-1.005")).toBe(-101);
    expect(parseUsdCents("12000")).toBe(1_200_000);
    expect(parseUsdCents("1.2e3")).toBe(120_000);
    expect(() => parseUsdCents("12k")).toThrow(/not a USD amount/);
    expect(formatCents(123456)).toBe("1234.56");
    expect(formatCents(-5)).toBe("-0.05");
  });
});

describe("allocate on the fixtures", () => {
  const manifests = parseManifests("tenants.yaml", readFileSync(`${FIXTURES}/tenants.yaml`, "utf8"));
  const tenants = manifests.tenants.map((t) => t.object);
  const awsRows = parseAwsCosts(readFileSync(`${FIXTURES}/costs.csv`, "utf8"));
  const result = allocate({
    tenants: tenants.map(costTenant),
    poolCosts: { standard: 100_000, eu: 10_000 }, // $1000.00 and $100.00
    awsRows,
    accounts: inventoryAccounts(tenants), // hooli's 210987654321 from status.resources
  });
  const cents = (tenant: string, basis?: RegExp): number | undefined =>
    result.lines.find((l) => l.tenant === tenant && (!basis || basis.test(l.basis)))?.cents;

  it("splits pool standard by requestsPerDay share", () => {
    // requestsPerDay acme 10000, globex 20000, stark 40000 (total 70000) of $1000.00 = 100000 cents:
    // acme 14285.714 → 14286 (+1 leftover), globex 28571.428 → 28571, stark 57142.857 → 57143 (+1).
    // acme also has one AWS row tagged acme: AmazonCloudWatch 1.11 → 14286 + 111 = 14397.
    expect(cents("acme")).toBe(14397);
    expect(cents("globex")).toBe(28571);
    expect(cents("stark")).toBe(57143);
    expect(result.lines.find((l) => l.tenant === "globex")?.basis).toMatch(/requestsPerDay share 28\.57% of pool standard/);
  });

  it("splits pool eu equally when a member lacks requestsPerDay, remainder to the first id", () => {
    // wayne reports no requestsPerDay → equal: 10000 / 3 = 3333 r1 → dunder 3334, oscorp 3333, wayne 3333.
    expect([cents("dunder"), cents("oscorp"), cents("wayne")]).toEqual([3334, 3333, 3333]);
    expect(result.lines.find((l) => l.tenant === "wayne")?.basis).toBe("equal share 1/3 of pool eu (no requestsPerDay from wayne)");
  });

  it("charges dedicated tenants by tag and account tenants by linked account", () => {
    // initech: EKS 120.50 + RDS 80.255 (→ 80.26) = 200.76.
    expect(cents("initech")).toBe(20076);
    // hooli: RDS 900.00 + untagged CloudTrail 12.34 in its own account 210987654321
    //        + S3 7.66 tagged hooli in the platform account = 920.00.
    expect(cents("hooli")).toBe(92000);
  });

  it("reports untagged rows and unknown tags as unallocated, and the total reconciles", () => {
    // Untagged in the platform account: VPC 45.10 + KMS 4.90 = 50.00; tag umbrella (no such tenant): 3.00.
    expect(cents(UNALLOCATED, /untagged/)).toBe(5000);
    expect(cents(UNALLOCATED, /umbrella/)).toBe(300);
    // Inputs: pools 1000.00 + 100.00, AWS rows 120.50 + 80.26 + 45.10 + 4.90 + 900.00 + 12.34 + 7.66
    // + 3.00 + 1.11 = 1174.87 → 2274.87.
    expect(result.inputCents).toBe(227487);
    expect(result.totalCents).toBe(227487);
    expect(result.lines.reduce((a, l) => a + l.cents, 0)).toBe(227487);
  });
});

describe("allocate edge cases", () => {
  it("reports a pool cost without pooled tenants as unallocated", () => {
    const result = allocate({ tenants: [{ tenantId: "a", tier: "namespace", pool: "standard" }], poolCosts: { standard: 500 }, awsRows: [], accounts: {} });
    expect(result.lines).toContainEqual(expect.objectContaining({ tenant: UNALLOCATED, pool: "standard", cents: 500 }));
    expect(result.totalCents).toBe(500);
  });

  it("falls back to equal shares when every member reports zero usage", () => {
    const tenants = ["a", "b"].map((tenantId) => ({ tenantId, tier: "pooled" as const, pool: "p", requestsPerDay: 0 }));
    // 101 cents / 2 = 50 r1 → a 51, b 50.
    expect(allocate({ tenants, poolCosts: { p: 101 }, awsRows: [], accounts: {} }).lines.map((l) => l.cents)).toEqual([51, 50]);
  });
});

describe("costRows (what landlord costs prints)", () => {
  const placement = (name: string, status: CostPlacement["status"]): CostPlacement => ({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name }, spec: { tenantId: name }, status });

  it("finds an account tenant's account in status.stacks, and --account adds one", () => {
    const tenants = [
      placement("hooli", { tier: "account", stacks: [{ kind: "account", accountId: "210987654321" }] }),
      placement("massive", { tier: "account" }),
      placement("acme", { tier: "pooled", pool: "standard" }),
    ];
    const rows = costRows({
      tenants,
      poolCosts: { standard: 1234 },
      awsRows: [
        { linkedAccount: "210987654321", tenantTag: "", service: "AWS CloudTrail", cents: 1000 },
        { linkedAccount: "333333333333", tenantTag: "", service: "Amazon RDS", cents: 250 },
      ],
      accounts: [["massive", "333333333333"]],
    });
    // Each account's untagged rows go to its tenant; acme alone takes the whole pool: 12.34.
    expect(rows.map((r) => [r.tenant, r.cents])).toEqual([
      ["acme", 1234],
      ["hooli", 1000],
      ["massive", 250],
      ["TOTAL", 2484],
    ]);
  });

  it("reads raw cluster objects: an unknown tier counts as not placed, a missing tenantId falls back to the name", () => {
    const raw: CostPlacement = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: "newer" }, status: { tier: "galaxy" } };
    expect(costTenant(raw)).toEqual({ tenantId: "newer", tier: undefined, pool: undefined, requestsPerDay: undefined });
  });

  it("reads the List that kubectl get tp -o yaml writes", () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: landlord.dev/v1alpha1
    kind: TenantPlacement
    metadata: {name: acme, uid: 0b7c, managedFields: [{manager: billing, operation: Apply}]}
    spec: {tenantId: acme, costCenter: cc-1}
    status: {tier: pooled, pool: standard, signals: {requestsPerDay: 3}}
  - apiVersion: landlord.dev/v1alpha1
    kind: TenantPlacement
    metadata: {name: beta}
    spec: {tenantId: beta, costCenter: cc-1}
    status: {tier: pooled, pool: standard, signals: {requestsPerDay: 1}}
metadata: {resourceVersion: ""}
`;
    const tenants = parseManifests("saved.yaml", list).tenants.map((t) => t.object);
    // $1.00 by request share 3:1 → 75 and 25 cents.
    expect(costRows({ tenants, poolCosts: { standard: 100 }, awsRows: [] }).map((r) => [r.tenant, r.cents])).toEqual([
      ["acme", 75],
      ["beta", 25],
      ["TOTAL", 100],
    ]);
    expect(() => parseManifests("saved.yaml", list.replace("costCenter: cc-1}", "costCenter: \"\"}"))).toThrow(/^saved\.yaml: document 1 item 1 \(TenantPlacement acme\): spec\.costCenter/);
  });
});
