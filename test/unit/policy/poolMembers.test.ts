import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";
import { PoolMembers } from "../../../operator/src/policy/poolMembers.ts";

let version = 0;
function tenant(name: string, pool: string | undefined, reportedSignals?: Record<string, number>): KubeObject {
  version += 1;
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    metadata: { name, resourceVersion: String(version) },
    spec: { tenantId: name, ...(pool ? { pool } : {}), ...(reportedSignals ? { reportedSignals } : {}) },
  };
}

const members = (index: PoolMembers, pool: string): [string, unknown][] => [...index.members(pool)];

describe("PoolMembers", () => {
  it("indexes the tenants already in the store, defaulting the pool to standard", () => {
    const store = new ObjectStore();
    store.upsert("TenantPlacement", tenant("a", "eu", { requestsPerDay: 10 }));
    store.upsert("TenantPlacement", tenant("b", undefined, { requestsPerDay: 20 }));
    const index = PoolMembers.of(store);
    expect(members(index, "eu")).toEqual([["a", { requestsPerDay: 10 }]]);
    expect(members(index, "standard")).toEqual([["b", { requestsPerDay: 20 }]]);
    expect(members(index, "nowhere")).toEqual([]);
    expect(PoolMembers.of(store)).toBe(index);
  });

  it("follows the store: new values, a move to another pool, deletion, a re-list", () => {
    const store = new ObjectStore();
    const index = PoolMembers.of(store);
    store.upsert("TenantPlacement", tenant("a", "eu", { requestsPerDay: 10 }));
    store.upsert("TenantPlacement", tenant("b", "eu", { requestsPerDay: 20 }));
    store.upsert("TenantPlacement", tenant("a", "eu", { requestsPerDay: 15 }));
    // An update keeps the member's place, so sums are added in a stable order.
    expect(members(index, "eu")).toEqual([["a", { requestsPerDay: 15 }], ["b", { requestsPerDay: 20 }]]);

    store.upsert("TenantPlacement", tenant("a", "us", { requestsPerDay: 15 }));
    expect(members(index, "eu")).toEqual([["b", { requestsPerDay: 20 }]]);
    expect(members(index, "us")).toEqual([["a", { requestsPerDay: 15 }]]);

    store.remove("TenantPlacement", tenant("b", "eu"));
    expect(members(index, "eu")).toEqual([]);

    store.replaceAll("TenantPlacement", [tenant("c", "eu", { requestsPerDay: 1 })]);
    expect(members(index, "us")).toEqual([]);
    expect(members(index, "eu")).toEqual([["c", { requestsPerDay: 1 }]]);
  });

  it("sums a reported signal per pool, and recomputes only when a member or a value changes", () => {
    const store = new ObjectStore();
    const index = PoolMembers.of(store);
    store.upsert("TenantPlacement", tenant("a", "eu", { requestsPerDay: 10 }));
    store.upsert("TenantPlacement", tenant("b", "eu", { requestsPerDay: 20, revenue: 5 }));
    store.upsert("TenantPlacement", tenant("c", "eu"));
    expect(index.sum("eu", "requestsPerDay")).toEqual({ total: 30, count: 2, integral: true });
    const cached = index.sum("eu", "requestsPerDay");
    // A status write (same values) keeps the cached sum.
    store.upsert("TenantPlacement", { ...tenant("a", "eu", { requestsPerDay: 10 }), status: { phase: "Active" } });
    expect(index.sum("eu", "requestsPerDay")).toBe(cached);
    store.upsert("TenantPlacement", tenant("a", "eu", { requestsPerDay: 12.5 }));
    expect(index.sum("eu", "requestsPerDay")).toEqual({ total: 32.5, count: 2, integral: false });
    store.remove("TenantPlacement", tenant("b", "eu"));
    expect(index.sum("eu", "requestsPerDay")).toEqual({ total: 12.5, count: 1, integral: false });
    expect(index.sum("eu", "revenue")).toEqual({ total: 0, count: 0, integral: true });
  });

  it("ignores other kinds", () => {
    const store = new ObjectStore();
    const index = PoolMembers.of(store);
    store.upsert("ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "eu", resourceVersion: "1" } });
    expect(members(index, "standard")).toEqual([]);
  });
});
