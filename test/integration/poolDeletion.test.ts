import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, k, kJson, listOf } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * Deleting a TenantPool (operator/src/controller/poolDeletion.ts): it waits while tenants are
 * served from it, seats nobody new, and takes its shard namespaces with it once they have gone.
 */
const run = `pd${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const PREFIX = `${run}-shard`;

interface Condition { type: string; status: string; reason: string; message: string }
interface Pool { metadata: { finalizers?: string[]; deletionTimestamp?: string }; status?: { conditions?: Condition[] } }
interface Tenant { status?: { tier?: string; pool?: string; namespace?: string; conditions?: Condition[] } }

const tenant = (name: string): Record<string, unknown> => ({
  apiVersion: "landlord.dev/v1alpha1",
  kind: "TenantPlacement",
  metadata: { name },
  spec: { tenantId: name, costCenter: "cc-pd", pool: POOL },
});
const apply = (objects: Record<string, unknown>[]): Promise<string> => k(["apply", "--server-side", "--field-manager=it", "-f", "-"], listOf(objects));
const shardNamespaces = async (): Promise<{ name: string; deleting: boolean }[]> =>
  (await kJson<{ items: { metadata: { name: string; deletionTimestamp?: string } }[] }>(["get", "namespaces", "-l", `landlord.dev/pool=${POOL}`])).items.map((ns) => ({
    name: ns.metadata.name,
    deleting: Boolean(ns.metadata.deletionTimestamp),
  }));
const ready = (conditions: Condition[] | undefined): Condition | undefined => conditions?.find((c) => c.type === "Ready");

describe("deleting a TenantPool", () => {
  let operator: OperatorProcess;
  const [a, b, late] = ["a", "b", "late"].map((n) => `${run}-${n}`) as [string, string, string];

  beforeAll(async () => {
    await apply([{ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: PREFIX, capacity: { maxTenants: 1, cpu: "4", memory: "8Gi" } } }]);
    operator = await startOperatorProcess();
    await operator.waitReady();
  });

  afterAll(async () => {
    await k(["delete", "tp", a, b, late, "--ignore-not-found", "--wait=false"]).catch(() => "");
    await operator?.stop();
  });

  it("waits for the tenants served from it, seats nobody new, then takes its shard namespaces with it", async () => {
    await apply([tenant(a), tenant(b)]);
    for (const name of [a, b]) {
      await eventually(async () => ((await kJson<Tenant>(["get", "tp", name])).status?.tier === "pooled" ? true : undefined), { what: `${name} pooled` });
    }
    // One tenant per shard: two shard namespaces, each the pool's.
    expect((await shardNamespaces()).map((ns) => ns.name).sort()).toEqual([`${PREFIX}-1`, `${PREFIX}-2`]);
    expect((await kJson<Pool>(["get", "tpool", POOL])).metadata.finalizers).toContain("landlord.dev/finalizer");

    await k(["delete", "tpool", POOL, "--wait=false"]);
    const waiting = await eventually(async () => {
      const condition = ready((await kJson<Pool>(["get", "tpool", POOL])).status?.conditions);
      return condition?.reason === "Deleting" ? condition : undefined;
    }, { what: "the pool to say it waits for its tenants" });
    expect(waiting.status).toBe("False");
    expect(waiting.message).toContain(`waiting for 2 tenant(s) still served here to leave (${a}, ${b})`);
    // Its tenants keep their homes while it waits.
    expect((await shardNamespaces()).filter((ns) => ns.deleting)).toEqual([]);
    expect((await kJson<Tenant>(["get", "tp", a])).status?.pool).toBe(POOL);

    // A tenant arriving now is refused a seat, with a reason, and opens no shard.
    await apply([tenant(late)]);
    const refused = await eventually(async () => {
      const degraded = (await kJson<Tenant>(["get", "tp", late])).status?.conditions?.find((c) => c.type === "Degraded");
      return degraded?.reason === "Unplaceable" ? degraded : undefined;
    }, { what: `${late} to be refused a seat` });
    expect(refused.message).toBe(`TenantPool ${POOL} is being deleted and seats no new tenant; set spec.pool to another pool`);
    expect((await kJson<Tenant>(["get", "tp", late])).status?.tier).toBeUndefined();
    expect((await shardNamespaces()).map((ns) => ns.name).sort()).toEqual([`${PREFIX}-1`, `${PREFIX}-2`]);

    // One tenant leaves: the pool still waits, for the other one only.
    await k(["delete", "tp", a, "--wait=true", "--timeout=60s"]);
    await eventually(async () => (ready((await kJson<Pool>(["get", "tpool", POOL])).status?.conditions)?.message.includes(`waiting for 1 tenant(s) still served here to leave (${b})`) ? true : undefined), {
      what: "the pool to wait for the last tenant",
    });
    expect((await shardNamespaces()).filter((ns) => ns.deleting)).toEqual([]);

    // The last one leaves: the pool goes, and its shard namespaces with it.
    await k(["delete", "tp", b, "--wait=true", "--timeout=60s"]);
    await k(["wait", "--for=delete", `tpool/${POOL}`, "--timeout=60s"]);
    await eventually(async () => ((await shardNamespaces()).length === 0 ? true : undefined), { what: "the pool's shard namespaces to be gone", timeoutMs: 60_000 });
    // The refused tenant now says its pool is gone.
    await eventually(async () => ((await kJson<Tenant>(["get", "tp", late])).status?.conditions?.some((c) => c.reason === "PoolNotFound") ? true : undefined), {
      what: `${late} to report PoolNotFound`,
    });
  });
});
