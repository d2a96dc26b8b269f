import { describe, expect, it } from "vitest";
import { MAX_LISTED_UNSEATABLE, MAX_UNSEATABLE_REASON, tenantPoolStatus } from "../../../operator/src/api/v1alpha1/index.ts";
import { unseatableReason, unseatableStatus } from "../../../operator/src/controller/unseatable.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";

const pool = (status: Record<string, unknown>) => ({
  apiVersion: "landlord.dev/v1alpha1",
  kind: "TenantPool",
  metadata: { name: "standard", resourceVersion: "7" },
  status,
});

describe("the pool's unseatable tenants in its status", () => {
  it("writes nothing when every tenant is seated, so an existing pool's status does not change", () => {
    expect(unseatableStatus([])).toEqual({});
  });

  it("lists them oldest first with their reasons and counts them", () => {
    const status = unseatableStatus([
      { tenantId: "b", reason: "quota.cpu 20 is more than a whole shard (10)" },
      { tenantId: "a", reason: "quota.memory lots: not a quantity" },
    ]);
    expect(status).toEqual({
      unseatable: [
        { tenantId: "b", reason: "quota.cpu 20 is more than a whole shard (10)" },
        { tenantId: "a", reason: "quota.memory lots: not a quantity" },
      ],
      unseatableTotal: 2,
    });
  });

  it("stays small for 10,000 unseatable tenants with long reasons, and says how many are not listed", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ tenantId: `tenant-with-a-rather-long-identifier-number-${String(i).padStart(5, "0")}`, reason: `x`.repeat(5_000) }));
    const status = unseatableStatus(many);
    expect(status.unseatable).toHaveLength(MAX_LISTED_UNSEATABLE);
    expect(status.unseatable?.[0]?.tenantId).toBe(many[0]?.tenantId);
    expect(status.unseatableTotal).toBe(10_000);
    expect(Math.max(...(status.unseatable ?? []).map((u) => u.reason.length))).toBe(MAX_UNSEATABLE_REASON);
    // Well inside etcd's 1.5 MiB, and valid against the CRD's schema (list bounds, unique ids).
    expect(JSON.stringify(status).length).toBeLessThan(100_000);
    expect(tenantPoolStatus.safeParse(status).success).toBe(true);
  });

  it("is read back from the pool's status in the store, not from process memory", () => {
    const store = new ObjectStore();
    const ctx = { store };
    expect(unseatableReason(ctx, "standard", "b")).toBeUndefined();
    store.upsert("TenantPool", pool(unseatableStatus([{ tenantId: "b", reason: "too big" }])));
    expect(unseatableReason(ctx, "standard", "b")).toBe("too big");
    expect(unseatableReason(ctx, "standard", "c")).toBeUndefined();
    expect(unseatableReason(ctx, "other", "b")).toBeUndefined();
  });

  it("tells a tenant beyond the listed ones that the pool has more than it lists", () => {
    const store = new ObjectStore();
    store.upsert("TenantPool", pool({ unseatable: [{ tenantId: "a", reason: "too big" }], unseatableTotal: 3 }));
    expect(unseatableReason({ store }, "standard", "z")).toMatch(/cannot seat 3 tenants .* lists the oldest 1/);
  });
});
