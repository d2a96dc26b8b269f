import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, k } from "./cluster.ts";

/**
 * landlord costs reading TenantPlacements (with the status the operator would have written) from a
 * real API server, run as a user runs it. No operator runs in this file: the status is written
 * through the status subresource. Other test files' tenants may share the cluster, so every
 * figure checked here is one of this file's tenants, its own pool and its own AWS account, and
 * the TOTAL is checked against the inputs (which it must equal whoever else is in the cluster).
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

async function setStatus(name: string, status: Record<string, unknown>): Promise<void> {
  await k(["patch", "tp", name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}

interface CostJson {
  tenant: string;
  tier: string | null;
  pool: string | null;
  basis: string;
  costUSD: string;
}

describe("landlord costs against the cluster", () => {
  const dir = mkdtempSync(join(tmpdir(), "landlord-costs-"));
  const awsCsv = join(dir, "costs.csv");

  beforeAll(async () => {
    await k(["create", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [tenant(SMALL, POOL), tenant(BIG, POOL), tenant(DEDICATED), tenant(ACCOUNT_TENANT)] }));
    await setStatus(SMALL, { phase: "Active", tier: "pooled", pool: POOL, namespace: `${POOL}-1`, signals: { requestsPerDay: 1000 } });
    await setStatus(BIG, { phase: "Active", tier: "pooled", pool: POOL, namespace: `${POOL}-1`, signals: { requestsPerDay: 2000 } });
    await setStatus(DEDICATED, { phase: "Active", tier: "namespace", namespace: `tenant-${DEDICATED}` });
    await setStatus(ACCOUNT_TENANT, {
      phase: "Active",
      tier: "account",
      namespace: `tenant-${ACCOUNT_TENANT}`,
      resources: [{ kind: "aws:organizations/account:Account", id: ACCOUNT_ID, arn: `arn:aws:organizations::111111111111:account/o-test/${ACCOUNT_ID}` }],
    });
    writeFileSync(
      awsCsv,
      [
        "linked_account,tag_landlord_dev_tenant,service,unblended_cost_usd",
        `111111111111,${DEDICATED},Amazon Relational Database Service,100.10`,
        `111111111111,${DEDICATED},Amazon Simple Storage Service,0.005`,
        `${ACCOUNT_ID},,AWS CloudTrail,10.00`,
        "111111111111,,Amazon Virtual Private Cloud,5.55",
        `111111111111,${run}-ghost,Amazon Simple Storage Service,1.00`,
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await k(["delete", "tp", SMALL, BIG, DEDICATED, ACCOUNT_TENANT, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const costArgs = ["costs", "--pool-cost", `${POOL}=10`, "--aws-costs", awsCsv];

  it("charges each tenant from its status: pool share, tag, linked account; the total equals the inputs", async () => {
    const result = await landlord([...costArgs, "--kubeconfig", cluster().kubeconfig, "-o", "json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as CostJson[];
    const mine = rows.filter((r) => r.tenant.startsWith(`${run}-`));
    // Pool: $10.00 = 1000 cents by requestsPerDay 1000:2000 → 333.33 and 666.67 → floors 333 + 666,
    // the leftover cent to the larger remainder (.67): small 3.33, big 6.67.
    // Dedicated: tagged 100.10 + 0.005 (rounded per row to 0.01) = 100.11.
    // Account: the untagged CloudTrail row of its own account ACCOUNT_ID, from status.resources = 10.00.
    expect(mine.map((r) => [r.tenant, r.tier, r.costUSD])).toEqual([
      [ACCOUNT_TENANT, "account", "10.00"],
      [BIG, "pooled", "6.67"],
      [DEDICATED, "namespace", "100.11"],
      [SMALL, "pooled", "3.33"],
    ]);
    expect(mine.find((r) => r.tenant === SMALL)?.basis).toBe(`requestsPerDay share 33.33% of pool ${POOL}`);
    expect(mine.find((r) => r.tenant === ACCOUNT_TENANT)?.basis).toBe(`linked account ${ACCOUNT_ID}`);
    // The platform's untagged VPC row and the tag naming no tenant are reported, not dropped.
    expect(rows).toContainEqual(expect.objectContaining({ tenant: "(unallocated)", basis: "untagged/shared AWS cost (1 rows)", costUSD: "5.55" }));
    expect(rows).toContainEqual(expect.objectContaining({ tenant: "(unallocated)", basis: `tag landlord.dev/tenant=${run}-ghost names no known tenant`, costUSD: "1.00" }));
    // 10.00 + 100.10 + 0.01 + 10.00 + 5.55 + 1.00 = 126.66, whatever other tenants the cluster holds.
    expect(rows.at(-1)).toEqual({ tenant: "TOTAL", tier: null, pool: null, basis: "sum of all inputs", costUSD: "126.66" });
  });

  it("gives the same figures offline from a saved kubectl get tp -o yaml", async () => {
    const saved = join(dir, "tenants.yaml");
    writeFileSync(saved, await k(["get", "tp", SMALL, BIG, DEDICATED, ACCOUNT_TENANT, "-o", "yaml"]));
    const offline = await landlord([...costArgs, "-f", saved, "-o", "csv"]);
    expect(offline.stderr).toBe("");
    expect(offline.code).toBe(0);
    expect(offline.stdout).toBe(
      [
        "TENANT,TIER,POOL,BASIS,COST_USD",
        `${ACCOUNT_TENANT},account,,linked account ${ACCOUNT_ID},10.00`,
        `${BIG},pooled,${POOL},requestsPerDay share 66.67% of pool ${POOL},6.67`,
        `${DEDICATED},namespace,,AWS tag,100.11`,
        `${SMALL},pooled,${POOL},requestsPerDay share 33.33% of pool ${POOL},3.33`,
        "(unallocated),,,untagged/shared AWS cost (1 rows),5.55",
        `(unallocated),,,tag landlord.dev/tenant=${run}-ghost names no known tenant,1.00`,
        "TOTAL,,,sum of all inputs,126.66",
        "",
      ].join("\n"),
    );
  });

  it("fails in one line: a tenant the cluster does not have (1), nothing to allocate (2)", async () => {
    const unknown = await landlord([...costArgs, "--account", `${run}-nobody=123456789012`, "--kubeconfig", cluster().kubeconfig]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toBe(`landlord costs: --account: no tenant "${run}-nobody" in the cluster at ${cluster().server}\n`);
    const nothing = await landlord(["costs", "--kubeconfig", cluster().kubeconfig]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toBe("landlord costs: nothing to allocate: give --pool-cost POOL=USD and/or --aws-costs costs.csv\n");
  });
});
