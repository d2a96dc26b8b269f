import { describe, expect, it } from "vitest";
import { MAX_REPORT_LINES, costReport } from "../../../operator/src/api/v1alpha1/index.ts";
import type { CostTenant } from "../../../operator/src/costs/allocate.ts";
import { monthPeriod } from "../../../operator/src/costs/run/costRun.ts";
import { costReportObject, reportName } from "../../../operator/src/costs/run/record.ts";
import { centsToUsd, DEFAULT_SIGNAL_NAMES as NAMES, desiredSignals, paced, signalApply, signalPatches, type SignalTenant } from "../../../operator/src/costs/run/signals.ts";
import { group, pooled, reportRun as run, tenant } from "./runFixture.ts";

describe("costRunFromReport", () => {
  const r = run([pooled("a", 1, 100), pooled("b", 3, 50), tenant("c", "namespace")], { poolCents: { standard: 400_00 }, groups: [group("c", 600_00, "database"), group("", 10_00, "network")] });

  it("keeps every cent: tenants plus unallocated equal the inputs", () => {
    expect(r.totals.totalCents).toBe(1010_00);
    expect(r.totals.tenantsCents + r.totals.unallocatedCents).toBe(r.totals.totalCents);
    expect(r.unallocated).toEqual([{ basis: "(shared): untagged Usage", pool: "", cents: 10_00 }]);
  });

  it("gives each tenant cost, revenue, margin and both shares", () => {
    expect(r.lines.map((l) => [l.tenant, l.costCents, l.revenueCents, l.marginCents, l.costShare, l.revenueShare])).toEqual([
      ["a", 100_00, 100_00, 0, 0.1, 0.6667],
      ["b", 300_00, 50_00, -250_00, 0.3, 0.3333],
      ["c", 600_00, undefined, undefined, 0.6, undefined],
    ]);
  });

  it("totals per tier and per pool", () => {
    expect(r.totals.byTier).toEqual({ pooled: { tenants: 2, costCents: 400_00, revenueCents: 150_00 }, namespace: { tenants: 1, costCents: 600_00, revenueCents: 0 } });
    expect(r.totals.byPool).toEqual({ standard: { tenants: 2, costCents: 400_00, revenueCents: 150_00 } });
  });

  it("measures concentration: the costliest 1% and 10% (at least one tenant) of 3 is the top one", () => {
    expect(r.pareto).toEqual({ tenants: 3, top1PctShare: 0.6, top10PctShare: 0.6 });
    const many = run(Array.from({ length: 100 }, (_, i) => pooled(`t${String(i).padStart(3, "0")}`, i === 0 ? 901 : 1)), { poolCents: { standard: 1000_00 } });
    expect(many.pareto.top1PctShare).toBe(0.901);
    expect(many.pareto.top10PctShare).toBe(0.91);
  });

  it("records the month, basis and inputs: a file by its sha256, the tenants by a digest of what the split reads", () => {
    expect(r.period).toEqual({ start: "2026-11-01", end: "2026-12-01" });
    expect([r.basis, r.currency]).toEqual(["unblended", "USD"]);
    expect(r.inputs[0]).toEqual({ name: "bill.csv", rows: 3, sha256: "a".repeat(64) });
    expect(r.inputs[1]).toMatchObject({ name: "TenantPlacements from tests", rows: 3 });
    // The run's own signals do not change the digest: recording twice finds the first report.
    const again = run([pooled("a", 1, 100), { ...pooled("b", 3, 50), signals: { requestsPerDay: 3, monthlyRevenueUSD: 50, monthlyCostUSD: 300 } }, tenant("c", "namespace")], { poolCents: { standard: 400_00 }, groups: [group("c", 600_00, "database"), group("", 10_00, "network")] });
    expect(again.inputs[1]?.sha256).toBe(r.inputs[1]?.sha256);
    const moreRevenue = run([pooled("a", 1, 101), pooled("b", 3, 50), tenant("c", "namespace")], { poolCents: { standard: 400_00 }, groups: [group("c", 600_00, "database"), group("", 10_00, "network")] });
    expect(moreRevenue.inputs[1]?.sha256).not.toBe(r.inputs[1]?.sha256);
  });

  it("reads a month as a period, and refuses anything else", () => {
    expect(monthPeriod("2026-12", 0)).toEqual({ start: "2026-12-01", end: "2027-01-01" });
    expect(monthPeriod(undefined, Date.parse("2026-02-14T10:00:00Z"))).toEqual({ start: "2026-02-01", end: "2026-03-01" });
    expect(() => monthPeriod("2026-13", 0)).toThrow(/expected a month such as 2026-11, got "2026-13"/);
  });
});

