import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, eventually, k, kJson, listOf } from "./cluster.ts";
import { auditedWrites } from "../apiserverWrites.ts";
import { auditLogPath } from "../../operator/src/local/controlPlane.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * What one controller tells another goes through the API server, never through process memory: a
 * pool's unseatable tenants are in its status (and survive a restart), and a PlacementPolicy's
 * status says who follows it and what is wrong with it.
 */

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Tenant {
  status?: { tier?: string; phase?: string; conditions?: Condition[] };
}
interface Pool {
  status?: { tenants?: number; unseatable?: { tenantId: string; reason: string }[]; unseatableTotal?: number; conditions?: Condition[] };
}
interface Policy {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; tenants?: number; conditions?: Condition[] };
}

const run = `c${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const BIG = `${run}-big`;
const SMALL = `${run}-small`;
const POLICY = `${run}-pol`;
const PROM_POLICY = `${run}-prom`;
const OPERATOR_USER = "system:serviceaccount:landlord-system:landlord";

const apply = (objects: Record<string, unknown>[]): Promise<string> => k(["apply", "--server-side", "--field-manager=it", "-f", "-"], listOf(objects));
const condition = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((c) => c.type === type);

function pool(cpu: string): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPool",
    metadata: { name: POOL },
    spec: { namespacePrefix: POOL, capacity: { maxTenants: 10, cpu, memory: "20Gi" }, tenantDefaults: { cpu: "250m", memory: "512Mi", storage: "5Gi", pods: 5 } },
  };
}

function policy(name: string, signal: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementPolicy",
    metadata: { name },
    spec: {
      signals: [{ name: "revenue", source: signal }],
      tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "revenue", gte: 20000 }] } }],
      evaluationInterval: "1s",
    },
  };
}

function tenant(name: string, policyRef: string, quota?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    metadata: { name },
    spec: { tenantId: name, costCenter: "cc-status", pool: POOL, policyRef, reportedSignals: { revenue: 100 }, ...(quota ? { quota } : {}) },
  };
}

const getPool = (): Promise<Pool> => kJson<Pool>(["get", "tpool", POOL]);
const getTenant = (name: string): Promise<Tenant> => kJson<Tenant>(["get", "tp", name]);
const getPolicy = (name: string): Promise<Policy> => kJson<Policy>(["get", "ppol", name]);

describe("status that controllers publish for each other and for people", () => {
  let operator: OperatorProcess;

  beforeAll(async () => {
    // A shard holds 2 cores: BIG asks for 4 and fits no shard; SMALL fits.
    await apply([pool("2"), policy(POLICY, { reported: {} }), tenant(BIG, POLICY, { cpu: "4" }), tenant(SMALL, POLICY)]);
    operator = await startOperatorProcess();
    await operator.waitReady();
  });

  afterAll(async () => {
    await k(["delete", "tp", BIG, SMALL, "--ignore-not-found", "--wait=true", "--timeout=90s"]).catch(() => "");
    await operator?.stop();
    await k(["delete", "tpool", POOL, "--ignore-not-found"]).catch(() => "");
    await k(["delete", "ppol", POLICY, PROM_POLICY, "--ignore-not-found"]).catch(() => "");
  });

  it("lists a tenant no shard can seat in the pool's status, with the reason the tenant's Degraded condition gives", async () => {
    const status = await eventually(async () => {
      const p = await getPool();
      return p.status?.unseatable?.length && p.status.tenants === 1 ? p.status : undefined;
    }, { what: `${POOL} to list an unseatable tenant and seat the other` });
    expect(status.unseatable).toEqual([{ tenantId: BIG, reason: expect.stringMatching(/cpu/) }]);
    expect(status.unseatableTotal).toBe(1);
    expect(condition(status.conditions, "Ready")).toMatchObject({ status: "False", reason: "Unplaceable" });

    const big = await eventually(async () => {
      const t = await getTenant(BIG);
      return condition(t.status?.conditions, "Degraded")?.reason === "Unplaceable" ? t : undefined;
    }, { what: `${BIG} to say it is Unplaceable` });
    expect(condition(big.status?.conditions, "Degraded")).toMatchObject({ status: "True", message: status.unseatable?.[0]?.reason });
    expect(big.status?.tier).toBeUndefined();
  });

  it("writes a PlacementPolicy's status: the tenants following it, Ready, not Degraded", async () => {
    const status = await eventually(async () => {
      const p = await getPolicy(POLICY);
      return p.status?.tenants === 2 ? p : undefined;
    }, { what: `${POLICY} to count its 2 tenants` });
    expect(status.status?.observedGeneration).toBe(status.metadata.generation);
    expect(condition(status.status?.conditions, "Ready")).toMatchObject({ status: "True", reason: "Valid" });
    expect(condition(status.status?.conditions, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
    // A short name and printer columns show it too.
    expect(await k(["get", "ppol", POLICY, "-o", "custom-columns=T:.status.tenants", "--no-headers"])).toMatch(/^2\s*$/);
  });

  it("still says why after a restart: a new operator reads the reason from the pool's status and writes nothing for it", async () => {
    await operator.stop();
    const restartedAt = new Date();
    operator = await startOperatorProcess();
    await operator.waitReady();
    // Long enough for every key to be reconciled (the tenant polls every 5 s while it waits for a seat).
    await new Promise((r) => setTimeout(r, 12_000));
    const big = await getTenant(BIG);
    expect(condition(big.status?.conditions, "Degraded")).toMatchObject({ status: "True", reason: "Unplaceable" });
    // With the reason in process memory, the new operator first wrote the condition away (its map
    // was empty) and then back once the pool had reconciled: two writes of this status.
    const ours = auditedWrites(auditLogPath(cluster().dir), restartedAt).filter((w) => w.includes(`by ${OPERATOR_USER} `) && w.includes(run));
    expect(ours).toEqual([]);
  }, 90_000);

  it("drops the entry once the pool has room for the tenant, which is then seated", async () => {
    await apply([pool("8")]);
    const status = await eventually(async () => {
      const p = await getPool();
      return p.status?.tenants === 2 ? p.status : undefined;
    }, { what: `${POOL} to seat both tenants` });
    expect(status.unseatable).toBeUndefined();
    expect(status.unseatableTotal).toBeUndefined();
    expect(condition(status.conditions, "Ready")).toMatchObject({ status: "True", reason: "Seated" });
    const big = await eventually(async () => {
      const t = await getTenant(BIG);
      return t.status?.tier === "pooled" && t.status.phase === "Active" ? t : undefined;
    }, { what: `${BIG} to be seated` });
    expect(condition(big.status?.conditions, "Degraded")).toMatchObject({ status: "False" });
  });

  it("says a policy is Degraded when its tenants cannot read a signal, and counts a tenant that moves to another policy", async () => {
    // This operator runs without --prometheus-url: a Prometheus signal cannot be read.
    await apply([policy(PROM_POLICY, { prometheus: { query: 'sum(revenue{tenant="{{tenantId}}"})' } })]);
    await k(["patch", "tp", SMALL, "--type=merge", "-p", JSON.stringify({ spec: { policyRef: PROM_POLICY } })]);
    const broken = await eventually(async () => {
      const p = await getPolicy(PROM_POLICY);
      // Before its first evaluation the signal is "not queried yet"; then Prometheus is missing.
      return condition(p.status?.conditions, "Degraded")?.message.includes("--prometheus-url") ? p : undefined;
    }, { what: `${PROM_POLICY} to be Degraded for want of Prometheus`, timeoutMs: 45_000 });
    const degraded = condition(broken.status?.conditions, "Degraded");
    expect(degraded?.reason).toBe("SignalsUnavailable");
    expect(degraded?.message).toContain(`1 of 1 tenant(s) have signals the policy cannot read, e.g. ${SMALL}: revenue:`);
    expect(degraded?.message).toContain("--prometheus-url");
    expect(broken.status?.tenants).toBe(1);
    expect(condition(broken.status?.conditions, "Ready")).toMatchObject({ status: "True" });
    // The policy SMALL left no longer counts it.
    await eventually(async () => ((await getPolicy(POLICY)).status?.tenants === 1 ? true : undefined), { what: `${POLICY} to count 1 tenant` });
    const events = await k(["get", "events", "-n", "default", "--field-selector", `involvedObject.name=${PROM_POLICY}`, "-o", "jsonpath={.items[*].reason}"]);
    expect(events).toContain("SignalsUnavailable");
  }, 90_000);
});
