import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock, settle, type Clock } from "../../../operator/src/kube/clock.ts";
import { ApiError, type KubeClient, type RequestSpec } from "../../../operator/src/kube/client.ts";
import { formatMicroTime, kubeLeaseStore, parseMicroTime, runLeaderElection, type LeaderElector, type LeaseRecord, type LeaseStore } from "../../../operator/src/kube/leaderElection.ts";

/** An in-memory Lease with resourceVersions, reached through per-replica connections that can fail or lag. */
class FakeLeaseServer {
  lease: { record: LeaseRecord; rv: number } | undefined;
  private rv = 0;
  constructor(private readonly clock: FakeClock) {}

  connect(link: { latencyMs?: () => number; down?: () => boolean; hang?: () => boolean } = {}): LeaseStore {
    const hop = async (): Promise<void> => {
      if (link.hang?.()) await new Promise(() => undefined);
      const ms = link.latencyMs?.() ?? 0;
      if (ms > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, ms));
      if (link.down?.()) throw new Error("connect ECONNREFUSED");
    };
    const answer = () => (this.lease ? { record: { ...this.lease.record }, resourceVersion: String(this.lease.rv) } : undefined);
    return {
      get: async () => {
        await hop();
        const result = answer();
        await hop();
        return result;
      },
      create: async (record) => {
        await hop();
        if (this.lease) return undefined;
        this.lease = { record: { ...record }, rv: ++this.rv };
        const result = answer();
        await hop();
        return result;
      },
      update: async (resourceVersion, record) => {
        await hop();
        if (!this.lease || String(this.lease.rv) !== resourceVersion) return undefined;
        this.lease = { record: { ...record }, rv: ++this.rv };
        const result = answer();
        await hop();
        return result;
      },
    };
  }
}

function elector(clock: FakeClock, leases: LeaseStore, identity: string, events: string[] = []) {
  const signals: AbortSignal[] = [];
  const le: LeaderElector = runLeaderElection(
    { namespace: "ns", name: "lease", identity, clock, leases, random: () => 0 },
    {
      onStartedLeading: (signal) => {
        signals.push(signal);
        events.push(`${identity} started@${clock.now()}`);
      },
      onStoppedLeading: () => events.push(`${identity} stopped@${clock.now()}`),
    },
  );
  return { le, signals, events };
}

