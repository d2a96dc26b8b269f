import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  placeTenants,
  type Member,
  type PlacementInput,
  type PlacementResult,
  type ShardCapacity,
} from "../../../operator/src/placement/placer.ts";
import { parseQuantity, QUOTA_KEYS, type Quota } from "../../../operator/src/placement/quantity.ts";

// ---- generators: small pools, few tenant ids (so ids collide across shards, arrivals, departures)

const tenantId = fc.integer({ min: 0, max: 24 }).map((i) => `t${i}`);
const cpu = fc.constantFrom("0", "100m", "250m", "0.5", "1", "1500m", "2", 1);
const memory = fc.constantFrom("0", "128Mi", "256Mi", "512Mi", "1Gi", "1.5Gi", 1073741824);
const validQuota: fc.Arbitrary<Quota> = fc.record({ cpu, memory, pods: fc.constant(5) }, { requiredKeys: [] });
const anyQuota: fc.Arbitrary<Quota> = fc.oneof(
  { weight: 12, arbitrary: validQuota },
  { weight: 1, arbitrary: fc.constantFrom<Quota>({ cpu: "lots" }, { memory: "-1Gi" }, { cpu: "9" }, { memory: "9Gi" }) },
);
const capacity: fc.Arbitrary<ShardCapacity> = fc.record(
  {
    maxTenants: fc.integer({ min: 1, max: 5 }),
    cpu: fc.constantFrom("0", "1", "2", "3500m", "4"),
    memory: fc.constantFrom("1Gi", "2Gi", "3Gi", "4096Mi"),
  },
  { requiredKeys: ["maxTenants"] },
);
const member = (quota: fc.Arbitrary<Quota>): fc.Arbitrary<Member> => fc.record({ tenantId, quota });

/** Arbitrary existing shards, possibly over capacity (capacity lowered, quotas grown), with gaps in the indexes. */
const anyShards = fc.uniqueArray(
  fc.record({ index: fc.integer({ min: 1, max: 8 }), members: fc.array(member(validQuota), { maxLength: 6 }) }),
  { selector: (s) => s.index, maxLength: 4 },
);

const input: fc.Arbitrary<PlacementInput> = fc.record({
  prefix: fc.constant("pool"),
  capacity,
  shards: anyShards,
  arrivals: fc.array(member(anyQuota), { maxLength: 20 }),
  departures: fc.array(tenantId, { maxLength: 5 }),
});

/** Input whose shards the placer itself produced, so every shard is within capacity. */
const reachableInput: fc.Arbitrary<PlacementInput> = fc
  .tuple(input, fc.array(member(validQuota), { maxLength: 20 }))
  .map(([i, earlier]) => ({ ...i, shards: placeTenants({ ...i, shards: [], arrivals: earlier, departures: [] }).shards }));

// ---- a reference model: the rules applied literally, one arrival at a time, with exact fractions

const Q = (v: string | number | undefined): bigint => (v === undefined ? 0n : parseQuantity(v));

interface Usage {
  count: bigint;
  cpu: bigint;
  memory: bigint;
}

function usage(members: readonly Member[]): Usage {
  return {
    count: BigInt(members.length),
    cpu: members.reduce((sum, m) => sum + Q(m.quota.cpu), 0n),
    memory: members.reduce((sum, m) => sum + Q(m.quota.memory), 0n),
  };
}

function limits(c: ShardCapacity): { count: bigint; cpu?: bigint; memory?: bigint } {
  return {
    count: BigInt(c.maxTenants),
    ...(c.cpu === undefined ? {} : { cpu: Q(c.cpu) }),
    ...(c.memory === undefined ? {} : { memory: Q(c.memory) }),
  };
}

function within(u: Usage, c: ShardCapacity): boolean {
  const l = limits(c);
  return u.count <= l.count && (l.cpu === undefined || u.cpu <= l.cpu) && (l.memory === undefined || u.memory <= l.memory);
}

function withMember(u: Usage, m: Member): Usage {
  return { count: u.count + 1n, cpu: u.cpu + Q(m.quota.cpu), memory: u.memory + Q(m.quota.memory) };
}

