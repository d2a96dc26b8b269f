import { describe, expect, it } from "vitest";
import {
  parseShardIndex,
  placeTenants,
  shardNamespace,
  type Member,
  type PlacementInput,
  type ShardState,
} from "../../../operator/src/placement/placer.ts";

const small = { cpu: "250m", memory: "512Mi" };

function tenants(prefix: string, count: number, quota = small): Member[] {
  return Array.from({ length: count }, (_, i) => ({ tenantId: `${prefix}${i}`, quota }));
}

function place(overrides: Partial<PlacementInput>) {
  return placeTenants({
    prefix: "pool-standard",
    capacity: { maxTenants: 3, cpu: "4", memory: "8Gi" },
    shards: [],
    arrivals: [],
    departures: [],
    ...overrides,
  });
}

const ids = (members: readonly Member[]) => members.map((m) => m.tenantId);

describe("placeTenants", () => {
  it("opens shard 1 for the first tenant and fills shards to maxTenants before opening the next", () => {
    const result = place({ arrivals: tenants("t", 7) });
    expect(result.shards.map((s) => [s.namespace, ids(s.members)])).toEqual([
      ["pool-standard-1", ["t0", "t1", "t2"]],
      ["pool-standard-2", ["t3", "t4", "t5"]],
      ["pool-standard-3", ["t6"]],
    ]);
    expect(result.placed).toEqual({ t0: 1, t1: 1, t2: 1, t3: 2, t4: 2, t5: 2, t6: 3 });
    expect(result.unplaceable).toEqual([]);
  });

  it("seats a tenant in the least-loaded shard with room, whichever dimension is the load", () => {
    const shards: ShardState[] = [
      { index: 1, members: [{ tenantId: "busy-cpu", quota: { cpu: "3", memory: "1Gi" } }] }, // load 3/4
      { index: 2, members: tenants("light", 2) }, // load 2/3 by count
      { index: 3, members: [{ tenantId: "busy-mem", quota: { cpu: "1", memory: "7Gi" } }] }, // load 7/8
    ];
    const result = place({ shards, arrivals: [{ tenantId: "new", quota: small }] });
    expect(result.placed).toEqual({ new: 2 });
  });

  it("skips a less-loaded shard that lacks room for this tenant's quota", () => {
    const shards: ShardState[] = [
      { index: 1, members: [{ tenantId: "a", quota: { cpu: "3", memory: "1Gi" } }] }, // load 3/4, 1 cpu free
      { index: 2, members: [{ tenantId: "b", quota: { cpu: "1", memory: "7Gi" } }] }, // load 7/8, 3 cpu free
    ];
    const result = place({ shards, arrivals: [{ tenantId: "big", quota: { cpu: "2", memory: "512Mi" } }] });
    expect(result.placed).toEqual({ big: 2 });
  });

  it("breaks ties on load by the lowest shard index", () => {
    const shards: ShardState[] = [
      { index: 4, members: tenants("x", 1) },
      { index: 2, members: tenants("y", 1) },
    ];
    expect(place({ shards, arrivals: tenants("t", 1) }).placed).toEqual({ t0: 2 });
  });

  it("compares loads exactly, not in floating point", () => {
    // Shard 1 holds ceil(2^60 / 3) bytes of 1Ei, a hair over 1/3; shard 2 holds 1 of 3 tenants,
    // exactly 1/3. As doubles both loads are the same number, and the tie would go to shard 1.
    const result = placeTenants({
      prefix: "p",
      capacity: { maxTenants: 3, memory: "1Ei" },
      shards: [
        { index: 1, members: [{ tenantId: "a", quota: { memory: String((2n ** 60n + 2n) / 3n) } }] },
        { index: 2, members: [{ tenantId: "b", quota: {} }] },
      ],
      arrivals: [{ tenantId: "t", quota: {} }],
      departures: [],
    });
    expect(Number((2n ** 60n + 2n) / 3n) / 2 ** 60).toBe(1 / 3);
    expect(result.placed).toEqual({ t: 2 });
  });

  it("opens the lowest unused index when no shard has room", () => {
    const shards: ShardState[] = [
      { index: 2, members: tenants("a", 3) },
      { index: 3, members: tenants("b", 3) },
    ];
    const result = place({ shards, arrivals: tenants("t", 4) });
    expect(result.shards.map((s) => s.index)).toEqual([1, 2, 3, 4]);
    expect(result.placed).toEqual({ t0: 1, t1: 1, t2: 1, t3: 4 });
  });

  it("never moves existing members, even when the pool is unbalanced", () => {
    const shards: ShardState[] = [
      { index: 1, members: tenants("a", 3) },
      { index: 2, members: [] },
    ];
    const result = place({ shards, arrivals: tenants("t", 1) });
    expect(result.shards.map((s) => ids(s.members))).toEqual([["a0", "a1", "a2"], ["t0"]]);
  });

  it("removes departures before seating arrivals, so their seats can be reused", () => {
    const shards: ShardState[] = [{ index: 1, members: tenants("a", 3) }];
    const result = place({ shards, departures: ["a1", "unknown"], arrivals: tenants("t", 1) });
    expect(result.shards.map((s) => ids(s.members))).toEqual([["a0", "a2", "t0"]]);
  });

  it("keeps shards that became empty: the placer does not delete namespaces", () => {
    const shards: ShardState[] = [{ index: 1, members: tenants("a", 2) }];
    const result = place({ shards, departures: ["a0", "a1"] });
    expect(result.shards).toEqual([{ index: 1, namespace: "pool-standard-1", members: [] }]);
  });

  it("treats an arrival that already has a seat as a no-op and reports its shard", () => {
    const shards: ShardState[] = [{ index: 2, members: tenants("a", 1) }];
    const result = place({ shards, arrivals: tenants("a", 1) });
    expect(result.shards.map((s) => ids(s.members))).toEqual([["a0"]]);
    expect(result.placed).toEqual({ a0: 2 });
  });

  it("seats a tenant listed twice among the arrivals once, by its first listing", () => {
    const result = place({
      arrivals: [
        { tenantId: "t", quota: small },
        { tenantId: "t", quota: { cpu: "not-a-quantity" } },
      ],
    });
    expect(result.shards.map((s) => ids(s.members))).toEqual([["t"]]);
    expect(result.placed).toEqual({ t: 1 });
    expect(result.unplaceable).toEqual([]);
  });

  it("refuses a tenant larger than a whole shard, naming the dimension and both values", () => {
    const result = place({
      arrivals: [
        { tenantId: "huge", quota: { cpu: "5", memory: "1Gi" } },
        { tenantId: "vast", quota: { cpu: "8", memory: "9Gi" } },
        ...tenants("t", 1),
      ],
    });
    expect(result.unplaceable).toEqual([
      {
        tenantId: "huge",
        reason: "cpu quota 5 exceeds the shard capacity 4 (spec.capacity.cpu): lower the tenant's quota or raise the pool's per-shard capacity",
      },
      {
        tenantId: "vast",
        reason:
          "cpu quota 8 exceeds the shard capacity 4 (spec.capacity.cpu); memory quota 9Gi exceeds the shard capacity 8Gi (spec.capacity.memory): lower the tenant's quota or raise the pool's per-shard capacity",
      },
    ]);
    expect(result.placed).toEqual({ t0: 1 });
    expect(result.shards).toHaveLength(1);
  });

  it("refuses a tenant whose quota is not a non-negative quantity", () => {
    const result = place({
      arrivals: [
        { tenantId: "bad", quota: { memory: "lots" } },
        { tenantId: "neg", quota: { cpu: "-1" } },
        { tenantId: "badpods", quota: { pods: "five" } },
      ],
    });
    expect(result.unplaceable.map((u) => [u.tenantId, u.reason.split(":")[0]])).toEqual([
      ["bad", "quota.memory"],
      ["neg", "quota.cpu -1 is negative; a quota must be at least 0"],
      ["badpods", "quota.pods"],
    ]);
    expect(result.unplaceable[0]?.reason).toContain('"lots" is not a Kubernetes quantity');
    expect(result.shards).toEqual([]);
  });

  it("gives an over-full shard no one new but keeps its members in place", () => {
    const shards: ShardState[] = [{ index: 1, members: [{ tenantId: "grew", quota: { cpu: "6" } }] }];
    const result = place({ shards, arrivals: tenants("t", 1) });
    expect(result.shards.map((s) => ids(s.members))).toEqual([["grew"], ["t0"]]);
  });

  it("treats cpu or memory missing from the capacity as unlimited", () => {
    const result = placeTenants({
      prefix: "p",
      capacity: { maxTenants: 2 },
      shards: [],
      arrivals: tenants("t", 3, { cpu: "1000", memory: "1Ei" }),
      departures: [],
    });
    expect(result.placed).toEqual({ t0: 1, t1: 1, t2: 2 });
  });

  it("seats zero-quota tenants in a shard of zero capacity, and no one else", () => {
    const result = placeTenants({
      prefix: "p",
      capacity: { maxTenants: 5, cpu: "0", memory: "0" },
      shards: [],
      arrivals: [{ tenantId: "free", quota: { cpu: 0 } }, { tenantId: "paid", quota: { cpu: "1m" } }],
      departures: [],
    });
    expect(result.placed).toEqual({ free: 1 });
    expect(result.unplaceable.map((u) => u.tenantId)).toEqual(["paid"]);
  });

  it("keeps the quotas exactly as given", () => {
    const quota = { cpu: "0.25", memory: 536870912, storage: "5Gi", pods: 5 };
    const result = place({ arrivals: [{ tenantId: "t", quota }] });
    expect(result.shards[0]?.members[0]?.quota).toBe(quota);
  });

  it("does not modify its input", () => {
    const input: PlacementInput = {
      prefix: "p",
      capacity: { maxTenants: 2, cpu: "1" },
      shards: [{ index: 1, members: tenants("a", 2) }],
      arrivals: tenants("t", 3),
      departures: ["a0"],
    };
    const copy = structuredClone(input);
    placeTenants(input);
    expect(input).toEqual(copy);
  });

  it("rejects an impossible pool or shard list with a clear error", () => {
    expect(() => place({ capacity: { maxTenants: 0 } })).toThrowError("capacity.maxTenants 0 is not a positive integer");
    expect(() => place({ capacity: { maxTenants: 2, cpu: "many" } })).toThrowError('capacity.cpu: "many" is not a Kubernetes quantity');
    expect(() => place({ capacity: { maxTenants: 2, memory: "-1Gi" } })).toThrowError("capacity.memory -1Gi is negative");
    expect(() => place({ shards: [{ index: 0, members: [] }] })).toThrowError("shard index 0 is not a positive integer");
    expect(() =>
      place({
        shards: [
          { index: 1, members: [] },
          { index: 1, members: [] },
        ],
      }),
    ).toThrowError("shard 1 is listed twice");
    expect(() => place({ shards: [{ index: 1, members: [{ tenantId: "x", quota: { cpu: "??" } }] }] })).toThrowError(
      'tenant x in shard 1: quota.cpu: "??" is not a Kubernetes quantity',
    );
  });

  it("seats 100,000 tenants into 500 full shards of 200, in order", () => {
    const arrivals = tenants("t", 100_000, { cpu: "250m", memory: "512Mi" });
    const result = placeTenants({
      prefix: "pool-standard",
      capacity: { maxTenants: 200, cpu: "64", memory: "256Gi" },
      shards: [],
      arrivals,
      departures: [],
    });
    expect(result.unplaceable).toEqual([]);
    expect(result.shards).toHaveLength(500);
    result.shards.forEach((shard, i) => {
      expect(shard.index).toBe(i + 1);
      expect(shard.members).toHaveLength(200);
      expect(shard.members[0]?.tenantId).toBe(`t${i * 200}`);
    });
    expect(Object.keys(result.placed)).toHaveLength(100_000);
    expect(result.placed.t99999).toBe(500);

    // A second pass with a tenth departing and every tenant still arriving refills the holes in place.
    const departures = arrivals.filter((_, i) => i % 10 === 0).map((a) => a.tenantId);
    const again = placeTenants({
      prefix: "pool-standard",
      capacity: { maxTenants: 200, cpu: "64", memory: "256Gi" },
      shards: result.shards,
      arrivals,
      departures,
    });
    expect(again.shards).toHaveLength(500);
    expect(again.shards.every((s) => s.members.length === 200)).toBe(true);
    expect(Object.keys(again.placed)).toHaveLength(100_000);
  });
});

