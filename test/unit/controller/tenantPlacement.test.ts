import { describe, expect, it } from "vitest";
import { ApiError, type KubeObject } from "../../../operator/src/kube/client.ts";
import { ForeignObjectError } from "../../../operator/src/controller/context.ts";
import type { DecisionObject } from "../../../operator/src/controller/decisions.ts";
import { FINALIZER } from "../../../operator/src/api/labels.ts";
import { REASONS } from "../../../operator/src/controller/reasons.ts";
import { classify, reconcileTenant } from "../../../operator/src/controller/tenantPlacement.ts";
import { reconcilePool } from "../../../operator/src/controller/tenantPool.ts";
import { conditionOf, converge, policyObject, poolObject, statusOf, tenantObject, validTenant } from "./fixtures.ts";
import { memoryCluster, type MemoryCluster } from "./memoryCluster.ts";

function clusterWithPool(): MemoryCluster {
  const cluster = memoryCluster();
  cluster.put(poolObject());
  cluster.put(policyObject());
  return cluster;
}

const decisions = (cluster: MemoryCluster): DecisionObject[] =>
  cluster.store.list<DecisionObject>("PlacementDecision").sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

const registryOf = (cluster: MemoryCluster): Record<string, string> => (cluster.store.get("ConfigMap", "landlord-tenants", "pool-standard-1")?.data ?? {}) as Record<string, string>;

/** A tenant served from the pool, its first placement done. */
async function pooledTenant(cluster: MemoryCluster, name: string): Promise<void> {
  cluster.put(validTenant(name));
  await converge(cluster, [`tenant/${name}`]);
  expect(statusOf(cluster, name)).toMatchObject({ tier: "pooled", phase: "Active" });
}

