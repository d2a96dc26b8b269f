import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePulumi } from "../../operator/src/local/pulumiCli.ts";
import { eventually, k, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * The operator with the real `pulumi` provisioner end to end: the CLI built from its Go module, a
 * file:// state backend, the database program. The AWS provider plugin cannot be downloaded on
 * this machine, so the `up` fails for real — which is the path this test proves: the failure
 * reaches the tenant's status with the engine's message, the tenant stays served where it was,
 * and the retry is scheduled with backoff.
 */

interface Tenant {
  status?: {
    tier?: string;
    phase?: string;
    stacks?: Array<{ kind: string; name: string; state: string; failures?: number; lastError?: string; retryAt?: string; planned?: boolean }>;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const run = `pp${Date.now().toString(36)}`;
const name = `${run}-t`;

describe("the pulumi provisioner in the operator", () => {
  let operator: OperatorProcess;
  let state: string;

  beforeAll(async () => {
    await ensurePulumi({ log: (line) => process.stderr.write(`${line}\n`) });
    state = mkdtempSync(join(tmpdir(), "landlord-pulumi-state-"));
    await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: `${run}-pool` }, spec: { namespacePrefix: `${run}-pool`, capacity: { maxTenants: 10, cpu: "10", memory: "10Gi" } } },
        {
          apiVersion: "landlord.dev/v1alpha1",
          kind: "PlacementPolicy",
          metadata: { name: `${run}-policy` },
          spec: {
            signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
            tiers: [{ tier: "database", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] }, database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 } }],
            stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
          },
        },
        {
          apiVersion: "landlord.dev/v1alpha1",
          kind: "TenantPlacement",
          metadata: { name },
          spec: { tenantId: name, costCenter: "cc-1", pool: `${run}-pool`, policyRef: `${run}-policy`, reportedSignals: { monthlyRevenueUSD: 1000 } },
        },
      ],
    }));
    operator = await startOperatorProcess(
      ["--provisioner", "pulumi", "--pulumi-backend-url", `file://${state}`, "--pulumi-work-dir", join(state, "work"), "--aws-region", "eu-west-1"],
      { PULUMI_CONFIG_PASSPHRASE: "test-passphrase", PULUMI_HOME: join(state, "home") },
    );
    await operator.waitReady();
  }, 45 * 60_000);

  afterAll(async () => {
    await operator?.stop();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it("runs a real pulumi up for a promotion and, when it fails, keeps the tenant served and retries with backoff", async () => {
    await eventually(async () => ((await kJson<Tenant>(["get", "tp", name])).status?.tier === "pooled" ? true : undefined), { what: "pooled" });
    await k(["patch", "tp", name, "--type=merge", "-p", JSON.stringify({ spec: { reportedSignals: { monthlyRevenueUSD: 60000 } } })]);
    const failed = await eventually(async () => {
      const t = await kJson<Tenant>(["get", "tp", name]);
      return t.status?.stacks?.[0]?.state === "Failed" ? t : undefined;
    }, { what: "the pulumi up to fail (no AWS plugin here)", timeoutMs: 180_000 });
    const stack = failed.status?.stacks?.[0];
    expect(stack).toMatchObject({ kind: "database", name: `landlord-${name}-database`, failures: 1 });
    expect(stack?.planned).toBeUndefined();
    expect(stack?.lastError).toMatch(/pulumi up of landlord-.*-database failed/);
    // Here: "Could not automatically download and install resource plugin 'pulumi-resource-aws'…";
    // with internet access it would be the AWS SDK finding no credentials. Either way, the engine's words.
    expect(stack?.lastError).toMatch(/failed: .*(plugin|credential)/i);
    expect(Date.parse(stack?.retryAt ?? "") - Date.now()).toBeGreaterThan(10_000);
    expect(failed.status?.tier).toBe("pooled");
    expect(failed.status?.phase).toBe("Failed");
    expect(failed.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(failed.status?.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "ProvisionFailed" });
    // The passphrase never leaks into what the operator writes or logs.
    expect(JSON.stringify(failed)).not.toContain("test-passphrase");
    expect(operator.logs()).not.toContain("test-passphrase");
  }, 240_000);
});
