import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { roundCents } from "../../../operator/src/costs/allocate.ts";
import type { CostBasis } from "../../../operator/src/costs/model.ts";
import type { CostReport } from "../../../operator/src/costs/report.ts";
import { ALL_FORMATS, generateBill, reportFor } from "../../fixtures/costs/generate.ts";

const root = mkdtempSync(join(tmpdir(), "landlord-bill-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;

/** The CUR basis whose generated total a basis must equal (FOCUS list/contracted = unblended here). */
const BASES: Record<"cur2" | "focus", Partial<Record<CostBasis, "unblended" | "net" | "amortized">>> = {
  cur2: { unblended: "unblended", net: "net", amortized: "amortized" },
  focus: { billed: "unblended", effective: "amortized", list: "unblended", contracted: "unblended" },
};

const tenantCents = (r: CostReport): [string, number][] => r.lines.filter((l) => l.kind === "tenant").map((l) => [l.tenant, l.cents]);

describe("bill exports: every format and basis reconciles to the cent", () => {
  it("TOTAL equals the sum of the input, and every in-period row lands in exactly one line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 3, max: 40 }), fc.integer({ min: 20, max: 800 }), fc.boolean(), async (seed, tenants, rows, extras) => {
        const g = await generateBill({ tenants, rows, seed, extras, formats: ALL_FORMATS, dir: join(root, `run-${runs++}`) });
        let reference: [string, number][] | undefined;
        for (const format of ALL_FORMATS) {
          const family = format.startsWith("cur2") ? "cur2" : "focus";
          for (const [basis, expected] of Object.entries(BASES[family]) as [CostBasis, "unblended" | "net" | "amortized"][]) {
            const report = await reportFor(g, format, basis);
            const what = `${format} --basis ${basis} (seed ${seed})`;
            expect(report.totalCents, what).toBe(Number(roundCents(g.expected[expected])));
            expect(report.lines.reduce((a, l) => a + l.cents, 0), what).toBe(report.totalCents);
            // Rows: charged directly to one line, or to one pool (then split), never both, never dropped.
            const placed = report.lines.reduce((a, l) => a + l.rows, 0) + Object.values(report.poolRows).reduce((a, b) => a + b, 0) + report.splitRows;
            expect(placed, what).toBe(g.rowsInPeriod);
            expect(report.inputs[0]?.rows, what).toBe(g.rowsInPeriod + g.rowsExcluded);
            expect(report.inputs[0]?.excludedRows, what).toBe(g.rowsExcluded);
            for (const line of report.lines.filter((l) => l.kind === "tenant")) expect(line.rows, `${what}: ${line.tenant}`).toBe(g.directRows[line.tenant] ?? 0);
            // Categories add up to the line on every line.
            for (const line of report.lines) expect(Object.values(line.categories).reduce((a, b) => a + b, 0), what).toBe(line.cents);
            if (basis === "unblended" || basis === "billed") {
              // The CUR and the FOCUS export of one bill give every tenant the same cents.
              reference ??= tenantCents(report);
              expect(tenantCents(report), what).toEqual(reference);
            }
          }
        }
      }),
      { numRuns: 6 },
    );
  }, 180_000);

  it("reports credits, tax and unknown tags instead of dropping them", async () => {
    const g = await generateBill({ tenants: 30, rows: 300, seed: 7, extras: true, formats: ["cur2-parquet", "focus-csv"], dir: join(root, "extras") });
    const cur = await reportFor(g, "cur2-parquet", "unblended");
    expect(cur.chargeTypes.map((c) => [c.chargeType, c.cents])).toEqual(
      expect.arrayContaining([
        ["Credit", -1234],
        ["Refund", -500],
        ["Tax", 4321],
        ["SavingsPlanNegation", -1000],
      ]),
    );
    expect(cur.lines.find((l) => l.kind === "unknown-tenant")).toMatchObject({ tenant: "ghost-tenant", cents: 250, basis: "tag landlord.dev/tenant names no known tenant" });
    const tax = cur.lines.find((l) => l.basis === "untagged Tax");
    expect(tax?.cents).toBe(4321);
    // The credit tagged with a dedicated tenant follows it: its line equals its true cost to the cent.
    const dedicated = g.tenants.find((t) => t.tier === "namespace")?.tenantId as string;
    expect(cur.lines.find((l) => l.tenant === dedicated)?.cents).toBe(g.truthCents[dedicated]);
    const focus = await reportFor(g, "focus-csv", "billed");
    expect(focus.chargeTypes.find((c) => c.chargeType === "Tax")?.cents).toBe(4321);
  }, 60_000);

  it("divides EKS instances among namespaces by the pods' split cost", async () => {
    const g = await generateBill({ tenants: 12, rows: 120, seed: 3, split: true, formats: ["cur2-parquet", "cur2-csv"], dir: join(root, "split") });
    const dedicated = g.tenants.find((t) => t.tier === "namespace")?.tenantId as string;
    for (const format of ["cur2-parquet", "cur2-csv"] as const) {
      const report = await reportFor(g, format, "unblended");
      // Instances 48.00 + 24.01 = 72.01, split by pod split + unused cost: tenant 24.00 + 24.01 = 48.01,
      // the pool's shard 18.00, kube-system 6.00 (shared).
      expect(report.lines.find((l) => l.tenant === dedicated)?.cents).toBe((g.truthCents[dedicated] as number) + 4801);
      expect(report.lines.find((l) => l.basis === "Kubernetes namespaces of no tenant or pool (EKS split)")?.cents).toBe(600);
      expect(report.splitRows).toBe(6);
      expect(report.totalCents).toBe(Number(roundCents(g.expected.unblended)));
    }
  }, 60_000);

  it("per-category drivers recover each pooled tenant's true cost; requestsPerDay alone does not", async () => {
    const g = await generateBill({ tenants: 300, rows: 3000, seed: 11, formats: ["cur2-parquet"], dir: join(root, "truth") });
    const errors = (r: CostReport): number[] =>
      r.lines.filter((l) => l.kind === "tenant").map((l) => Math.abs(l.cents - (g.truthCents[l.tenant] as number)) / (g.truthCents[l.tenant] as number));
    const byCategory = errors(await reportFor(g, "cur2-parquet", "unblended")).sort((a, b) => a - b);
    const byRequests = errors(await reportFor(g, "cur2-parquet", "unblended", true));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    // The signals measure usage to ±1%, so a tenant's error stays within about 1%.
    expect(mean(byCategory)).toBeLessThan(0.01);
    expect(byCategory[Math.floor(byCategory.length * 0.99)]).toBeLessThan(0.02);
    expect(mean(byRequests)).toBeGreaterThan(0.2);
  }, 60_000);
});
