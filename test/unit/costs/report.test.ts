import { describe, expect, it } from "vitest";
import { UsageError } from "../../../operator/src/cli/errors.ts";
import { allocate } from "../../../operator/src/costs/allocate.ts";
import { renderHtmlReport, reportData, scriptJson } from "../../../operator/src/costs/report/html.ts";
import { checkCostLoopFlags, revenueOf, signalNames } from "../../../operator/src/costs/run/command.ts";
import { costRunFromAllocation } from "../../../operator/src/costs/run/costRun.ts";

const hostile = `evil</script><script>alert(1)</script>`;
const run = costRunFromAllocation(
  allocate({ tenants: [{ tenantId: hostile, tier: "pooled", pool: "standard", requestsPerDay: 1 }, { tenantId: "b", tier: "namespace", pool: undefined }], poolCosts: { standard: 1000 }, awsRows: [{ linkedAccount: "1", tenantTag: "b", service: "RDS", cents: 250 }], accounts: {} }),
  { period: { start: "2026-11-01", end: "2026-12-01" }, basis: "unblended", inputs: [], revenueCents: new Map([["b", 100]]) },
);

describe("the HTML report", () => {
  const html = renderHtmlReport(run, { generatedAt: "2026-12-01T00:00:00Z" });

  it("is one page with Chart.js inlined and nothing to fetch", () => {
    expect(html).toContain("Chart.js v4");
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });

  it("never lets a tenant id close the data script or become markup", () => {
    expect(html).not.toContain(hostile);
    expect(scriptJson(hostile)).toBe('"evil\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"');
    expect(JSON.parse(scriptJson({ t: hostile }))).toEqual({ t: hostile });
  });

  it("embeds amounts as the same decimal strings the table prints", () => {
    const data = reportData(run, "now");
    expect(data.totals).toEqual({ total: "12.50", tenants: "12.50", unallocated: "0.00", revenue: "1.00" });
    expect(data.tenants.find((t) => t.tenant === "b")).toMatchObject({ cost: "2.50", revenue: "1.00", margin: "-1.50" });
  });
});

describe("the cost loop's flags", () => {
  it("refuse what cannot work, in one line each", () => {
    expect(() => checkCostLoopFlags({ record: true }, true)).toThrow(new UsageError("--record writes to the cluster: give --kubeconfig (or KUBECONFIG), not -f files"));
    expect(() => checkCostLoopFlags({ "no-signals": true }, false)).toThrow(/--no-signals only applies with --record/);
    expect(() => checkCostLoopFlags({ "write-rate": "fast" }, false)).toThrow(/--write-rate: expected patches per second such as 50 \(0 = unlimited\), got "fast"/);
    expect(() => checkCostLoopFlags({ period: "2026-11-01" }, false)).toThrow(/--period: expected a month such as 2026-11, got "2026-11-01"/);
    expect(() => checkCostLoopFlags({ "cost-signal": "monthly cost" }, false)).toThrow(/--cost-signal: "monthly cost" is not a signal name/);
    expect(() => signalNames({ "margin-signal": "monthlyRevenueUSD" })).toThrow(/four different names/);
  });

  it("read revenue from spec first, then status, and ignore what is not an amount", () => {
    const t = (spec?: Record<string, number>, status?: Record<string, number>) => ({ apiVersion: "v1", kind: "TenantPlacement", metadata: { name: "a" }, spec: { reportedSignals: spec }, status: { signals: status } });
    expect(revenueOf(t({ monthlyRevenueUSD: 1200.5 }, { monthlyRevenueUSD: 1 }), "monthlyRevenueUSD")).toBe(120050);
    expect(revenueOf(t(undefined, { monthlyRevenueUSD: 7 }), "monthlyRevenueUSD")).toBe(700);
    expect(revenueOf(t({ monthlyRevenueUSD: 1e300 }), "monthlyRevenueUSD")).toBeUndefined();
    expect(revenueOf(t(), "monthlyRevenueUSD")).toBeUndefined();
  });
});
