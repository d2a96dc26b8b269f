/**
 * The pool placer: seats pooled tenants in shard namespaces by bin-packing. Pure and deterministic.
 *
 * Rules:
 * - existing members never move; departures are removed first;
 * - each arrival, in the order given, goes to the least-loaded shard with room for it, where
 *   load = max(tenants / maxTenants, cpu / capacity.cpu, memory / capacity.memory), compared
 *   exactly; ties go to the lowest index;
 * - a new shard (the lowest unused index >= 1) is opened only when no shard has room;
 * - a tenant whose own quota exceeds a shard's capacity, or whose quota is not a valid
 *   non-negative quantity, is unplaceable, with a reason;
 * - an arrival that is already a member is a no-op (idempotent); empty shards are kept.
 * The placer never makes a shard exceed its capacity; a shard that already does (capacity was
 * lowered, or a member's quota grew) keeps its members and takes no one new until it has room.
 *
 * Cost: O((shards + members + arrivals) · log shards) in practice (100,000 arrivals: ~0.2 s).
 * Room only shrinks during a run, so a shard leaves the search for good once it cannot fit the
 * componentwise-smallest quota still waiting; an arrival that no shard fits in some dimension is
 * answered from the largest free cpu and memory without a scan. What is left, an arrival larger
 * than the smallest waiting one that fits each dimension somewhere but no single shard, scans the
 * shards below it in load order.
 */
import { MinHeap } from "./heap.ts";
import { parseQuantity, QUOTA_KEYS, type QuantityValue, type Quota } from "./quantity.ts";

export interface Member {
  readonly tenantId: string;
  readonly quota: Quota;
}

/** A shard as it is now: 1-based index and its members. */
export interface ShardState {
  readonly index: number;
  readonly members: readonly Member[];
}

/** Capacity of each shard (TenantPool spec.capacity); cpu or memory absent means unlimited. */
export interface ShardCapacity {
  readonly maxTenants: number;
  readonly cpu?: QuantityValue | undefined;
  readonly memory?: QuantityValue | undefined;
}

export interface PlacementInput {
  /** Shard namespaces are `<prefix>-<index>`. */
  readonly prefix: string;
  readonly capacity: ShardCapacity;
  /** Existing shards; indexes must be distinct positive integers. */
  readonly shards: readonly ShardState[];
  /** Tenants that must get a seat, in order of precedence (callers sort by creation time). */
  readonly arrivals: readonly Member[];
  /** Tenant ids to remove; unknown ids are ignored. */
  readonly departures: readonly string[];
}

export interface PlacedShard {
  index: number;
  namespace: string;
  members: Member[];
}

export interface Unplaceable {
  tenantId: string;
  reason: string;
}

export interface PlacementResult {
  /** Every shard, existing (even if now empty) and new, sorted by index. */
  shards: PlacedShard[];
  /** The shard of every arrival that has a seat, including arrivals that already had one. */
  placed: Record<string, number>;
  unplaceable: Unplaceable[];
}

/** Name of shard `index` of the pool with namespace prefix `prefix`: `<prefix>-<index>`. */
export function shardNamespace(prefix: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 1) {
    throw new Error(`shard index ${index} is not a positive integer; shards are numbered from 1`);
  }
  return `${prefix}-${index}`;
}

const SHARD_SUFFIX = /^[1-9][0-9]*$/;

/** The shard index of `namespace` if it is `<prefix>-<n>` with n a positive integer without leading zeros. */
export function parseShardIndex(prefix: string, namespace: string): number | undefined {
  if (namespace.length <= prefix.length + 1 || !namespace.startsWith(prefix) || namespace[prefix.length] !== "-") {
    return undefined;
  }
  const suffix = namespace.slice(prefix.length + 1);
  if (!SHARD_SUFFIX.test(suffix)) return undefined;
  const index = Number(suffix);
  return Number.isSafeInteger(index) ? index : undefined;
}

/**
 * An exact ratio num/den with num >= 0; den 0 stands for +infinity (usage of a zero capacity).
 * `approx` is the same ratio as a float, compared first; the exact values decide near-ties.
 */
interface Ratio {
  num: bigint;
  den: bigint;
  approx: number;
}

interface Shard {
  index: number;
  members: Member[];
  count: number;
  cpu: bigint;
  memory: bigint;
  load: Ratio;
  /** In the search: has room for the smallest quota still seeking a seat. */
  open: boolean;
}

