import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curCsv } from "../fixtures/costs/cur.ts";
import { cluster, k, listOf } from "./cluster.ts";

/**
 * landlord costs reading TenantPlacements and a TenantPool (with the status the operator would
 * have written) from a real API server, and a CUR 2.0 export from disk, run as a user runs it. No
 * operator runs in this file: the status is written through the status subresource. Other test
 * files' tenants may share the cluster, so every figure checked here is one of this file's
 * tenants, its own pool and its own AWS account, and the TOTAL is checked against the inputs
 * (which it must equal whoever else is in the cluster).
 */

const run = `k${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const SMALL = `${run}-small`;
const BIG = `${run}-big`;
const DEDICATED = `${run}-ded`;
const ACCOUNT_TENANT = `${run}-acct`;
const ACCOUNT_ID = String(100_000_000_000 + (Date.now() % 899_999_999_999)).padStart(12, "0");
const BIN = resolve(import.meta.dirname, "../../bin/landlord.mjs");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function landlord(args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const tenant = (name: string, pool?: string) => ({
  apiVersion: "landlord.dev/v1alpha1",
  kind: "TenantPlacement",
  metadata: { name },
  spec: { tenantId: name, costCenter: "cc-costs", ...(pool ? { pool } : {}) },
});

async function setStatus(kind: string, name: string, status: Record<string, unknown>): Promise<void> {
  await k(["patch", kind, name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}

interface LineJson {
  kind: string;
  tenant: string;
  tier: string;
  pool: string;
  basis: string;
  cents: number;
  categories: Record<string, number>;
  rows: number;
  revenueCents?: number;
  marginCents?: number;
  marginPercent?: number;
}

describe("landlord costs against the cluster", () => {
  const dir = mkdtempSync(join(tmpdir(), "landlord-costs-"));
  const bill = join(dir, "cur2.csv");

  beforeAll(async () => {
    await k(
      ["create", "-f", "-"],
      listOf([
          tenant(SMALL, POOL),
          tenant(BIG, POOL),
          tenant(DEDICATED),
          tenant(ACCOUNT_TENANT),
          { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: POOL, capacity: { maxTenants: 50, cpu: "50", memory: "100Gi" }, costAllocation: { compute: "cpuSeconds" } } },
        ]),
    );
    await setStatus("tp", SMALL, { phase: "Active", tier: "pooled", pool: POOL, namespace: `${POOL}-1`, signals: { requestsPerDay: 1000, cpuSeconds: 300, monthlyRevenueUSD: 20 } });
    await setStatus("tp", BIG, { phase: "Active", tier: "pooled", pool: POOL, namespace: `${POOL}-1`, signals: { requestsPerDay: 2000, cpuSeconds: 100, monthlyRevenueUSD: 5 } });
    await setStatus("tp", DEDICATED, { phase: "Active", tier: "namespace", namespace: `tenant-${DEDICATED}`, signals: { monthlyRevenueUSD: 500 } });
    await setStatus("tp", ACCOUNT_TENANT, {
      phase: "Active",
      tier: "account",
      namespace: `tenant-${ACCOUNT_TENANT}`,
      resources: [{ kind: "aws:organizations/account:Account", id: ACCOUNT_ID, arn: `arn:aws:organizations::111111111111:account/o-test/${ACCOUNT_ID}` }],
    });
    const tag = (key: string, value: string): Record<string, string> => ({ [key]: value });
    writeFileSync(
      bill,
      curCsv([
        { product: "AmazonRDS", usageType: "USE1-InstanceUsage:db.r7g.large", cost: "100.10", tags: tag("user_landlord_dev_tenant", DEDICATED) },
        { product: "AmazonS3", usageType: "USE1-TimedStorage-ByteHrs", cost: "0.005", tags: tag("user_landlord_dev_tenant", DEDICATED) },
        { account: ACCOUNT_ID, product: "AWSCloudTrail", usageType: "USE1-PaidEventsRecorded", cost: "10.00" },
        { product: "AmazonVPC", usageType: "USE1-NatGateway-Hours", cost: "5.55" },
        { product: "AmazonS3", usageType: "USE1-TimedStorage-ByteHrs", cost: "1.00", tags: tag("user_landlord_dev_tenant", `${run}-ghost`) },
        { product: "AmazonEC2", usageType: "USE1-BoxUsage:m7g.xlarge", cost: "10.00", tags: tag("user_landlord_dev_pool", POOL) },
        { product: "AmazonS3", usageType: "USE1-TimedStorage-ByteHrs", cost: "3.00", tags: tag("user_landlord_dev_pool", POOL) },
        { type: "Tax", product: "AmazonEC2", usageType: "", cost: "0.70" },
      ]),
    );
  });

  afterAll(async () => {
    await k(["delete", "tp", SMALL, BIG, DEDICATED, ACCOUNT_TENANT, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
    await k(["delete", "tpool", POOL, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("charges each tenant from its status and the pool's drivers; the total equals the bill", async () => {
    const result = await landlord(["costs", "--bill", bill, "--kubeconfig", cluster().kubeconfig, "-o", "json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { lines: LineJson[]; totalCents: number; period: string; currency: string; inputs: { kind: string; rows: number }[] };
    const mine = report.lines.filter((l) => l.tenant.startsWith(`${run}-`));
    // Pool: compute 10.00 by cpuSeconds 300:100 → small 7.50, big 2.50; storage 3.00 has no driver
    // of its own → requestsPerDay 1000:2000 → small 1.00, big 2.00.
    // Dedicated: tagged 100.10 + 0.005 = 100.105; the TOTAL's half cent goes to it (the only line
    // with a remainder): 100.11. Account: the untagged CloudTrail row of its own account = 10.00.
    expect(mine.map((l) => [l.tenant, l.kind, l.tier, l.cents])).toEqual([
      [ACCOUNT_TENANT, "tenant", "account", 1000],
      [BIG, "tenant", "pooled", 450],
      [DEDICATED, "tenant", "namespace", 10011],
      [SMALL, "tenant", "pooled", 850],
      [`${run}-ghost`, "unknown-tenant", "", 100],
    ]);
    expect(mine.find((l) => l.tenant === SMALL)?.basis).toBe(`pool ${POOL}: compute by cpuSeconds 75.00%; storage by requestsPerDay 33.33%`);
    expect(mine.find((l) => l.tenant === SMALL)?.categories).toEqual({ compute: 750, storage: 100, database: 0, network: 0, other: 0 });
    expect(mine.find((l) => l.tenant === DEDICATED)).toMatchObject({ revenueCents: 50000, marginCents: 39989, marginPercent: 79.98, rows: 2 });
    expect(mine.find((l) => l.tenant === ACCOUNT_TENANT)?.basis).toBe(`linked account ${ACCOUNT_ID}`);
    // The platform's untagged NAT gateway and the tax are reported, not dropped.
    expect(report.lines).toContainEqual(expect.objectContaining({ kind: "shared", basis: "untagged Usage", cents: 555 }));
    expect(report.lines).toContainEqual(expect.objectContaining({ kind: "shared", basis: "untagged Tax", cents: 70 }));
    // 100.10 + 0.005 + 10 + 5.55 + 1 + 10 + 3 + 0.70 = 130.355 → 130.36, whoever else is in the cluster.
    expect(report).toMatchObject({ totalCents: 13036, period: "2026-11", currency: "USD", inputs: [{ kind: "cur2", rows: 8 }] });
  });

  it("gives the same figures offline from a saved kubectl get -o yaml", async () => {
    const saved = join(dir, "tenants.yaml");
    writeFileSync(saved, await k(["get", "tp", SMALL, BIG, DEDICATED, ACCOUNT_TENANT, "-o", "yaml"]));
    const pools = join(dir, "pools.yaml");
    writeFileSync(pools, await k(["get", "tpool", POOL, "-o", "yaml"]));
    const offline = await landlord(["costs", "--bill", bill, "-f", saved, "-f", pools, "-o", "csv"]);
    expect(offline.stderr).toBe("");
    expect(offline.code).toBe(0);
    expect(offline.stdout).toBe(
      [
        "TENANT,TIER,POOL,COST,REVENUE,MARGIN,MARGIN%,COST_SHARE,REVENUE_SHARE,BASIS",
        `${ACCOUNT_TENANT},account,,10.00,,,,8.12%,,linked account ${ACCOUNT_ID}`,
        `${BIG},pooled,${POOL},4.50,5.00,0.50,10.00%,3.66%,0.95%,pool ${POOL}: compute by cpuSeconds 25.00%; storage by requestsPerDay 66.67%`,
        `${DEDICATED},namespace,,100.11,500.00,399.89,79.98%,81.32%,95.24%,tag`,
        `${SMALL},pooled,${POOL},8.50,20.00,11.50,57.50%,6.90%,3.81%,pool ${POOL}: compute by cpuSeconds 75.00%; storage by requestsPerDay 33.33%`,
        `${run}-ghost,,,1.00,,,,,,tag landlord.dev/tenant names no known tenant`,
        "(shared),,,0.70,,,,,,untagged Tax",
        "(shared),,,5.55,,,,,,untagged Usage",
        "TOTAL,,,130.36,525.00,394.64,,,,sum of all inputs",
        "",
      ].join("\n"),
    );
  });

  it("fails in one line: a tenant the cluster does not have (1), nothing to allocate (2), a bill that is not there (2)", async () => {
    const unknown = await landlord(["costs", "--bill", bill, "--account", `${run}-nobody=123456789012`, "--kubeconfig", cluster().kubeconfig]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toBe(`landlord costs: --account: no tenant "${run}-nobody" in the cluster at ${cluster().server}\n`);
    const nothing = await landlord(["costs", "--kubeconfig", cluster().kubeconfig]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toBe("landlord costs: nothing to allocate: give --bill EXPORT (CUR 2.0 or FOCUS), --opencost URL and/or --pool-cost POOL=AMOUNT\n");
    const missing = await landlord(["costs", "--bill", join(dir, "nope.parquet"), "--kubeconfig", cluster().kubeconfig]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`landlord costs: ${join(dir, "nope.parquet")}: no such file or directory\n`);
  });
});
