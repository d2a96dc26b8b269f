import { describe, expect, it } from "vitest";
import type { TenantPoolStatus } from "../../../operator/src/api/v1alpha1/index.ts";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import { REASONS } from "../../../operator/src/controller/reasons.ts";
import { reconcilePool } from "../../../operator/src/controller/tenantPool.ts";
import { converge, poolObject, statusOf, validTenant } from "./fixtures.ts";
import { memoryCluster, type MemoryCluster } from "./memoryCluster.ts";

const poolStatus = (cluster: MemoryCluster): TenantPoolStatus => (cluster.store.get("TenantPool", "standard")?.status ?? {}) as TenantPoolStatus;
const registry = (cluster: MemoryCluster, shard: string): string[] => Object.keys((cluster.store.get("ConfigMap", "landlord-tenants", shard)?.data ?? {}) as Record<string, string>).sort();

/** A tenant whose status asks for a seat (as the tenant reconcile writes it before the pool acts). */
function seeker(cluster: MemoryCluster, name: string, status: Record<string, unknown> = { targetTier: "pooled", phase: "Pending" }): void {
  cluster.put({ ...validTenant(name), status });
}

describe("reconcilePool", () => {
  it("seats the tenants that ask, oldest first, opening a shard when one is full, and wakes them", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject(2));
    for (const name of ["acme", "globex", "initech"]) {
      seeker(cluster, name);
      cluster.clock.now += 1_000;
    }
    expect(await reconcilePool(cluster.ctx, "standard")).toEqual({ kind: "done" });
    expect(registry(cluster, "pool-standard-1")).toEqual(["acme", "globex"]);
    expect(registry(cluster, "pool-standard-2")).toEqual(["initech"]);
    expect(cluster.store.get("Namespace", "pool-standard-2")?.metadata.labels).toMatchObject({ "landlord.dev/pool": "standard" });
    expect(poolStatus(cluster)).toMatchObject({ tenants: 3, shards: [{ namespace: "pool-standard-1", tenants: 2 }, { namespace: "pool-standard-2", tenants: 1 }] });
    expect(poolStatus(cluster).conditions?.[0]).toMatchObject({ type: "Ready", status: "True", reason: REASONS.seated });
    expect(cluster.enqueued.sort()).toEqual(["tenant/acme", "tenant/globex", "tenant/initech"]);

    // Nothing changed: nothing written.
    const before = cluster.writes.length;
    await reconcilePool(cluster.ctx, "standard");
    expect(cluster.writes.slice(before)).toEqual([]);
  });

  it("drops the seat of a tenant served elsewhere and of one being deleted, and keeps the others", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject());
    for (const name of ["acme", "globex", "initech"]) seeker(cluster, name);
    await reconcilePool(cluster.ctx, "standard");
    expect(registry(cluster, "pool-standard-1")).toEqual(["acme", "globex", "initech"]);

    // Moving out but not cut over yet: keeps the seat. Cut over: loses it. Deleted: loses it.
    seeker(cluster, "acme", { tier: "pooled", targetTier: "namespace" });
    seeker(cluster, "globex", { tier: "namespace" });
    cluster.remove("TenantPlacement", "initech");
    cluster.enqueued.length = 0;
    await reconcilePool(cluster.ctx, "standard");
    expect(registry(cluster, "pool-standard-1")).toEqual(["acme"]);
    expect(poolStatus(cluster)).toMatchObject({ tenants: 1 });
    expect(cluster.enqueued.sort()).toEqual(["tenant/globex", "tenant/initech"]);
  });

  it("gives a lost seat back where the tenant's status says it is served", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject(1));
    seeker(cluster, "acme", { tier: "pooled", pool: "standard", namespace: "pool-standard-2" });
    await reconcilePool(cluster.ctx, "standard");
    expect(registry(cluster, "pool-standard-2")).toEqual(["acme"]);
    expect(cluster.store.get("Namespace", "pool-standard-1")).toBeUndefined();
  });

  it("says Unplaceable when a tenant's quota fits no shard", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject());
    cluster.put({ ...validTenant("acme", { quota: { cpu: "128" } }), status: { targetTier: "pooled" } });
    await reconcilePool(cluster.ctx, "standard");
    expect(poolStatus(cluster).conditions?.[0]).toMatchObject({ type: "Ready", status: "False", reason: REASONS.unplaceable });
    expect(poolStatus(cluster)).toMatchObject({ tenants: 0 });
  });

  it("tells an unseatable tenant why once, and wakes it again only when the reason changes (no pool ⇄ tenant loop)", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject());
    cluster.put({ ...validTenant("acme", { quota: { cpu: "128" } }), status: { targetTier: "pooled" } });
    await reconcilePool(cluster.ctx, "standard");
    expect(cluster.enqueued).toContain("tenant/acme");
    expect(poolStatus(cluster).unseatable).toEqual([expect.objectContaining({ tenantId: "acme" })]);
    // The tenant, still without a seat, wakes the pool again: the same reason must not wake it back.
    cluster.enqueued.length = 0;
    await reconcilePool(cluster.ctx, "standard");
    expect(cluster.enqueued).not.toContain("tenant/acme");
    // A smaller quota that fits: seated, and woken to learn it.
    cluster.put({ ...validTenant("acme", { quota: { cpu: "1" } }), status: { targetTier: "pooled" } });
    await reconcilePool(cluster.ctx, "standard");
    expect(cluster.enqueued).toContain("tenant/acme");
    expect(poolStatus(cluster).unseatable).toBeUndefined();
  });

  it("never takes over a shard namespace someone else owns: OwnerConflict, retried", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject());
    cluster.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pool-standard-1", labels: { "landlord.dev/managed-by": "landlord", "landlord.dev/pool": "standard" }, annotations: { "landlord.dev/owner-uid": "uid-another-pool" } } } as KubeObject);
    seeker(cluster, "acme");
    const result = await reconcilePool(cluster.ctx, "standard");
    expect(result).toMatchObject({ kind: "error" });
    expect(result.kind === "error" && result.terminal).toBeFalsy();
    expect(poolStatus(cluster).conditions?.[0]).toMatchObject({ type: "Ready", status: "False", reason: REASONS.ownerConflict });
    expect(cluster.events).toEqual([expect.objectContaining({ type: "Warning", reason: REASONS.ownerConflict })]);
    expect(cluster.enqueued).toEqual([]);
  });

  it("acts on nothing while its spec is invalid", async () => {
    const cluster = memoryCluster();
    cluster.put({ ...poolObject(), spec: { namespacePrefix: "tenant-x", capacity: { maxTenants: 0, cpu: "1", memory: "1Gi" } } });
    seeker(cluster, "acme");
    expect(await reconcilePool(cluster.ctx, "standard")).toMatchObject({ kind: "error", terminal: true });
    expect(poolStatus(cluster).conditions?.[0]).toMatchObject({ type: "Ready", status: "False", reason: REASONS.invalidSpec });
    // The finalizer comes first whatever the spec says: a pool deleted while invalid still releases its shards.
    expect(cluster.writes).toEqual(["apply TenantPool standard", "status TenantPool standard"]);
  });

  it("with the tenant reconcile, converges a new tenant to a seat", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject());
    cluster.put(validTenant("acme"));
    await converge(cluster, ["tenant/acme"]);
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "pooled", namespace: "pool-standard-1", phase: "Active" });
    expect(registry(cluster, "pool-standard-1")).toEqual(["acme"]);
  });
});