describe("leader election", () => {
  it("creates an absent Lease and leads", async () => {
    const clock = new FakeClock(1_000_000);
    const server = new FakeLeaseServer(clock);
    const a = elector(clock, server.connect(), "a");
    await settle();
    expect(a.le.isLeader()).toBe(true);
    expect(a.events).toEqual(["a started@1000000"]);
    expect(a.signals[0]?.aborted).toBe(false);
    expect(server.lease?.record).toEqual({ holderIdentity: "a", leaseDurationSeconds: 15, acquireTimeMs: 1_000_000, renewTimeMs: 1_000_000, leaseTransitions: 0 });
  });

  it("renews every retryPeriod, keeping acquireTime and the transition count", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    const a = elector(clock, server.connect(), "a");
    await clock.advanceAsync(2000);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "a", acquireTimeMs: 0, renewTimeMs: 2000, leaseTransitions: 0 });
    await clock.advanceAsync(60_000);
    expect(server.lease?.record).toMatchObject({ acquireTimeMs: 0, renewTimeMs: 62_000, leaseTransitions: 0 });
    expect(a.events).toEqual(["a started@0"]);
  });

  it("waits while another replica holds the Lease, and takes over once it expired", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    const a = elector(clock, server.connect(), "a");
    await settle();
    const b = elector(clock, server.connect(), "b");
    await clock.advanceAsync(30_000);
    expect(b.le.isLeader()).toBe(false);
    a.le.abandon();
    // a renewed last at 30 000: its Lease runs until 45 000; b retries every 2 s and sees it expired at 46 000.
    await clock.advanceAsync(15_000);
    expect(b.le.isLeader()).toBe(false);
    await clock.advanceAsync(1_000);
    expect(b.le.isLeader()).toBe(true);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "b", acquireTimeMs: 46_000, renewTimeMs: 46_000, leaseTransitions: 1 });
    expect(a.events).toEqual(["a started@0"]);
  });

  it("on stop() releases the Lease so the next replica takes over at its next retry", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    const a = elector(clock, server.connect(), "a");
    await settle();
    const b = elector(clock, server.connect(), "b");
    await clock.advanceAsync(10_500);
    await a.le.stop();
    expect(a.le.isLeader()).toBe(false);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 0 });
    // The released Lease (1 s from 10 500) is free once b retries at 12 000.
    await clock.advanceAsync(1_500);
    expect(b.le.isLeader()).toBe(true);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 1, acquireTimeMs: 12_000 });
    // stop() is not a loss: onStoppedLeading is only for leadership lost involuntarily.
    expect(a.events).toEqual(["a started@0"]);
  });

  it("keeps renewing while onStartedLeading's work winds down, then releases", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    let finishWork: () => void = () => undefined;
    const le = runLeaderElection(
      { namespace: "ns", name: "lease", identity: "a", clock, leases: server.connect() },
      { onStartedLeading: (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => (finishWork = resolve))), onStoppedLeading: () => undefined },
    );
    await settle();
    let stopped = false;
    const stopping = le.stop().then(() => (stopped = true));
    await clock.advanceAsync(20_000);
    expect(stopped).toBe(false);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "a", renewTimeMs: 20_000 });
    finishWork();
    await stopping;
    expect(server.lease?.record).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
  });

  it("gives up leading when no renewal succeeded for renewDeadline, and says so once", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    let down = false;
    const a = elector(clock, server.connect({ down: () => down }), "a");
    await clock.advanceAsync(4000);
    down = true;
    // The last successful renewal started at 4 000: leadership ends at 14 000, before the Lease
    // (renewed at 4 000 for 15 s) could be taken at 19 000.
    await clock.advanceAsync(9_999);
    expect(a.le.isLeader()).toBe(true);
    await clock.advanceAsync(1);
    expect(a.le.isLeader()).toBe(false);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.events).toEqual(["a started@0", "a stopped@14000"]);
    down = false;
    await clock.advanceAsync(60_000);
    expect(a.events).toHaveLength(2);
    // A lost elector neither renews nor releases: the Lease simply expires.
    expect(server.lease?.record).toMatchObject({ holderIdentity: "a", renewTimeMs: 4000 });
  });

  it("gives up at the deadline even when a renewal hangs", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    let hang = false;
    const a = elector(clock, server.connect({ hang: () => hang }), "a");
    await settle();
    hang = true;
    await clock.advanceAsync(10_000);
    expect(a.le.isLeader()).toBe(false);
    expect(a.events).toEqual(["a started@0", "a stopped@10000"]);
  });

  it("stops leading at once when it finds the Lease held by someone else", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    const a = elector(clock, server.connect(), "a");
    await clock.advanceAsync(1000);
    server.lease = { record: { holderIdentity: "intruder", renewTimeMs: 1000, leaseDurationSeconds: 15 }, rv: 999 };
    await clock.advanceAsync(1000);
    expect(a.le.isLeader()).toBe(false);
    expect(a.events).toEqual(["a started@0", "a stopped@2000"]);
  });

  it("re-takes a Lease that still names it (a restart with the same identity) without counting a transition", async () => {
    const clock = new FakeClock(100_000);
    const server = new FakeLeaseServer(clock);
    server.lease = { record: { holderIdentity: "a", renewTimeMs: 99_000, acquireTimeMs: 50_000, leaseDurationSeconds: 15, leaseTransitions: 4 }, rv: 7 };
    const a = elector(clock, server.connect(), "a");
    await settle();
    expect(a.le.isLeader()).toBe(true);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "a", acquireTimeMs: 50_000, renewTimeMs: 100_000, leaseTransitions: 4 });
  });

  it("judges expiry by the Lease's own leaseDurationSeconds, from when it first saw the record, not by its renewTime", async () => {
    const clock = new FakeClock(100_000);
    const server = new FakeLeaseServer(clock);
    server.lease = { record: { holderIdentity: "old", renewTimeMs: 90_000, leaseDurationSeconds: 60, leaseTransitions: 2 }, rv: 1 };
    const b = elector(clock, server.connect(), "b");
    // First seen at 100 000, so valid until 160 000 by b's clock (strictly after counts as expired),
    // not 150 000 as its renewTime says; b retries every 2 s from 100 000.
    await clock.advanceAsync(60_000);
    expect(b.le.isLeader()).toBe(false);
    await clock.advanceAsync(2_000);
    expect(b.le.isLeader()).toBe(true);
    expect(server.lease?.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 3 });
  });

  describe("with the replicas' clocks hours apart", () => {
    const HOURS = 3 * 3_600_000;
    /** `base`'s timers, read `offsetMs` off: what a replica on a host whose clock is wrong sees. */
    const skewed = (base: FakeClock, offsetMs: number): Clock => ({
      now: () => base.now() + offsetMs,
      setTimeout: (fn, ms) => base.setTimeout(fn, ms),
      clearTimeout: (handle) => base.clearTimeout(handle),
    });
    const replica = (clock: Clock, leases: LeaseStore, identity: string) =>
      runLeaderElection({ namespace: "ns", name: "lease", identity, clock, leases, random: () => 0 }, { onStartedLeading: () => undefined, onStoppedLeading: () => undefined });

    it.each([
      ["ahead of", HOURS],
      ["behind", -HOURS],
    ])("a holder whose clock is hours %s the candidate's keeps the Lease while it renews, and loses it one leaseDuration after it dies", async (_, holderOffset) => {
      const base = new FakeClock(1_000_000_000);
      const server = new FakeLeaseServer(base);
      const holder = replica(skewed(base, holderOffset), server.connect(), "holder");
      await settle();
      expect(holder.isLeader()).toBe(true);
      const candidate = replica(base, server.connect(), "candidate");
      // Its renewTime reads as hours in the future or the past to the candidate: neither matters.
      await base.advanceAsync(120_000);
      expect(holder.isLeader()).toBe(true);
      expect(candidate.isLeader()).toBe(false);
      expect(server.lease?.record.holderIdentity).toBe("holder");
      holder.abandon();
      // The last renewal the candidate saw was at most a retry period ago; the Lease is 15 s long.
      await base.advanceAsync(13_000);
      expect(candidate.isLeader()).toBe(false);
      await base.advanceAsync(6_000);
      expect(candidate.isLeader()).toBe(true);
      expect(server.lease?.record.holderIdentity).toBe("candidate");
      candidate.abandon();
    });

    it("a candidate whose clock is hours ahead does not take a live Lease early, nor one behind wait forever for a dead one", async () => {
      for (const candidateOffset of [HOURS, -HOURS]) {
        const base = new FakeClock(1_000_000_000);
        const server = new FakeLeaseServer(base);
        const holder = replica(base, server.connect(), "holder");
        await settle();
        const candidate = replica(skewed(base, candidateOffset), server.connect(), "candidate");
        await base.advanceAsync(60_000);
        expect(candidate.isLeader()).toBe(false);
        expect(holder.isLeader()).toBe(true);
        holder.abandon();
        await base.advanceAsync(19_000);
        expect(candidate.isLeader()).toBe(true);
        candidate.abandon();
      }
    });
  });

  it("lets exactly one of several replicas that start together lead", async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer(clock);
    const replicas = ["a", "b", "c", "d"].map((id) => elector(clock, server.connect({ latencyMs: () => 5 }), id));
    await clock.advanceAsync(10_000);
    expect(replicas.filter((r) => r.le.isLeader())).toHaveLength(1);
  });

  it("never lets two replicas lead at once, whatever fails when", async () => {
    type Op = { advance: number } | { abandon: number } | { stop: number } | { partition: number; forMs: number } | { restart: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ advance: fc.integer({ min: 1, max: 20_000 }) }) },
      fc.record({ abandon: fc.nat(2) }),
      fc.record({ stop: fc.nat(2) }),
      fc.record({ partition: fc.nat(2), forMs: fc.integer({ min: 100, max: 30_000 }) }),
      fc.record({ restart: fc.nat(2) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), fc.integer({ min: 0, max: 400 }), async (ops, maxLatency) => {
        const clock = new FakeClock();
        const server = new FakeLeaseServer(clock);
        const partitionedUntil = [0, 0, 0];
        let violation: string | undefined;
        let generation = 0;
        const replicas: LeaderElector[] = [];
        const dead = new Set<LeaderElector>();
        const check = (when: string): void => {
          if (replicas.filter((r) => r.isLeader()).length > 1) violation ??= `two leaders ${when} at ${clock.now()}`;
        };
        const start = (i: number): LeaderElector => {
          const le = runLeaderElection(
            { namespace: "ns", name: "lease", identity: `r${i}-${generation++}`, clock, random: () => 0.5,
              leases: server.connect({ latencyMs: () => (clock.now() % 7) * (maxLatency / 7), down: () => clock.now() < (partitionedUntil[i] ?? 0) }) },
            { onStartedLeading: () => check("on start"), onStoppedLeading: () => dead.add(le) },
          );
          return le;
        };
        const kill = (i: number): void => {
          const le = replicas[i] as LeaderElector;
          le.abandon();
          dead.add(le);
        };
        for (let i = 0; i < 3; i++) replicas.push(start(i));
        const monitor = (): void => {
          check("sampled");
          clock.setTimeout(monitor, 50);
        };
        monitor();
        for (const step of ops) {
          if ("advance" in step) await clock.advanceAsync(step.advance);
          else if ("abandon" in step) kill(step.abandon);
          else if ("stop" in step) {
            dead.add(replicas[step.stop] as LeaderElector);
            let stopped = false;
            const stopping = replicas[step.stop]?.stop().finally(() => (stopped = true));
            // A stop during a partition waits for its release call to fail or time out: keep the
            // fake clock moving until it returns (a fixed 2 s could leave it waiting forever).
            for (let waited = 0; waited < 120 && !stopped; waited++) await clock.advanceAsync(1000);
            await stopping;
          } else if ("partition" in step) partitionedUntil[step.partition] = clock.now() + step.forMs;
          else {
            kill(step.restart);
            replicas[step.restart] = start(step.restart);
          }
          check("after a step");
        }
        expect(violation).toBeUndefined();
        // Liveness: once the network heals, a running replica (if any is left) leads within a lease or two.
        for (let i = 0; i < 3; i++) partitionedUntil[i] = 0;
        await clock.advanceAsync(40_000);
        expect(violation).toBeUndefined();
        const alive = replicas.filter((r) => !dead.has(r));
        expect(replicas.filter((r) => r.isLeader())).toHaveLength(alive.length > 0 ? 1 : 0);
        for (const replica of replicas) replica.abandon();
      }),
      { numRuns: 150 },
    );
    // 150 simulated histories, each settling real macrotasks: seconds on a loaded 2-core machine.
  }, 60_000);
});