/** The load as [numerator, denominator] pairs per dimension; compared by cross-multiplication. */
function loadAbove(a: Usage, b: Usage, c: ShardCapacity): number {
  const l = limits(c);
  const fractions = (u: Usage): [bigint, bigint][] => [
    [u.count, l.count],
    ...(l.cpu === undefined ? [] : [[u.cpu, l.cpu] as [bigint, bigint]]),
    ...(l.memory === undefined ? [] : [[u.memory, l.memory] as [bigint, bigint]]),
  ];
  // n/0 is +infinity for n > 0 and 0 for n = 0.
  const norm = ([n, d]: [bigint, bigint]): [bigint, bigint] => (d === 0n ? (n > 0n ? [1n, 0n] : [0n, 1n]) : [n, d]);
  const cmp = ([n1, d1]: [bigint, bigint], [n2, d2]: [bigint, bigint]) => Number(n1 * d2 - n2 * d1 > 0n) - Number(n1 * d2 - n2 * d1 < 0n);
  const max = (u: Usage) => fractions(u).map(norm).reduce((m, f) => (cmp(f, m) > 0 ? f : m));
  return cmp(max(a), max(b));
}

function quotaProblem(quota: Quota, c: ShardCapacity): boolean {
  for (const key of QUOTA_KEYS) {
    const v = quota[key];
    if (v === undefined) continue;
    try {
      if (parseQuantity(v) < 0n) return true;
    } catch {
      return true;
    }
  }
  return !within(withMember({ count: 0n, cpu: 0n, memory: 0n }, { tenantId: "", quota }), c);
}

/** Replays the result against the rules step by step; throws on the first difference. */
function checkAgainstRules(input: PlacementInput, result: PlacementResult): void {
  const departing = new Set(input.departures);
  const state = new Map<number, Member[]>();
  for (const s of input.shards) state.set(s.index, s.members.filter((m) => !departing.has(m.tenantId)));
  // A tenant listed in two shards (corrupt input) is reported at the lower index.
  const seat = (id: string) =>
    [...state].sort(([a], [b]) => a - b).find(([, ms]) => ms.some((m) => m.tenantId === id))?.[0];
  const refused = new Map(result.unplaceable.map((u) => [u.tenantId, u.reason]));
  const expectedPlaced: Record<string, number> = {};
  const seen = new Set<string>();

  for (const arrival of input.arrivals) {
    const id = arrival.tenantId;
    const existing = seat(id);
    if (existing !== undefined) {
      expectedPlaced[id] = existing;
      continue;
    }
    if (seen.has(id)) continue;
    seen.add(id);
    if (quotaProblem(arrival.quota, input.capacity)) {
      expect(refused.get(id), `${id} should be unplaceable`).toMatch(/\S/);
      continue;
    }
    expect(refused.has(id), `${id} fits a shard but was refused: ${refused.get(id)}`).toBe(false);
    const withRoom = [...state]
      .map(([index, ms]) => [index, usage(ms)] as const)
      .filter(([, u]) => within(withMember(u, arrival), input.capacity))
      .sort(([ia, a], [ib, b]) => loadAbove(a, b, input.capacity) || ia - ib);
    let index = withRoom[0]?.[0];
    if (index === undefined) {
      index = 1;
      while (state.has(index)) index++;
      state.set(index, []);
    }
    state.get(index)?.push(arrival);
    expectedPlaced[id] = index;
  }

  expect(result.placed).toEqual(expectedPlaced);
  expect(result.unplaceable.map((u) => u.tenantId).sort()).toEqual([...refused.keys()].sort());
  expect(result.unplaceable).toHaveLength(refused.size);
  expect(result.shards).toEqual(
    [...state]
      .sort(([a], [b]) => a - b)
      .map(([index, members]) => ({ index, namespace: `pool-${index}`, members })),
  );
}

// ---- properties

