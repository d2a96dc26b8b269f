import { describe, expect, it } from "vitest";
import { compact, jsonEqual, mergeConditions } from "../../../operator/src/controller/conditions.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";

describe("status diffing", () => {
  const T0 = "2026-11-23T10:00:00.000Z";
  const T1 = "2026-11-23T11:00:00.000Z";

  it("keeps lastTransitionTime when a condition's status did not change, so recomputing writes nothing", () => {
    const first = mergeConditions(undefined, [{ type: "Ready", status: "True", reason: "Served", message: "ok" }], T0, 1);
    const second = mergeConditions(first, [{ type: "Ready", status: "True", reason: "Served", message: "ok" }], T1, 1);
    expect(second[0]?.lastTransitionTime).toBe(T0);
    expect(jsonEqual(first, second)).toBe(true);
  });

  it("moves lastTransitionTime when the status flips", () => {
    const first = mergeConditions(undefined, [{ type: "Ready", status: "False", reason: "Pending", message: "" }], T0, 1);
    const second = mergeConditions(first, [{ type: "Ready", status: "True", reason: "Served", message: "" }], T1, 2);
    expect(second[0]).toMatchObject({ lastTransitionTime: T1, observedGeneration: 2 });
  });

  it("treats absent and undefined members alike, and notices real differences", () => {
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual(compact({ tier: "pooled", targetTier: undefined }), { tier: "pooled" })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: { b: "x" } }, { a: { b: "y" } })).toBe(false);
  });
});

describe("the object store", () => {
  const cm = (rv: string, data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "landlord-tenants", namespace: "pool-1", resourceVersion: rv, labels: { "landlord.dev/pool": "standard" } },
    data,
  });

  it("keeps the newer of an informer's copy and a write's answer", () => {
    const store = new ObjectStore();
    store.upsert("ConfigMap", cm("10", { a: "1" }));
    store.upsert("ConfigMap", cm("12", { a: "1", b: "2" }));
    store.upsert("ConfigMap", cm("11", { a: "1" })); // a late watch event older than our write
    expect(store.get("ConfigMap", "landlord-tenants", "pool-1")?.data).toEqual({ a: "1", b: "2" });
    expect(store.byLabel("ConfigMap", "landlord.dev/pool", "standard")).toHaveLength(1);
  });

  it("does not resurrect a deleted object from an older copy", () => {
    const store = new ObjectStore();
    store.upsert("ConfigMap", cm("10", {}));
    store.remove("ConfigMap", cm("15", {}));
    store.upsert("ConfigMap", cm("12", {}));
    expect(store.get("ConfigMap", "landlord-tenants", "pool-1")).toBeUndefined();
    store.upsert("ConfigMap", cm("20", {}));
    expect(store.get("ConfigMap", "landlord-tenants", "pool-1")).toBeDefined();
  });
});
