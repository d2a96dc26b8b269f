import { describe, expect, it } from "vitest";
import pino from "pino";
import { placementPolicyStatus } from "../../../operator/src/api/v1alpha1/index.ts";
import { policyStatus, reconcilePolicy, type Follower } from "../../../operator/src/controller/placementPolicy.ts";
import type { ControllerContext } from "../../../operator/src/controller/context.ts";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import type { Resources } from "../../../operator/src/kube/resources.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";

const T0 = "2026-12-04T10:00:00.000Z";
const T1 = "2026-12-04T11:00:00.000Z";

const follower = (name: string, conditions: { type: string; status: string; message: string }[] = [], policyRef?: string): Follower => ({
  metadata: { name },
  spec: policyRef ? { policyRef } : {},
  status: { conditions },
});
const condition = (status: ReturnType<typeof policyStatus>, type: string) => status.conditions?.find((c) => c.type === type);

describe("a PlacementPolicy's status", () => {
  it("counts its tenants and is Ready, not Degraded, when they read their signals", () => {
    const status = policyStatus({ previous: undefined, generation: 3, now: T0, invalid: undefined, followers: [follower("a"), follower("b")] });
    expect(status.tenants).toBe(2);
    expect(status.observedGeneration).toBe(3);
    expect(condition(status, "Ready")).toMatchObject({ status: "True", reason: "Valid", lastTransitionTime: T0 });
    expect(condition(status, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
    expect(placementPolicyStatus.safeParse(status).success).toBe(true);
  });

  it("is Degraded by the worst signal problem its tenants report, with how many and an example", () => {
    const status = policyStatus({
      previous: undefined,
      generation: 1,
      now: T0,
      invalid: undefined,
      followers: [
        follower("c", [{ type: "SignalsStale", status: "True", message: "revenue: 50h old" }]),
        follower("b", [{ type: "SignalsUnavailable", status: "True", message: "requests: the requests query failed: bad_data: parse error" }]),
        follower("a", [{ type: "SignalsUnavailable", status: "False", message: "" }]),
      ],
    });
    const degraded = condition(status, "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "SignalsUnavailable" });
    expect(degraded?.message).toBe(
      "1 of 3 tenant(s) have signals the policy cannot read, e.g. b: requests: the requests query failed: bad_data: parse error; 1 of 3 tenant(s) have stale signals, e.g. c: revenue: 50h old",
    );
  });

  it("says an invalid spec is not acted on", () => {
    const status = policyStatus({ previous: undefined, generation: 2, now: T0, invalid: "spec.signals: Required", followers: [] });
    expect(status.tenants).toBe(0);
    expect(condition(status, "Ready")).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(condition(status, "Degraded")).toMatchObject({ status: "True", reason: "InvalidSpec", message: "spec.signals: Required" });
  });

  it("recomputes to the same object when nothing changed, whatever the clock says", () => {
    const input = { generation: 1, invalid: undefined, followers: [follower("a")] };
    const first = policyStatus({ ...input, previous: undefined, now: T0 });
    expect(policyStatus({ ...input, previous: first, now: T1 })).toEqual(first);
  });
});

/**
 * Resources whose status apply answers as the API server does (the stored object with the new
 * status and a new resourceVersion), and that count the writes.
 */
function recordingResources(store: ObjectStore): { resources: Resources; writes: KubeObject[] } {
  const writes: KubeObject[] = [];
  let version = 100;
  const resources = {
    apply: async (object: KubeObject) => {
      writes.push(object);
      version += 1;
      const stored = store.get("PlacementPolicy", object.metadata.name) as KubeObject;
      return { ...stored, status: object.status, metadata: { ...stored.metadata, resourceVersion: String(version) } };
    },
  } as unknown as Resources; // Only apply is reached by a policy reconcile; anything else would throw.
  return { resources, writes };
}

describe("the policy reconcile over an in-memory store", () => {
  const policySpec = {
    signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
    tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }] } }],
  };
  const setup = () => {
    const store = new ObjectStore();
    const { resources, writes } = recordingResources(store);
    const events: string[] = [];
    const ctx = {
      store,
      resources,
      log: pino({ level: "silent" }),
      events: { record: (_o: KubeObject, _t: string, reason: string) => events.push(reason) },
      now: () => new Date(T0),
    } as unknown as ControllerContext; // The fields a policy reconcile reads; the rest are never touched.
    store.upsert("PlacementPolicy", { apiVersion: "landlord.dev/v1alpha1", kind: "PlacementPolicy", metadata: { name: "default", generation: 1, resourceVersion: "1" }, spec: policySpec });
    const tenant = (name: string, rv: string, spec: Record<string, unknown> = {}) =>
      store.upsert("TenantPlacement", { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name, resourceVersion: rv }, spec: { tenantId: name, costCenter: "cc", ...spec } });
    return { store, writes, events, ctx, tenant };
  };

  it("writes the status once, then nothing while nothing changes", async () => {
    const { writes, ctx, tenant } = setup();
    tenant("a", "2");
    tenant("b", "3", { policyRef: "other" });
    expect(await reconcilePolicy(ctx, "default")).toEqual({ kind: "done" });
    expect(writes).toHaveLength(1);
    expect(writes[0]?.status).toMatchObject({ tenants: 1 });
    expect(await reconcilePolicy(ctx, "default")).toEqual({ kind: "done" });
    expect(writes).toHaveLength(1);
    tenant("c", "4");
    await reconcilePolicy(ctx, "default");
    expect(writes).toHaveLength(2);
    expect(writes[1]?.status).toMatchObject({ tenants: 2 });
  });

  it("records a Warning event when the policy becomes Degraded, once", async () => {
    const { store, events, ctx } = setup();
    store.upsert("TenantPlacement", {
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPlacement",
      metadata: { name: "a", resourceVersion: "5" },
      spec: { tenantId: "a", costCenter: "cc" },
      status: { conditions: [{ type: "SignalsUnavailable", status: "True", reason: "Unavailable", message: "x: no Prometheus is configured" }] },
    });
    await reconcilePolicy(ctx, "default");
    await reconcilePolicy(ctx, "default");
    expect(events).toEqual(["SignalsUnavailable"]);
  });

  it("does nothing for a policy that is gone", async () => {
    const { writes, ctx } = setup();
    expect(await reconcilePolicy(ctx, "missing")).toEqual({ kind: "done" });
    expect(writes).toEqual([]);
  });
});
