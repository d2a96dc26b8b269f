import { describe, expect, it } from "vitest";
import { costReport, costTenant, renderCosts, type CostPlacement } from "../../../operator/src/cli/costs.ts";
import { readManifestFiles } from "../../../operator/src/cli/plan.ts";

const FIXTURES = "test/fixtures/costs";

describe("landlord costs, rendered", () => {
  it("reads the legacy 4-column CSV with --pool-cost, and prints the table with its summary", async () => {
    const placements = readManifestFiles([`${FIXTURES}/tenants.yaml`]).tenants.map((t) => t.object);
    const report = await costReport(
      { bills: [`${FIXTURES}/costs.csv`], basis: "unblended", shared: "none", revenueSignal: "monthlyRevenueUSD", poolCosts: { standard: 1000n * 10n ** 10n, eu: 100n * 10n ** 10n }, accounts: [] },
      placements,
      [],
    );
    // Legacy rows: 120.50 + 80.255 + 45.10 + 4.90 + 900 + 12.34 + 7.66 + 3.00 + 1.11 = 1174.865, plus
    // the pools 1000 + 100 → 2274.865 → 2274.87 (rounded once, not per row).
    expect(report.totalCents).toBe(227487);
    expect(renderCosts(report, "table").replace(/sha256 [0-9a-f]{12}/, "sha256 …")).toMatchInlineSnapshot(`
      "TENANT     TIER        POOL       COST      REVENUE   MARGIN     MARGIN%   COST_SHARE   REVENUE_SHARE   BASIS
      acme       pooled      standard   143.97    <none>    <none>     <none>    6.48%        <none>          tag; pool standard: other by requestsPerDay 14.29%
      dunder     pooled      eu         33.33     <none>    <none>     <none>    1.50%        <none>          pool eu: other equal share 1/3 (no requestsPerDay from wayne)
      globex     pooled      standard   285.72    <none>    <none>     <none>    12.86%       <none>          pool standard: other by requestsPerDay 28.57%
      hooli      account     <none>     920.00    <none>    <none>     <none>    41.41%       <none>          linked account 210987654321; tag
      initech    namespace   <none>     200.76    <none>    <none>     <none>    9.04%        <none>          tag
      oscorp     pooled      eu         33.33     <none>    <none>     <none>    1.50%        <none>          pool eu: other equal share 1/3 (no requestsPerDay from wayne)
      stark      pooled      standard   571.43    <none>    <none>     <none>    25.72%       <none>          pool standard: other by requestsPerDay 57.14%
      wayne      pooled      eu         33.33     900.00    866.67     96.30%    1.50%        100.00%         pool eu: other equal share 1/3 (no requestsPerDay from wayne)
      umbrella   <none>      <none>     3.00      <none>    <none>     <none>    <none>       <none>          tag landlord.dev/tenant names no known tenant
      (shared)   <none>      <none>     50.00     <none>    <none>     <none>    <none>       <none>          untagged Usage
      TOTAL      <none>      <none>     2274.87   900.00    -1374.87   <none>    <none>       <none>          sum of all inputs

      Period (none), USD, basis unblended, shared cost none, revenue from monthlyRevenueUSD.
      Inputs: test/fixtures/costs/costs.csv (legacy, 9 rows, sha256 …); --pool-cost standard=1000.00 (pool-cost, 1 row); --pool-cost eu=100.00 (pool-cost, 1 row).
      Charge types: Usage 1174.87.
      Tiers: account 1 tenants 920.00, namespace 1 tenants 200.76, pooled 6 tenants 1101.11. Pools: eu 3 tenants 99.99, standard 3 tenants 1001.12.
      On tenants: 97.67% of the total. Pareto: the top 1% (1 tenants) carry 41.41% of the tenants' cost, the top 10% (1) 41.41%.
      "
    `);
  }, 60_000);

  it("takes signals from status, then from spec.reportedSignals", () => {
    const raw: CostPlacement = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: "newer" }, spec: { reportedSignals: { monthlyRevenueUSD: 10, cpuSeconds: 4 } }, status: { tier: "galaxy", signals: { cpuSeconds: 5 } } };
    expect(costTenant(raw)).toEqual({ tenantId: "newer", tier: undefined, pool: undefined, namespace: undefined, signals: { monthlyRevenueUSD: 10, cpuSeconds: 5 } });
  });
});