describe("cost signals", () => {
  const r = run([pooled("a", 1, 100), pooled("b", 3)], { poolCents: { standard: 100_01 } });

  it("writes cost in USD with cents, share, and margin only where revenue is known", () => {
    expect(Object.fromEntries(desiredSignals(r, NAMES))).toEqual({
      a: { monthlyCostUSD: 25, costShare: 0.25, marginUSD: 75 },
      b: { monthlyCostUSD: 75.01, costShare: 0.75 },
    });
    expect(centsToUsd(-289091)).toBe(-2890.91);
  });

  it("patches only the tenants whose figures changed, with nothing but the cost keys", () => {
    const tenants: SignalTenant[] = [
      { name: "a", reportedSignals: { monthlyRevenueUSD: 100, monthlyCostUSD: 25, costShare: 0.25, marginUSD: 75 } },
      { name: "b", reportedSignals: { monthlyCostUSD: 70 } },
      { name: "gone", reportedSignals: undefined },
    ];
    const patches = signalPatches(r, tenants, NAMES);
    expect(patches).toEqual([{ tenant: "b", signals: { monthlyCostUSD: 75.01, costShare: 0.75 } }]);
    expect(signalApply(patches[0]!)).toEqual({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPlacement",
      metadata: { name: "b" },
      spec: { reportedSignals: { monthlyCostUSD: 75.01, costShare: 0.75 } },
    });
  });

  it("counts a margin that is no longer known as a change (the apply releases it)", () => {
    const patches = signalPatches(r, [{ name: "b", reportedSignals: { monthlyCostUSD: 75.01, costShare: 0.75, marginUSD: -3 } }], NAMES);
    expect(patches).toHaveLength(1);
  });

  it("paces writes evenly at the rate given, and never more at once than the concurrency", async () => {
    let clock = 0;
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    const tasks = Array.from({ length: 10 }, () => async () => {
      started.push(clock);
      most = Math.max(most, ++inFlight);
      await Promise.resolve();
      inFlight--;
      return clock;
    });
    await paced(tasks, { perSecond: 5, concurrency: 3, now: () => clock, sleep: async (ms) => void (clock += ms) });
    expect(started).toHaveLength(10);
    // 10 writes at 5 a second: the last starts 1.8 s after the first.
    expect(Math.max(...started)).toBe(1800);
    expect(most).toBeLessThanOrEqual(3);
  });
});

describe("the CostReport", () => {
  const r = run([pooled("a", 1, 100), pooled("b", 3)], { poolCents: { standard: 100_01 } });

  it("is named after what it records, not who or when, so the same run is found again", () => {
    const one = costReportObject(r, { actor: "alice", now: 0, signals: { ...NAMES, written: 2 } });
    const two = costReportObject(r, { actor: "bob", now: 5000, signals: { ...NAMES, written: 0 } });
    expect(one.metadata.name).toBe(two.metadata.name);
    expect(one.metadata.name).toMatch(/^costs-2026-11-[0-9a-f]{12}$/);
    expect(reportName({ ...r, inputs: [{ ...r.inputs[0]!, sha256: "b".repeat(64) }] }, NAMES)).not.toBe(one.metadata.name);
    expect(costReport.safeParse(one).success).toBe(true);
  });

  it("stays far below the 1.5 MiB object limit at 10,000 tenants: no per-tenant lines", () => {
    // The worst case the schema allows: as many pools as a report lists, and more unallocated lines than it keeps.
    const tenants = Array.from({ length: 10_000 }, (_, i): CostTenant => tenant(`tenant-${i}`, "pooled", { requestsPerDay: 1 + (i % 97), monthlyRevenueUSD: 10 * i }, `pool-${i % MAX_REPORT_LINES}`));
    const groups = Array.from({ length: 500 }, (_, i) => group(`deleted-${i}`, 100 + i, "storage"));
    const poolCents = Object.fromEntries(Array.from({ length: MAX_REPORT_LINES }, (_, i) => [`pool-${i}`, 1_000_000_00]));
    const big = run(tenants, { poolCents, groups });
    const object = costReportObject(big, { actor: "system:serviceaccount:landlord-system:landlord-costs", now: 0, signals: { ...NAMES, written: 10_000 } });
    const bytes = Buffer.byteLength(JSON.stringify(object));
    expect(bytes).toBeLessThan(32 * 1024);
    expect(object.spec.totals.byPool).toHaveLength(MAX_REPORT_LINES);
    expect(object.spec.unallocated).toHaveLength(MAX_REPORT_LINES);
    expect(object.spec.unallocated.reduce((a, u) => a + u.cents, 0)).toBe(big.totals.unallocatedCents);
    expect(costReport.safeParse(object).success).toBe(true);
  });
});