describe("placeTenants properties", () => {
  it("follows the placement rules step by step (least-loaded shard with room, lowest new index)", () => {
    fc.assert(fc.property(input, (i) => checkAgainstRules(i, placeTenants(i))), { numRuns: 1000 });
  });

  it("never fills a shard beyond maxTenants, cpu or memory", () => {
    fc.assert(
      fc.property(input, (i) => {
        const before = new Map(i.shards.map((s) => [s.index, s.members.filter((m) => !i.departures.includes(m.tenantId))]));
        for (const shard of placeTenants(i).shards) {
          const had = before.get(shard.index);
          if (had === undefined || within(usage(had), i.capacity)) {
            expect(within(usage(shard.members), i.capacity)).toBe(true);
          } else {
            expect(shard.members, "an over-full shard takes no one new").toEqual(had);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never moves an existing member", () => {
    fc.assert(
      fc.property(input, (i) => {
        const result = placeTenants(i);
        for (const shard of i.shards) {
          const staying = shard.members.filter((m) => !i.departures.includes(m.tenantId));
          const now = result.shards.find((s) => s.index === shard.index);
          expect(now?.members.slice(0, staying.length)).toEqual(staying);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("opens no new shard while some shard had room for the arrival", () => {
    fc.assert(
      fc.property(input, (i) => {
        const result = placeTenants(i);
        const position = new Map<string, number>();
        i.arrivals.forEach((a, k) => position.has(a.tenantId) || position.set(a.tenantId, k));
        const staying = new Map(i.shards.map((s) => [s.index, s.members.filter((m) => !i.departures.includes(m.tenantId))]));
        for (const shard of result.shards) {
          if (staying.has(shard.index)) continue;
          const first = shard.members[0];
          if (!first) throw new Error(`new shard ${shard.index} is empty`);
          const opened = position.get(first.tenantId) ?? -1;
          // Every other shard as it was when this one was opened: what stayed plus earlier arrivals.
          for (const other of result.shards) {
            if (other === shard) continue;
            const base = staying.get(other.index) ?? [];
            const added = other.members.slice(base.length).filter((m) => (position.get(m.tenantId) ?? Infinity) < opened);
            if (!staying.has(other.index) && added.length === 0) continue; // opened later
            const then = [...base, ...added];
            expect(within(withMember(usage(then), first), i.capacity), `shard ${other.index} had room for ${first.tenantId}`).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("accounts for every arrival: placed, or unplaceable with a reason, never both", () => {
    fc.assert(
      fc.property(input, (i) => {
        const result = placeTenants(i);
        const refused = new Map(result.unplaceable.map((u) => [u.tenantId, u.reason]));
        expect(refused.size).toBe(result.unplaceable.length);
        for (const { tenantId: id } of i.arrivals) {
          const seat = result.placed[id];
          const reason = refused.get(id);
          expect(seat === undefined, `${id}: placed ${seat}, reason ${reason}`).not.toBe(reason === undefined);
          if (seat !== undefined) expect(result.shards.find((s) => s.index === seat)?.members.some((m) => m.tenantId === id)).toBe(true);
          if (reason !== undefined) expect(reason.length).toBeGreaterThan(10);
        }
        expect(Object.keys(result.placed).every((id) => i.arrivals.some((a) => a.tenantId === id))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("gives the same output for the same input, and changes nothing when run again on its own output", () => {
    fc.assert(
      fc.property(reachableInput, (i) => {
        const first = placeTenants(i);
        expect(placeTenants(structuredClone(i))).toEqual(first);
        const again = placeTenants({ ...i, shards: first.shards, departures: [] });
        expect(again.shards).toEqual(first.shards);
        expect(again.placed).toEqual(first.placed);
        expect(again.unplaceable).toEqual(first.unplaceable);
      }),
      { numRuns: 500 },
    );
  });

  it("places arrivals one at a time exactly as all at once, and never overfills either way", () => {
    // Distinct arrivals: of a tenant listed twice in one call only the first listing counts, while a
    // second call gives a refused tenant another try.
    const distinct = reachableInput.map((i) => ({
      ...i,
      arrivals: i.arrivals.filter((a, k) => i.arrivals.findIndex((b) => b.tenantId === a.tenantId) === k),
    }));
    fc.assert(
      fc.property(distinct, (i) => {
        const all = placeTenants(i);
        let shards = placeTenants({ ...i, arrivals: [] }).shards; // departures first
        for (const arrival of i.arrivals) {
          shards = placeTenants({ ...i, shards, arrivals: [arrival], departures: [] }).shards;
          for (const s of shards) expect(within(usage(s.members), i.capacity)).toBe(true);
        }
        expect(shards).toEqual(all.shards);
      }),
      { numRuns: 500 },
    );
  });

  it("follows the rules at scale, with mixed quotas and adversarial shards", () => {
    // Shards full in one dimension each: only a shard with room in both may take a tenant.
    const cap = { maxTenants: 40, cpu: "16", memory: "32Gi" };
    const shards = Array.from({ length: 30 }, (_, k) => ({
      index: 2 * k + 1,
      members: [{ tenantId: `x${k}`, quota: k % 2 ? { cpu: "15500m", memory: "1Gi" } : { cpu: "1", memory: "31Gi" } }],
    }));
    fc.assert(
      fc.property(fc.array(fc.record({ cpu, memory }, { requiredKeys: [] }), { minLength: 100, maxLength: 300 }), (quotas) => {
        const i: PlacementInput = {
          prefix: "pool",
          capacity: cap,
          shards,
          arrivals: quotas.map((quota, k) => ({ tenantId: `a${k}`, quota })),
          departures: [],
        };
        checkAgainstRules(i, placeTenants(i));
      }),
      { numRuns: 20 },
    );
  });
});
