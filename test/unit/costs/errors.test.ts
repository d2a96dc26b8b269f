import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import type { CostBasis } from "../../../operator/src/costs/model.ts";
import { readBill, resolveLocal } from "../../../operator/src/costs/reader.ts";
import { parseAllocation } from "../../../operator/src/costs/opencost.ts";
import { CUR_HEADER, curCsv } from "../../fixtures/costs/cur.ts";
import { generateBill } from "../../fixtures/costs/generate.ts";

const dir = mkdtempSync(join(tmpdir(), "landlord-bill-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The one-line message reading `path` fails with. */
async function failure(path: string, basis: CostBasis = "unblended", period?: string): Promise<string> {
  try {
    await readBill(await resolveLocal(path), { basis, period });
  } catch (error) {
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error(`${path} was read without an error`);
}

describe("bad bill input fails in one line naming the file, row or column", () => {
  it("a missing column names the column and the format it looks like", async () => {
    const path = write("no-cost.csv", curCsv([{ cost: "1.00" }], CUR_HEADER.filter((c) => c !== "line_item_unblended_cost")));
    expect(await failure(path)).toBe(`${path}: not a CUR 2.0, FOCUS 1.2 or legacy costs export: missing column line_item_unblended_cost (closest: CUR 2.0)`);
  });

  it("a file named .parquet that is not Parquet", async () => {
    const path = write("bill.parquet", curCsv([{ cost: "1.00" }]));
    expect(await failure(path)).toBe(`${path}: not a Parquet file (a Parquet file starts and ends with "PAR1"); give .csv/.csv.gz files a .csv or .csv.gz name`);
  });

  it("mixed currencies name the rows in the other currency", async () => {
    const path = write("mixed.csv", curCsv([{ cost: "1.00" }, { cost: "2.00" }, { cost: "3.00", currency: "EUR" }]));
    expect(await failure(path)).toBe(`${path}: mixed currencies (USD in 2 rows, EUR in 1 rows), e.g. ${path} line 4 in EUR; one currency per run`);
  });

  it("malformed tags name the row", async () => {
    const path = write("tags.csv", curCsv([{ cost: "1.00" }, { cost: "1.00", tags: "{user_landlord_dev_tenant: acme" }]));
    expect(await failure(path)).toBe(`${path} line 3: column resource_tags is not a JSON object of tags (1 rows)`);
  });

  it("a cost that is not a number names the row and column", async () => {
    const path = write("cost.csv", curCsv([{ cost: "12,50" }]));
    expect(await failure(path)).toBe(`${path} line 2: column line_item_unblended_cost is not a number below 100,000,000 (1 rows)`);
  });

  it("an empty period, and several periods without --period", async () => {
    const path = write("periods.csv", curCsv([{ cost: "1.00" }, { cost: "1.00", period: "2026-10" }]));
    expect(await failure(path, "unblended", "2026-09")).toBe(`${path}: no rows in billing period 2026-09 (the export covers 2026-10, 2026-11)`);
    expect(await failure(path)).toBe(`${path}: covers 2 billing periods (2026-10, 2026-11); choose one with --period YYYY-MM`);
    const empty = write("empty.csv", `${CUR_HEADER.join(",")}\n`);
    expect(await failure(empty)).toBe(`${empty}: the export has no rows`);
  });

  it("a basis the export cannot give", async () => {
    const path = write("basis.csv", curCsv([{ cost: "1.00" }]));
    expect(await failure(path, "net")).toBe(`${path}: --basis net needs column line_item_net_unblended_cost, which this export does not have`);
    expect(await failure(path, "list")).toBe(`${path}: a CUR 2.0 export has no list cost basis; use one of unblended, billed, net, amortized, effective`);
  });

  it("paths: nothing there, an empty directory, a pattern matching nothing", async () => {
    expect(await failure(join(dir, "nope.parquet"))).toBe(`${join(dir, "nope.parquet")}: no such file or directory`);
    mkdirSync(join(dir, "empty-dir"));
    expect(await failure(join(dir, "empty-dir"))).toBe(`${join(dir, "empty-dir")}: no .parquet, .csv or .csv.gz file in this directory`);
    expect(await failure(join(dir, "none-*.parquet"))).toBe(`${join(dir, "none-*.parquet")}: no file matches this pattern`);
  });

  it("a Parquet export without a required column (FOCUS) names it", async () => {
    const g = await generateBill({ tenants: 3, rows: 15, dir: join(dir, "gen"), formats: ["focus-parquet"] });
    const path = join(dir, "focus-no-tags.parquet");
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT * EXCLUDE (Tags) FROM '${g.files["focus-parquet"]}') TO '${path}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    expect(await failure(path)).toBe(`${path}: not a CUR 2.0, FOCUS 1.2 or legacy costs export: missing column Tags (closest: FOCUS 1.2)`);
  }, 60_000);

  it("an OpenCost answer that is not an allocation response", () => {
    expect(() => parseAllocation("http://oc", { code: 200, data: [{ ns: { name: "ns" } }] })).toThrow("http://oc: not an OpenCost allocation response: data.0.ns.totalCost: Invalid input: expected number, received undefined");
    expect(() => parseAllocation("http://oc", { code: 500, data: [], message: "boom" })).toThrow("http://oc: OpenCost answered code 500: boom");
  });
});