describe("parseMicroTime", () => {
  it("reads the API server's six-digit fraction, a Date, and nothing else", () => {
    expect(parseMicroTime("2026-11-23T19:18:57.844000Z")).toBe(Date.UTC(2026, 10, 23, 19, 18, 57, 844));
    expect(parseMicroTime(new Date(5))).toBe(5);
    expect(parseMicroTime(undefined)).toBeUndefined();
    expect(parseMicroTime("")).toBeUndefined();
    expect(parseMicroTime("yesterday")).toBeUndefined();
  });
});

describe("formatMicroTime", () => {
  it("writes RFC 3339 with exactly six fractional digits, which parseMicroTime reads back", () => {
    expect(formatMicroTime(Date.UTC(2026, 10, 24))).toBe("2026-11-24T00:00:00.000000Z");
    expect(formatMicroTime(Date.UTC(2026, 10, 23, 19, 18, 57, 844))).toBe("2026-11-23T19:18:57.844000Z");
    expect(parseMicroTime(formatMicroTime(1_764_000_000_123))).toBe(1_764_000_000_123);
  });
});

describe("kubeLeaseStore", () => {
  /** A KubeClient that records requests and answers from `answer`. */
  function fakeClient(answer: (spec: RequestSpec) => unknown): { client: KubeClient; sent: RequestSpec[] } {
    const sent: RequestSpec[] = [];
    const client: KubeClient = {
      counts: {},
      request: async <T>(spec: RequestSpec): Promise<T> => {
        sent.push(structuredClone(spec));
        const result = answer(spec);
        if (result instanceof ApiError) throw result;
        return result as T;
      },
    };
    return { client, sent };
  }
  const status = (code: number, reason: string) => new ApiError(code, reason, `${code} ${reason}`, { kind: "Status", code, reason, message: reason });
  const path = "/apis/coordination.k8s.io/v1/namespaces/landlord-system/leases/landlord-leader";

  it("GETs, POSTs and PUTs the Lease as JSON with MicroTimes, keeping fields it does not manage", async () => {
    const stored = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "landlord-leader", namespace: "landlord-system", resourceVersion: "7", labels: { app: "landlord" }, managedFields: [{ manager: "x" }] },
      spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime: "2026-11-24T00:00:00.000000Z", leaseTransitions: 2, strategy: "OldestEmulationVersion" },
    };
    const { client, sent } = fakeClient((spec) => (spec.method === "GET" ? stored : { ...(spec.body as object), metadata: { ...(spec.body as typeof stored).metadata, resourceVersion: "8" } }));
    const leases = kubeLeaseStore(client, "landlord-system", "landlord-leader");
    expect(await leases.get()).toEqual({
      resourceVersion: "7",
      record: { holderIdentity: "a", leaseDurationSeconds: 15, renewTimeMs: Date.UTC(2026, 10, 24), leaseTransitions: 2 },
    });
    const now = Date.UTC(2026, 10, 24, 0, 0, 5, 250);
    const updated = await leases.update("7", { holderIdentity: "b", leaseDurationSeconds: 15, acquireTimeMs: now, renewTimeMs: now, leaseTransitions: 3 });
    expect(updated?.resourceVersion).toBe("8");
    expect(sent[1]).toMatchObject({ method: "PUT", path });
    expect(sent[1]?.body).toEqual({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "landlord-leader", namespace: "landlord-system", resourceVersion: "7", labels: { app: "landlord" } },
      spec: { holderIdentity: "b", leaseDurationSeconds: 15, acquireTime: "2026-11-24T00:00:05.250000Z", renewTime: "2026-11-24T00:00:05.250000Z", leaseTransitions: 3, strategy: "OldestEmulationVersion" },
    });

    await leases.create({ holderIdentity: "c", leaseDurationSeconds: 15, acquireTimeMs: now, renewTimeMs: now, leaseTransitions: 0 });
    expect(sent[2]).toMatchObject({ method: "POST", path: "/apis/coordination.k8s.io/v1/namespaces/landlord-system/leases" });
    expect((sent[2]?.body as { metadata: unknown }).metadata).toEqual({ name: "landlord-leader", namespace: "landlord-system" });
  });

  it("an absent Lease reads as undefined, a 409 on create or update as undefined; other errors throw", async () => {
    const answers: Record<string, ApiError> = { GET: status(404, "NotFound"), POST: status(409, "AlreadyExists"), PUT: status(409, "Conflict") };
    const leases = kubeLeaseStore(fakeClient((spec) => answers[spec.method]).client, "ns", "lease");
    expect(await leases.get()).toBeUndefined();
    expect(await leases.create({ holderIdentity: "a" })).toBeUndefined();
    expect(await leases.update("1", { holderIdentity: "a" })).toBeUndefined();
    const failing = kubeLeaseStore(fakeClient(() => status(403, "Forbidden")).client, "ns", "lease");
    await expect(failing.get()).rejects.toMatchObject({ status: 403 });
    await expect(failing.update("1", {})).rejects.toMatchObject({ status: 403 });
  });
});
