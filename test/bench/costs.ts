/**
 * `landlord costs` in the benchmark:
 *  - attribution error per tenant against the generator's ground truth (mean and p99, % of the
 *    tenant's true cost), with the pools' per-category drivers and with requestsPerDay alone (the
 *    behaviour before per-category drivers), over 5,000 tenants;
 *  - `landlord costs` as a process (compiled as the image runs it, and through tsx as a clone runs
 *    it; -f tenants.json, --bill a CUR 2.0 Parquet file of 10M rows): wall time and peak RSS, as a
 *    ratio to DuckDB's bare scan-and-group of the same file in a process of its own
 *    (test/bench/costsBare.mjs).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { costReport, type CostPlacement, type CostPoolObject } from "../../operator/src/cli/costs.ts";
import { projectRoot } from "../../operator/src/local/paths.ts";
import type { CostReport } from "../../operator/src/costs/report.ts";
import { generateBill, PERIOD, reportFor, type Generated } from "../fixtures/costs/generate.ts";
import { buildCompiled } from "./operator.ts";
import { percentile, round, type Report } from "./report.ts";

/** The same query as costsBare.mjs: the engine's scan-and-group of the columns the bill query reads. */
const BARE_QUERY = (file: string): string => `SELECT line_item_usage_account_id, resource_tags['user_landlord_dev_tenant'] AS tenant, resource_tags['user_landlord_dev_pool'] AS pool,
  line_item_product_code, line_item_usage_type, line_item_line_item_type, sum(line_item_unblended_cost) AS cost, count(*) AS n
FROM read_parquet('${file.replace(/'/g, "''")}') GROUP BY ALL`;

export interface CostBenchOptions {
  tenants: number;
  rows: number;
  log: (line: string) => void;
}

interface Measured {
  ms: number;
  peakMiB: number;
  stdout: string;
}

/** Runs node with the peak-RSS preload; wall time from spawn to exit. */
function measure(args: string[]): Promise<Measured> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", join(projectRoot, "test/bench/hwm.mjs"), ...args], { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => void (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => void (stderr += c.toString()));
    child.on("exit", (code) => {
      const ms = performance.now() - started;
      const kib = Number(/bench-peak-rss-kib (\d+)/.exec(stderr)?.[1]);
      if (code !== 0 || !Number.isFinite(kib)) return fail(new Error(`${args.join(" ")} exited ${code}: ${stderr.slice(-2000)}`));
      done({ ms, peakMiB: kib / 1024, stdout });
    });
  });
}

function errors(g: Generated, report: CostReport, pooledOnly: boolean): number[] {
  const tier = new Map(g.tenants.map((t) => [t.tenantId, t.tier]));
  return report.lines
    .filter((l) => l.kind === "tenant" && (!pooledOnly || tier.get(l.tenant) === "pooled"))
    .map((l) => (100 * Math.abs(l.cents - (g.truthCents[l.tenant] as number))) / (g.truthCents[l.tenant] as number));
}