describe("reconcileTenant", () => {
  it("seats a new tenant in its pool: decision, seat request, seat, Active", async () => {
    const cluster = clusterWithPool();
    cluster.put(validTenant("acme"));

    // decide: the first placement is recorded in a pass of its own, and the tenant comes back.
    expect(await reconcileTenant(cluster.ctx, "acme")).toEqual({ kind: "requeue" });
    expect(decisions(cluster).map((d) => [d.spec.from, d.spec.to])).toEqual([[undefined, "pooled"]]);
    expect(cluster.enqueued).toEqual([]);
    expect(cluster.store.get("TenantPlacement", "acme")?.metadata.finalizers).toEqual([FINALIZER]);

    // ensure target: no seat yet, so the pool is asked; the tenant waits, Pending.
    cluster.enqueued.length = 0;
    const waiting = await reconcileTenant(cluster.ctx, "acme");
    expect(waiting).toEqual({ kind: "requeueAfter", ms: 5_000 });
    expect(cluster.enqueued).toEqual(["pool/standard"]);
    expect(statusOf(cluster, "acme")).toMatchObject({ phase: "Pending", targetTier: "pooled" });
    expect(conditionOf(cluster, "acme", "Ready")).toMatchObject({ status: "False", reason: "Pending" });

    // The pool seats it and wakes it; the tenant then records where it is served and closes the decision.
    cluster.enqueued.length = 0;
    expect(await reconcilePool(cluster.ctx, "standard")).toEqual({ kind: "done" });
    expect(JSON.parse(registryOf(cluster).acme ?? "{}")).toMatchObject({ tenantId: "acme", costCenter: "cc-1234", tier: "pooled" });
    expect(cluster.enqueued).toContain("tenant/acme");
    expect(await reconcileTenant(cluster.ctx, "acme")).toEqual({ kind: "done" });
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "pooled", phase: "Active", pool: "standard", namespace: "pool-standard-1" });
    expect(conditionOf(cluster, "acme", "Ready")).toMatchObject({ status: "True", reason: REASONS.served });
    expect(conditionOf(cluster, "acme", "Degraded")).toMatchObject({ status: "False", reason: REASONS.asExpected });
    expect(decisions(cluster)[0]?.status).toMatchObject({ outcome: "Succeeded" });
    expect(cluster.events.map((e) => e.reason)).toEqual(["Placing", "Placed"]);

    // Settled: another pass writes nothing.
    const before = cluster.writes.length;
    expect(await reconcileTenant(cluster.ctx, "acme")).toEqual({ kind: "done" });
    expect(cluster.writes.slice(before)).toEqual([]);
  });

  it("promotes to namespace: records the decision, creates the namespace's children, cuts over, then the pool releases the seat", async () => {
    const cluster = clusterWithPool();
    await pooledTenant(cluster, "acme");
    cluster.writes.length = 0;
    cluster.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "namespace" } }));

    // decide: the move is recorded first, nothing else is written in that pass.
    await reconcileTenant(cluster.ctx, "acme");
    expect(decisions(cluster).at(-1)?.spec).toMatchObject({ from: "pooled", to: "namespace", trigger: "Pinned" });
    expect(cluster.writes).toEqual([`create PlacementDecision ${decisions(cluster).at(-1)?.metadata.name}`]);
    expect(cluster.events.at(-1)).toMatchObject({ reason: "Promoting" });

    // ensure target, migrate (nothing to migrate: no policy job), cut over: the status says the
    // namespace serves the tenant, while its seat still exists: cutting over, the pool is woken.
    cluster.enqueued.length = 0;
    await reconcileTenant(cluster.ctx, "acme");
    const namespaceWrites = cluster.writes.filter((w) => w.startsWith("apply"));
    expect(namespaceWrites).toEqual([
      "apply Namespace tenant-acme",
      "apply ResourceQuota tenant-acme/landlord-quota",
      "apply LimitRange tenant-acme/landlord-defaults",
      "apply NetworkPolicy tenant-acme/landlord-default-deny",
      "apply NetworkPolicy tenant-acme/landlord-egress",
    ]);
    // The intent (targetTier) is written before anything is created for it.
    expect(cluster.writes.indexOf("status TenantPlacement acme")).toBeLessThan(cluster.writes.indexOf("apply Namespace tenant-acme"));
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "namespace", phase: "CuttingOver", namespace: "tenant-acme" });
    expect(registryOf(cluster).acme).toBeDefined();
    expect(cluster.enqueued).toContain("pool/standard");
    expect(decisions(cluster).at(-1)?.status?.outcome).toBeUndefined();

    // release: the pool drops the seat (the tenant no longer wants one), then the move is done.
    await reconcilePool(cluster.ctx, "standard");
    expect(registryOf(cluster).acme).toBeUndefined();
    await reconcileTenant(cluster.ctx, "acme");
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "namespace", phase: "Active" });
    expect(statusOf(cluster, "acme").targetTier).toBeUndefined();
    expect(conditionOf(cluster, "acme", "Promoting")).toMatchObject({ status: "False", reason: REASONS.settled });
    expect(decisions(cluster).at(-1)?.status).toMatchObject({ outcome: "Succeeded" });
    expect(cluster.moves).toContain("pooled→namespace Succeeded");
  });

  it("says Degraded ChildRejected when the API server refuses a child, and keeps the tenant served where it is", async () => {
    const cluster = clusterWithPool();
    await pooledTenant(cluster, "acme");
    cluster.reject((object) => (object.kind === "RoleBinding" ? new ApiError(422, "Invalid", 'RoleBinding.rbac.authorization.k8s.io "landlord-tenant-admins" is invalid: subjects[0].name: Required value', {}) : undefined));
    cluster.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "namespace" }, admins: [{ kind: "Group", name: "acme-admins" }] }));
    await reconcileTenant(cluster.ctx, "acme");

    const result = await reconcileTenant(cluster.ctx, "acme");
    // Retried with backoff (not terminal): see classify().
    expect(result).toMatchObject({ kind: "error" });
    expect(result.kind === "error" && result.terminal).toBeFalsy();
    expect(conditionOf(cluster, "acme", "Degraded")).toMatchObject({ status: "True", reason: REASONS.childRejected });
    expect(conditionOf(cluster, "acme", "Degraded")?.message).toContain("the tenant stays served from pooled until the spec is fixed");
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "pooled", phase: "Failed", targetTier: "namespace" });
    expect(conditionOf(cluster, "acme", "Ready")).toMatchObject({ status: "True", reason: REASONS.servedMoveFailed });
    expect(registryOf(cluster).acme).toBeDefined();
    expect(cluster.events.at(-1)).toMatchObject({ type: "Warning", reason: REASONS.childRejected });
    // The open decision's step log carries the error.
    expect(decisions(cluster).at(-1)?.status).toMatchObject({ error: expect.stringContaining("is invalid") });
  });

  it("says Degraded NamespaceConflict when the tenant's namespace exists and is not Landlord's", async () => {
    const cluster = clusterWithPool();
    cluster.unwatched.set("Namespace tenant-acme", { apiVersion: "v1", kind: "Namespace", metadata: { name: "tenant-acme", uid: "uid-someone" } });
    cluster.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "namespace" } }));
    await reconcileTenant(cluster.ctx, "acme");
    const result = await reconcileTenant(cluster.ctx, "acme");
    expect(result).toMatchObject({ kind: "error", error: expect.any(ForeignObjectError) });
    expect(conditionOf(cluster, "acme", "Degraded")).toMatchObject({ status: "True", reason: REASONS.namespaceConflict, message: expect.stringContaining("not created by Landlord") });
    expect(statusOf(cluster, "acme")).toMatchObject({ phase: "Failed", targetTier: "namespace" });
    expect(statusOf(cluster, "acme").tier).toBeUndefined();
    // Nothing was written into or over the foreign namespace.
    expect(cluster.writes.filter((w) => w.includes("tenant-acme"))).toEqual([]);
  });

  it("reports the decide step's problems (a missing policy) alongside the placement, and drops them once fixed", async () => {
    const cluster = memoryCluster();
    cluster.put(poolObject());
    cluster.put(validTenant("acme"));
    await converge(cluster, ["tenant/acme"]);
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "pooled", phase: "Active" });
    expect(conditionOf(cluster, "acme", "PolicyResolved")).toMatchObject({ status: "False", reason: REASONS.policyNotFound });

    cluster.put(policyObject());
    await reconcileTenant(cluster.ctx, "acme");
    expect(conditionOf(cluster, "acme", "PolicyResolved")).toBeUndefined();
  });

  it("acts on nothing while the spec is invalid, and says which field", async () => {
    const cluster = clusterWithPool();
    cluster.put(tenantObject("acme", { costCenter: "Not A Label Value!" }));
    const result = await reconcileTenant(cluster.ctx, "acme");
    expect(result).toMatchObject({ kind: "error", terminal: true });
    expect(conditionOf(cluster, "acme", "Degraded")).toMatchObject({ status: "True", reason: REASONS.invalidSpec, message: expect.stringContaining("spec.costCenter") });
    expect(conditionOf(cluster, "acme", "Ready")).toMatchObject({ status: "False", reason: REASONS.invalidSpec });
    expect(cluster.writes).toEqual(["status TenantPlacement acme"]);
    expect(decisions(cluster)).toEqual([]);
  });

  it("on deletion releases the namespace, then removes the finalizer", async () => {
    const cluster = clusterWithPool();
    cluster.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "namespace" } }));
    await converge(cluster, ["tenant/acme"]);
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "namespace", phase: "Active" });

    cluster.remove("TenantPlacement", "acme");
    const first = await reconcileTenant(cluster.ctx, "acme");
    expect(first).toEqual({ kind: "requeueAfter", ms: 1_000 });
    expect(cluster.writes).toContain("delete Namespace tenant-acme");
    expect(statusOf(cluster, "acme").phase).toBe("Deleting");
    expect(cluster.store.get("TenantPlacement", "acme")?.metadata.finalizers).toEqual([FINALIZER]);

    // The namespace controller finishes; the next pass lets the tenant go.
    cluster.settle();
    expect(await reconcileTenant(cluster.ctx, "acme")).toEqual({ kind: "done" });
    expect(cluster.events.at(-1)).toMatchObject({ reason: "Released", message: "Released every placement of acme" });
    cluster.settle();
    expect(cluster.store.get("TenantPlacement", "acme")).toBeUndefined();
    expect(cluster.store.get("Namespace", "tenant-acme")).toBeUndefined();
  });

  it("on deletion of a pooled tenant waits for the pool to drop its seat", async () => {
    const cluster = clusterWithPool();
    await pooledTenant(cluster, "acme");
    cluster.remove("TenantPlacement", "acme");
    cluster.enqueued.length = 0;
    expect(await reconcileTenant(cluster.ctx, "acme")).toEqual({ kind: "requeueAfter", ms: 1_000 });
    expect(cluster.enqueued).toEqual(["pool/standard"]);
    await reconcilePool(cluster.ctx, "standard");
    expect(registryOf(cluster).acme).toBeUndefined();
    expect(await reconcileTenant(cluster.ctx, "acme")).toEqual({ kind: "done" });
    expect(cluster.store.get("TenantPlacement", "acme")?.metadata.finalizers).toEqual([]);
  });
});