describe("shard namespaces", () => {
  it("names shard n <prefix>-n", () => {
    expect(shardNamespace("pool-standard", 1)).toBe("pool-standard-1");
    expect(shardNamespace("pool-standard", 42)).toBe("pool-standard-42");
    expect(() => shardNamespace("p", 0)).toThrowError("shard index 0 is not a positive integer");
    expect(() => shardNamespace("p", 1.5)).toThrowError("shard index 1.5");
  });

  it("reads the index back only from this pool's shard names", () => {
    expect(parseShardIndex("pool-standard", "pool-standard-1")).toBe(1);
    expect(parseShardIndex("pool-standard", "pool-standard-120")).toBe(120);
    for (const other of [
      "pool-standard",
      "pool-standard-",
      "pool-standard-0",
      "pool-standard-01",
      "pool-standard-1-1",
      "pool-standard-x",
      "pool-standardx-1",
      "pool-1",
      "tenant-acme",
      "pool-standard-99999999999999999999",
    ]) {
      expect(parseShardIndex("pool-standard", other), other).toBeUndefined();
    }
    expect(parseShardIndex("pool", "pool-standard-1")).toBeUndefined();
  });

  it("round-trips every index", () => {
    for (const index of [1, 2, 9, 10, 999, 123456]) {
      expect(parseShardIndex("p", shardNamespace("p", index))).toBe(index);
    }
  });
});