export async function costScenarios(report: Report, options: CostBenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "landlord-bench-costs-"));
  try {
    // Accuracy: a smaller bill is enough (the error depends on the tenants, not the row count).
    options.log(`bench: costs: attribution error, ${options.tenants} tenants`);
    const small = await generateBill({ tenants: options.tenants, rows: options.tenants * 50, seed: 2026, formats: ["cur2-parquet"], dir: join(dir, "accuracy") });
    const accuracy = "costs: attribution error per tenant vs the generator's ground truth (% of its true cost)";
    for (const [label, driverless] of [["per-category drivers (TenantPool costAllocation)", false], ["requestsPerDay alone (before: one driver for all)", true]] as const) {
      const r = await reportFor(small, "cur2-parquet", "unblended", driverless);
      for (const [who, pooledOnly] of [["pooled tenants", true], ["all tenants", false]] as const) {
        const e = errors(small, r, pooledOnly);
        const mean = e.reduce((a, b) => a + b, 0) / e.length;
        report.record({ scenario: accuracy, n: e.length, figure: `${label}, ${who}: mean`, value: round(mean, 2), unit: "%", ...(driverless ? {} : { target: { op: "<=" as const, value: 1 } }) });
        report.record({ scenario: accuracy, n: e.length, figure: `${label}, ${who}: p99`, value: round(percentile(e, 99), 2), unit: "%", note: `max ${round(Math.max(...e), 2)}%` });
      }
    }

    options.log(`bench: costs: generating ${options.tenants} tenants × ${options.rows} CUR 2.0 rows`);
    const started = performance.now();
    const big = await generateBill({ tenants: options.tenants, rows: options.rows, seed: 2027, formats: ["cur2-parquet"], dir: join(dir, "scale") });
    const file = big.files["cur2-parquet"] as string;
    const scale = `costs: landlord costs over ${options.tenants} tenants and a CUR 2.0 Parquet export vs DuckDB's bare scan-and-group`;
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "generate the export (DuckDB COPY, zstd)", value: round((performance.now() - started) / 1000, 1), unit: "s", note: `${round(statSync(file).size / 2 ** 20, 1)} MiB` });
    // As `kubectl get tp,tpool -o json` writes them (what the command lists from a cluster).
    const tenantsFile = join(dir, "tenants.json");
    writeFileSync(tenantsFile, JSON.stringify({ apiVersion: "v1", kind: "List", items: big.manifests }));

    // Alternate the two, three times each, and keep each one's best: other load on the machine only
    // ever makes a run slower.
    // The CLI as the container image runs it (compiled by tsc, plain node) and as a clone runs it
    // (bin/landlord.mjs: the sources through tsx, which compiles them at start).
    const entry = buildCompiled();
    const costArgs = ["costs", "-f", tenantsFile, "--bill", file, "--period", PERIOD, "-o", "csv"];
    const bare: Measured[] = [];
    const cli: Measured[] = [];
    const tsx: Measured[] = [];
    for (let i = 0; i < 3; i++) {
      options.log(`bench: costs: run ${i + 1}/3`);
      bare.push(await measure([join(projectRoot, "test/bench/costsBare.mjs"), file]));
      cli.push(await measure([entry, ...costArgs]));
      tsx.push(await measure([join(projectRoot, "bin/landlord.mjs"), ...costArgs]));
    }
    // In this process too, without node's and tsx's start-up and the reading of the tenants: the
    // bill query and the allocation (costReport) against the bare query, alternating, best of 3.
    const inProcess = { bare: [] as number[], report: [] as number[] };
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const placements = big.manifests.filter((m) => (m as { kind: string }).kind === "TenantPlacement") as CostPlacement[];
    const poolObjects = big.manifests.filter((m) => (m as { kind: string }).kind === "TenantPool") as CostPoolObject[];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      await connection.runAndReadAll(BARE_QUERY(file));
      inProcess.bare.push(performance.now() - t);
      t = performance.now();
      await costReport({ bills: [file], basis: "unblended", period: PERIOD, shared: "none", revenueSignal: "monthlyRevenueUSD", poolCosts: {}, accounts: [] }, placements, poolObjects);
      inProcess.report.push(performance.now() - t);
    }
    connection.closeSync();
    instance.closeSync();
    const bestOf = (xs: number[]): number => Math.min(...xs);
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "in one process: bill query + allocation (costReport) / bare query", value: round(bestOf(inProcess.report) / bestOf(inProcess.bare), 2), unit: "", note: `${round(bestOf(inProcess.report) / 1000, 2)} s vs ${round(bestOf(inProcess.bare) / 1000, 2)} s; runs ${inProcess.report.map((ms) => round(ms / 1000, 2)).join(", ")} vs ${inProcess.bare.map((ms) => round(ms / 1000, 2)).join(", ")} s` });

    const best = (list: Measured[], key: "ms" | "peakMiB"): number => Math.min(...list.map((m) => m[key]));
    const lines = (cli[0]?.stdout.split("\n").length ?? 2) - 2;
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "DuckDB bare scan-and-group (own process): wall time", value: round(best(bare, "ms") / 1000, 2), unit: "s", note: `runs ${bare.map((m) => round(m.ms / 1000, 2)).join(", ")} s` });
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "DuckDB bare scan-and-group: peak RSS", value: round(best(bare, "peakMiB"), 1), unit: "MiB" });
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "landlord costs (compiled, -f tenants.json, --bill): wall time", value: round(best(cli, "ms") / 1000, 2), unit: "s", note: `runs ${cli.map((m) => round(m.ms / 1000, 2)).join(", ")} s; ${lines} lines printed` });
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "landlord costs through tsx (bin/landlord.mjs): wall time / peak RSS", value: round(best(tsx, "ms") / 1000, 2), unit: `s / ${round(best(tsx, "peakMiB"), 1)} MiB`, note: `runs ${tsx.map((m) => round(m.ms / 1000, 2)).join(", ")} s; ratio to bare ${round(best(tsx, "ms") / best(bare, "ms"), 2)}` });
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "landlord costs: peak RSS", value: round(best(cli, "peakMiB"), 1), unit: "MiB", target: { op: "<=", value: 500 } });
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "ratio landlord costs / bare, wall time", value: round(best(cli, "ms") / best(bare, "ms"), 2), unit: "", target: { op: "<=", value: 1.5 } });
    report.record({ scenario: scale, n: big.rowsInPeriod, figure: "ratio landlord costs / bare, peak RSS", value: round(best(cli, "peakMiB") / best(bare, "peakMiB"), 2), unit: "" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