describe("classify", () => {
  it("maps every error to a condition (or none) and a queue result", () => {
    const foreign = classify(new ForeignObjectError("Namespace tenant-acme exists and was not created by Landlord"), "pooled");
    expect(foreign.condition).toMatchObject({ type: "Degraded", reason: REASONS.namespaceConflict });
    expect(foreign.result).toMatchObject({ kind: "error" });

    const rejected = classify(new ApiError(422, "Invalid", "ResourceQuota is invalid", {}), undefined);
    expect(rejected.condition).toMatchObject({ reason: REASONS.childRejected, message: "ResourceQuota is invalid; the tenant stays served from nowhere yet until the spec is fixed" });
    const admission = classify(new ApiError(403, "Forbidden", "ValidatingAdmissionPolicy 'landlord-admins' denied request", {}), "pooled");
    expect(admission.condition?.reason).toBe(REASONS.childRejected);

    // Anything else is not the spec's fault: no condition, retried with backoff.
    for (const error of [new ApiError(403, "Forbidden", "RBAC: forbidden", {}), new ApiError(409, "Conflict", "conflict", {}), new Error("socket hang up")]) {
      const other = classify(error, "pooled");
      expect(other.condition).toBeUndefined();
      expect(other.result).toEqual({ kind: "error", error });
    }
  });

  it("returns an unexplained error without writing status", async () => {
    const cluster = clusterWithPool();
    await pooledTenant(cluster, "acme");
    cluster.reject((object: KubeObject) => (object.kind === "Namespace" ? new ApiError(500, "InternalError", "etcdserver: request timed out", {}) : undefined));
    cluster.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "namespace" } }));
    await reconcileTenant(cluster.ctx, "acme");
    const result = await reconcileTenant(cluster.ctx, "acme");
    expect(result).toMatchObject({ kind: "error", error: { message: "etcdserver: request timed out" } });
    // Only the intent was written (before the step that failed).
    expect(statusOf(cluster, "acme")).toMatchObject({ tier: "pooled", targetTier: "namespace", phase: "Provisioning" });
    expect(conditionOf(cluster, "acme", "Degraded")?.status).toBe("False");
  });
});