interface Dimension {
  name: "cpu" | "memory";
  capacity: bigint;
  written: QuantityValue;
}

interface FreeEntry {
  free: bigint;
  shard: Shard;
}

const ZERO: Ratio = { num: 0n, den: 1n, approx: 0 };
const INFINITE: Ratio = { num: 1n, den: 0n, approx: Infinity };

function ratio(used: bigint, capacity: bigint): Ratio {
  if (capacity > 0n) return { num: used, den: capacity, approx: Number(used) / Number(capacity) };
  return used > 0n ? INFINITE : ZERO;
}

/** Relative error of `approx` is a few ulps (two bigint→float roundings and a division). */
const APPROX_MARGIN = 1e-12;

function compareRatio(a: Ratio, b: Ratio): number {
  const x = a.approx;
  const y = b.approx;
  if (x !== y && Math.abs(x - y) > APPROX_MARGIN * Math.max(Math.abs(x), Math.abs(y))) return x < y ? -1 : 1;
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

function lessLoaded(a: Shard, b: Shard): boolean {
  const c = compareRatio(a.load, b.load);
  return c < 0 || (c === 0 && a.index < b.index);
}

function parseCapacity(capacity: ShardCapacity): { maxTenants: number; dimensions: Dimension[] } {
  const { maxTenants } = capacity;
  if (!Number.isSafeInteger(maxTenants) || maxTenants < 1) {
    throw new Error(
      `capacity.maxTenants ${maxTenants} is not a positive integer; set it to the most tenants one shard holds, e.g. 200`,
    );
  }
  const dimensions: Dimension[] = [];
  for (const name of ["cpu", "memory"] as const) {
    const written = capacity[name];
    if (written === undefined) continue;
    let value: bigint;
    try {
      value = parseQuantity(written);
    } catch (error) {
      throw new Error(`capacity.${name}: ${(error as Error).message}`, { cause: error });
    }
    if (value < 0n) throw new Error(`capacity.${name} ${written} is negative; a shard's capacity must be at least 0`);
    dimensions.push({ name, capacity: value, written });
  }
  return { maxTenants, dimensions };
}

/**
 * parseQuantity with a per-placement cache: a pool's tenants mostly share a handful of quota
 * values (the pool's tenantDefaults), and parsing dominated the cost of placing 100,000 tenants.
 */
class QuantityCache {
  readonly #values = new Map<QuantityValue, bigint | Error>();

  get(written: QuantityValue): bigint | Error {
    let value = this.#values.get(written);
    if (value === undefined) {
      try {
        value = parseQuantity(written);
      } catch (error) {
        value = error as Error;
      }
      this.#values.set(written, value);
    }
    return value;
  }

  /** Milli-values of a quota's cpu and memory, or the reason the quota is unusable (any key bad or negative). */
  arrival(quota: Quota): { ok: true; cpu: bigint; memory: bigint } | { ok: false; reason: string } {
    let cpu = 0n;
    let memory = 0n;
    for (const key of QUOTA_KEYS) {
      const written = quota[key];
      if (written === undefined) continue;
      const value = this.get(written);
      if (value instanceof Error) return { ok: false, reason: `quota.${key}: ${value.message}` };
      if (value < 0n) return { ok: false, reason: `quota.${key} ${written} is negative; a quota must be at least 0` };
      if (key === "cpu") cpu = value;
      else if (key === "memory") memory = value;
    }
    return { ok: true, cpu, memory };
  }

  /** A seated member's usage of one dimension; a bad value here is a caller bug, so it throws. */
  member(member: Member, shardIndex: number, name: "cpu" | "memory"): bigint {
    const written = member.quota[name];
    if (written === undefined) return 0n;
    const value = this.get(written);
    if (value instanceof Error) {
      throw new Error(`tenant ${member.tenantId} in shard ${shardIndex}: quota.${name}: ${value.message}`, { cause: value });
    }
    return value;
  }
}

/** An arrival whose quota is usable, with its cpu and memory in milli-units. */
interface Seeker {
  member: Member;
  cpu: bigint;
  memory: bigint;
}

/**
 * The largest free amount of one capped dimension among the open shards, to answer "no shard has
 * room" without a scan. Lazy: an entry is stale once its shard's free amount changed or it closed;
 * the heap is rebuilt when stale entries outnumber live ones.
 */
class LargestFree {
  #heap = LargestFree.#empty();
  readonly #dimension: Dimension;

  constructor(dimension: Dimension) {
    this.#dimension = dimension;
  }

  static #empty(): MinHeap<FreeEntry> {
    return new MinHeap<FreeEntry>((a, b) => a.free > b.free || (a.free === b.free && a.shard.index < b.shard.index));
  }

  free(shard: Shard): bigint {
    return this.#dimension.capacity - (this.#dimension.name === "cpu" ? shard.cpu : shard.memory);
  }

  /** Records the current free amount of `shard`, one of `openShards`. */
  track(shard: Shard, openShards: ReadonlySet<Shard>): void {
    if (this.#heap.size > 2 * openShards.size + 64) {
      this.#heap = LargestFree.#empty();
      for (const s of openShards) this.#heap.push({ free: this.free(s), shard: s });
    } else {
      this.#heap.push({ free: this.free(shard), shard });
    }
  }

  /** Whether some open shard has room for this much cpu or memory (whichever this dimension is). */
  anyHas(cpu: bigint, memory: bigint): boolean {
    const need = this.#dimension.name === "cpu" ? cpu : memory;
    for (let top = this.#heap.peek(); top; top = this.#heap.peek()) {
      if (top.shard.open && top.free === this.free(top.shard)) return top.free >= need;
      this.#heap.pop();
    }
    return false;
  }
}

