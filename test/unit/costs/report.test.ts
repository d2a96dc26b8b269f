import { describe, expect, it } from "vitest";
import { UsageError } from "../../../operator/src/cli/errors.ts";
import { renderHtmlReport, reportData, scriptJson } from "../../../operator/src/costs/report/html.ts";
import { checkCostLoopFlags, signalNames } from "../../../operator/src/cli/costLoop.ts";
import { group, reportRun, tenant } from "./runFixture.ts";

const hostile = `evil</script><script>alert(1)</script>`;
const run = reportRun([tenant(hostile, "pooled", { requestsPerDay: 1 }, "standard"), tenant("b", "namespace", { monthlyRevenueUSD: 1 })], { poolCents: { standard: 1000 }, groups: [group("b", 250, "database")] });

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
    expect(() => checkCostLoopFlags({ "cost-signal": "monthly cost" }, false)).toThrow(/--cost-signal: "monthly cost" is not a signal name/);
    expect(() => signalNames({ "margin-signal": "monthlyRevenueUSD" })).toThrow(/four different names/);
  });
});
