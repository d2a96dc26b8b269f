import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, k, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

const SHARD_PREFIX = `landlord-le-${Date.now().toString(36)}`;
const LEASE_ARGS = ["--leader-elect", "--lease-duration", "3s", "--renew-deadline", "2s", "--retry-period", "500ms"];

async function isLeader(operator: OperatorProcess): Promise<boolean> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();
    return /^landlord_leader 1$/m.test(text);
  } catch {
    return false;
  }
}

async function place(name: string): Promise<void> {
  const tenant = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name }, spec: { tenantId: name, costCenter: "cc-le", pool: "le-pool" } };
  await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(tenant));
  await eventually(async () => ((await kJson<{ status?: { tier?: string } }>(["get", "tp", name])).status?.tier === "pooled" ? true : undefined), {
    what: `${name} to be placed`,
    timeoutMs: 30_000,
  });
}

describe("leader election between two operator processes", () => {
  const operators: OperatorProcess[] = [];

  beforeAll(async () => {
    const pool = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: "le-pool" }, spec: { namespacePrefix: `${SHARD_PREFIX}-shard`, capacity: { maxTenants: 50, cpu: "16", memory: "32Gi" } } };
    await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(pool));
    operators.push(await startOperatorProcess(LEASE_ARGS), await startOperatorProcess(LEASE_ARGS));
    await Promise.all(operators.map((o) => o.waitReady()));
  });

  afterAll(async () => {
    await Promise.all(operators.map((o) => o.stop()));
  });

  it("lets exactly one reconcile, and the other take over when the leader dies", async () => {
    const leader = await eventually(async () => {
      const flags = await Promise.all(operators.map(isLeader));
      return flags.filter(Boolean).length === 1 ? operators[flags.indexOf(true)] : undefined;
    }, { what: "exactly one leader" });
    const standby = operators.find((o) => o !== leader) as OperatorProcess;
    await place(`le-${Date.now().toString(36)}-a`);
    expect(standby.logs()).not.toMatch(/Started reconciling/);

    // A crash: no chance to release the Lease; the standby waits for it to expire.
    const killedAt = Date.now();
    await leader!.kill();
    await eventually(async () => ((await isLeader(standby)) ? true : undefined), { what: "the standby to take over", timeoutMs: 20_000 });
    const takeover = Date.now() - killedAt;
    // The Lease lasts 3 s; retry period and process scheduling add a little.
    expect(takeover).toBeLessThan(10_000);
    await place(`le-${Date.now().toString(36)}-b`);
    expect(standby.logs()).toMatch(/Became the leader/);
  }, 90_000);

  it("hands over at once when the leader stops cleanly (it releases the Lease)", async () => {
    const next = await startOperatorProcess(LEASE_ARGS);
    operators.push(next);
    await next.waitReady();
    const current = operators.find((o) => o !== next && o.child.exitCode === null && o.child.signalCode === null) as OperatorProcess;
    expect(await isLeader(current)).toBe(true);
    expect(await isLeader(next)).toBe(false);
    const stoppedAt = Date.now();
    await current.stop();
    await eventually(async () => ((await isLeader(next)) ? true : undefined), { what: "the new process to lead", timeoutMs: 10_000 });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
  }, 60_000);
});