/** Seats `arrivals` and removes `departures`; see the module comment for the rules. */
export function placeTenants(input: PlacementInput): PlacementResult {
  const { maxTenants, dimensions } = parseCapacity(input.capacity);
  const cpuCap = dimensions.find((d) => d.name === "cpu");
  const memoryCap = dimensions.find((d) => d.name === "memory");
  const maxTenantsBig = BigInt(maxTenants);
  const quantities = new QuantityCache();

  const computeLoad = (shard: Shard): Ratio => {
    let load = ratio(BigInt(shard.count), maxTenantsBig);
    if (cpuCap) {
      const r = ratio(shard.cpu, cpuCap.capacity);
      if (compareRatio(r, load) > 0) load = r;
    }
    if (memoryCap) {
      const r = ratio(shard.memory, memoryCap.capacity);
      if (compareRatio(r, load) > 0) load = r;
    }
    return load;
  };
  const fits = (shard: Shard, cpu: bigint, memory: bigint): boolean =>
    shard.count < maxTenants &&
    (!cpuCap || shard.cpu + cpu <= cpuCap.capacity) &&
    (!memoryCap || shard.memory + memory <= memoryCap.capacity);

  // Existing shards, minus departures.
  const departing = new Set(input.departures);
  const shards = new Map<number, Shard>();
  const seatOf = new Map<string, number>();
  for (const state of [...input.shards].sort((a, b) => a.index - b.index)) {
    const { index } = state;
    if (!Number.isSafeInteger(index) || index < 1) {
      throw new Error(`shard index ${index} is not a positive integer; shards are numbered from 1`);
    }
    if (shards.has(index)) throw new Error(`shard ${index} is listed twice; pass each shard once`);
    const members = state.members.filter((m) => !departing.has(m.tenantId));
    const shard: Shard = { index, members, count: members.length, cpu: 0n, memory: 0n, load: ZERO, open: false };
    for (const member of members) {
      if (cpuCap) shard.cpu += quantities.member(member, index, "cpu");
      if (memoryCap) shard.memory += quantities.member(member, index, "memory");
      if (!seatOf.has(member.tenantId)) seatOf.set(member.tenantId, index);
    }
    shard.load = computeLoad(shard);
    shards.set(index, shard);
  }

  // Refuse arrivals whose quota is unusable or larger than a whole shard; the rest seek a seat.
  // A tenant listed more than once among the arrivals: the first listing counts.
  const unplaceable: Unplaceable[] = [];
  const seekers: Seeker[] = [];
  const seen = new Set<string>();
  for (const member of input.arrivals) {
    const { tenantId } = member;
    if (seatOf.has(tenantId) || seen.has(tenantId)) continue;
    seen.add(tenantId);
    const parsed = quantities.arrival(member.quota);
    if (!parsed.ok) {
      unplaceable.push({ tenantId, reason: parsed.reason });
      continue;
    }
    const reason = tooBig(member, parsed, dimensions);
    if (reason !== undefined) unplaceable.push({ tenantId, reason });
    else seekers.push({ member, cpu: parsed.cpu, memory: parsed.memory });
  }
  // Componentwise minimum quota of seekers[i..]: a shard without room for it has room for no one
  // left, and room only shrinks during a run, so such a shard leaves the search for good.
  const n = seekers.length;
  const minCpu = new Array<bigint>(n + 1);
  const minMemory = new Array<bigint>(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    const seeker = seekers[i] as Seeker;
    const laterCpu = minCpu[i + 1];
    const laterMemory = minMemory[i + 1];
    minCpu[i] = laterCpu !== undefined && laterCpu < seeker.cpu ? laterCpu : seeker.cpu;
    minMemory[i] = laterMemory !== undefined && laterMemory < seeker.memory ? laterMemory : seeker.memory;
  }

  // Open shards (room for someone still seeking), least loaded first.
  // Invariant: shard.open ⇔ the shard is in openShards ⇔ it is in the heap `open` (once) or
  // popped during the current arrival's search.
  const open = new MinHeap<Shard>(lessLoaded);
  const openShards = new Set<Shard>();
  const largestFree = dimensions.map((d) => new LargestFree(d));
  const close = (shard: Shard): void => {
    shard.open = false;
    openShards.delete(shard);
  };
  /** (Re)enters a shard that is not in the heap into the search if it has room for seekers[from..]. */
  const track = (shard: Shard, from: number): void => {
    const minC = minCpu[from];
    const minM = minMemory[from];
    if (minC === undefined || minM === undefined || !fits(shard, minC, minM)) return;
    shard.open = true;
    openShards.add(shard);
    open.push(shard);
    for (const l of largestFree) l.track(shard, openShards);
  };
  for (const shard of shards.values()) track(shard, 0);

  let nextIndex = 1;
  const skipped: Shard[] = [];
  for (let i = 0; i < n; i++) {
    const { member, cpu, memory } = seekers[i] as Seeker;
    let target: Shard | undefined;
    if (largestFree.every((l) => l.anyHas(cpu, memory))) {
      for (let shard = open.pop(); shard; shard = open.pop()) {
        if (fits(shard, cpu, memory)) {
          target = shard;
          break;
        }
        if (fits(shard, minCpu[i] as bigint, minMemory[i] as bigint)) skipped.push(shard);
        else close(shard);
      }
      for (const shard of skipped) open.push(shard);
      skipped.length = 0;
    }
    if (!target) {
      while (shards.has(nextIndex)) nextIndex++;
      target = { index: nextIndex, members: [], count: 0, cpu: 0n, memory: 0n, load: ZERO, open: false };
      shards.set(target.index, target);
    }

    target.members.push(member);
    target.count++;
    target.cpu += cpu;
    target.memory += memory;
    target.load = computeLoad(target);
    close(target); // popped from the heap above, or new
    track(target, i + 1);
    seatOf.set(member.tenantId, target.index);
  }

  // Built once at the end: a Map → Object.fromEntries round trip cost more than the placing itself.
  const placed: Record<string, number> = {};
  for (const { tenantId } of input.arrivals) {
    const seat = seatOf.get(tenantId);
    if (seat === undefined) continue;
    if (tenantId === "__proto__") {
      Object.defineProperty(placed, tenantId, { value: seat, enumerable: true, writable: true, configurable: true });
    } else {
      placed[tenantId] = seat;
    }
  }

  return {
    shards: [...shards.values()]
      .sort((a, b) => a.index - b.index)
      .map((s) => ({ index: s.index, namespace: shardNamespace(input.prefix, s.index), members: s.members })),
    placed,
    unplaceable,
  };
}

/** Why a tenant can never fit a shard, naming each dimension and both values; undefined when it can. */
function tooBig(member: Member, need: { cpu: bigint; memory: bigint }, dimensions: readonly Dimension[]): string | undefined {
  const problems: string[] = [];
  for (const dimension of dimensions) {
    if (need[dimension.name] > dimension.capacity) {
      problems.push(
        `${dimension.name} quota ${member.quota[dimension.name]} exceeds the shard capacity ${dimension.written} (spec.capacity.${dimension.name})`,
      );
    }
  }
  return problems.length > 0
    ? `${problems.join("; ")}: lower the tenant's quota or raise the pool's per-shard capacity`
    : undefined;
}
