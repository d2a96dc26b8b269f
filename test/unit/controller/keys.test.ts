import { describe, expect, it } from "vitest";
import { policyKey, poolKey, splitKey, tenantKey } from "../../../operator/src/controller/context.ts";
import { keysFor } from "../../../operator/src/controller/manager.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";

const object = (kind: string, name: string, rv: string, extra: Record<string, unknown> = {}) => ({ apiVersion: "landlord.dev/v1alpha1", kind, metadata: { name, resourceVersion: rv }, ...extra });

describe("keys and the controller queues they go to", () => {
  it("routes each key to its controller's queue by name", () => {
    expect(splitKey(tenantKey("acme"))).toEqual({ controller: "tenant", name: "acme" });
    expect(splitKey(poolKey("standard"))).toEqual({ controller: "pool", name: "standard" });
    expect(splitKey(policyKey("default"))).toEqual({ controller: "policy", name: "default" });
    expect(splitKey("job/x")).toBeUndefined();
    expect(splitKey("tenant/")).toBeUndefined();
    expect(splitKey("acme")).toBeUndefined();
  });

  it("wakes a tenant and, spaced, every policy when a tenant changes", () => {
    const store = new ObjectStore();
    store.upsert("PlacementPolicy", object("PlacementPolicy", "default", "1"));
    store.upsert("PlacementPolicy", object("PlacementPolicy", "premium", "2"));
    const wakes = keysFor("TenantPlacement", object("TenantPlacement", "acme", "3", { spec: { policyRef: "premium" } }), store);
    expect(wakes[0]).toEqual({ key: "tenant/acme" });
    // Both policies: the tenant may just have left the one it no longer names.
    expect(wakes.slice(1).map((w) => w.key).sort()).toEqual(["policy/default", "policy/premium"]);
    // Spaced, as the policy's count is: only a changed policy spec skips the spacing.
    for (const wake of wakes.slice(1)) expect(wake.now).toBeUndefined();
  });

  it("wakes a policy and the tenants following it when the policy changes", () => {
    const store = new ObjectStore();
    store.upsert("TenantPlacement", object("TenantPlacement", "a", "1", { spec: {} }));
    store.upsert("TenantPlacement", object("TenantPlacement", "b", "2", { spec: { policyRef: "premium" } }));
    const wakes = keysFor("PlacementPolicy", object("PlacementPolicy", "default", "3"), store);
    expect(wakes).toEqual([{ key: "policy/default", now: true }, { key: "tenant/a" }]);
  });

  it("wakes only the policy when its own status was written (its spec unchanged), not every tenant following it", () => {
    const store = new ObjectStore();
    store.upsert("TenantPlacement", object("TenantPlacement", "a", "1", { spec: {} }));
    const policy = (generation: number, observedGeneration?: number) =>
      ({ ...object("PlacementPolicy", "default", "3"), metadata: { name: "default", resourceVersion: "3", generation }, ...(observedGeneration ? { status: { observedGeneration } } : {}) });
    expect(keysFor("PlacementPolicy", policy(2, 2), store)).toEqual([{ key: "policy/default" }]);
    // A new spec (generation ahead of what the status observed), or a policy never reconciled yet.
    expect(keysFor("PlacementPolicy", policy(3, 2), store)).toEqual([{ key: "policy/default", now: true }, { key: "tenant/a" }]);
    expect(keysFor("PlacementPolicy", policy(1), store)).toEqual([{ key: "policy/default", now: true }, { key: "tenant/a" }]);
  });

  it("wakes the pool, or the tenant, a labelled child belongs to", () => {
    const store = new ObjectStore();
    const child = (labels: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "n", labels } });
    expect(keysFor("ConfigMap", child({ "landlord.dev/pool": "standard" }), store)).toEqual([{ key: "pool/standard" }]);
    expect(keysFor("ConfigMap", child({ "landlord.dev/tenant": "acme", "landlord.dev/pool": "standard" }), store)).toEqual([{ key: "tenant/acme" }]);
    expect(keysFor("PlacementDecision", object("PlacementDecision", "acme-0001", "1"), store)).toEqual([]);
  });
});
