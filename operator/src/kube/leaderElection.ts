import { ApiError, type KubeClient, type KubeObject } from "./client.ts";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";

/** The Lease fields leader election reads and writes, times as epoch milliseconds. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTimeMs?: number;
  renewTimeMs?: number;
  leaseTransitions?: number;
}

export interface ObservedLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** One Lease object with optimistic concurrency; create/update resolve undefined on a 409 (someone else won). */
export interface LeaseStore {
  get(): Promise<ObservedLease | undefined>;
  create(record: LeaseRecord): Promise<ObservedLease | undefined>;
  update(resourceVersion: string, record: LeaseRecord): Promise<ObservedLease | undefined>;
}

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export interface LeaderElectionOptions {
  /** The API server, for the Lease (unless `leases` replaces it). A client of its own, ideally: renewals must not queue behind other requests. */
  client?: KubeClient;
  namespace: string;
  name: string;
  /** Unique per replica (hostname + random suffix): two replicas with one identity both lead. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  log?: Log;
  /** Jitter source for candidates' retries, so replicas that start together do not collide forever. */
  random?: () => number;
  /** Replaces the API-server Lease (unit tests). */
  leases?: LeaseStore;
}

export interface LeaderCallbacks {
  /**
   * This replica now leads; `signal` aborts when it stops leading. A returned promise is awaited
   * by stop() before the Lease is released, so work can finish before another replica starts.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership was lost (not renewed within renewDeadline, or taken); not called by stop(). */
  onStoppedLeading(): void;
}

export interface LeaderElector {
  /** Stops campaigning; if leading, aborts the signal, waits for onStartedLeading's work, releases the Lease. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /**
   * Until when (epoch ms, this replica's clock) it may still act as the leader: the start of its last
   * successful renewal plus renewDeadline; 0 when not leading. Unlike isLeader(), which only changes
   * when the deadline timer runs, this holds when the process was stalled (CPU starvation, a GC
   * pause, SIGSTOP) past its deadline: timers fire late then, and a write made before they do would
   * race the replica that meanwhile took over. Check it right before each write.
   */
  validUntil(): number;
  /** Test hook: behave like a crashed process — stop everything at once, never release the Lease. */
  abandon(): void;
}

const DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

type Attempt = { outcome: "acquired" | "renewed" } | { outcome: "held"; holder: string } | { outcome: "failed"; reason: string };

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: acquire
 * a Lease that is absent, released, expired or already ours; renew it every retryPeriod; give up
 * when no renewal succeeded for renewDeadline. renewDeadline < leaseDuration keeps the old leader
 * stopping before anyone else may start.
 *
 * As in client-go, a Lease held by another replica expires by this replica's own clock: when the
 * record has not changed for leaseDurationSeconds since this replica last saw it change. The
 * renewTime in it was written by the holder's clock, which may be hours off this one; trusting it
 * would let a replica whose clock runs ahead steal a live Lease, and keep one whose clock runs
 * behind from ever taking over a dead one. Only durations on one clock are compared, so skew does
 * not matter (clock rates must agree, which they do to far better than the renewDeadline gap).
 * The price: a replica that starts while the leader is long dead waits one leaseDuration.
 */
export function runLeaderElection(options: LeaderElectionOptions, callbacks: LeaderCallbacks): LeaderElector {
  const clock = options.clock ?? systemClock;
  const leaseDurationMs = options.leaseDurationMs ?? DEFAULTS.leaseDurationMs;
  const renewDeadlineMs = options.renewDeadlineMs ?? DEFAULTS.renewDeadlineMs;
  const retryPeriodMs = options.retryPeriodMs ?? DEFAULTS.retryPeriodMs;
  // The safety argument above needs these; config.ts checks them for users, this for callers.
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error(`leader election needs retryPeriod < renewDeadline < leaseDuration, got ${retryPeriodMs} ms, ${renewDeadlineMs} ms, ${leaseDurationMs} ms`);
  }
  const random = options.random ?? Math.random;
  const { identity, log } = options;
  const leases: LeaseStore = options.leases ?? (options.client ? kubeLeaseStore(options.client, options.namespace, options.name) : missingClient());
  const where = { lease: `${options.namespace}/${options.name}`, identity };

  let state: "candidate" | "leader" | "stopped" = "candidate";
  // Bumped whenever the elector changes course, so a late answer of an abandoned attempt is ignored.
  let generation = 0;
  let next: TimerHandle | undefined;
  let deadline: TimerHandle | undefined;
  let inFlight: Promise<unknown> | undefined;
  let leading: AbortController | undefined;
  let work: Promise<void> | undefined;
  let lastHolder: string | undefined;
  let stopping: Promise<void> | undefined;
  let validUntil = 0;
  // The Lease record as last seen, and when (this replica's clock) it was first seen that way.
  let observedRecord: string | undefined;
  let observedAt = 0;

  /** Notes the record read or written; a record that changed restarts its lease on our clock. */
  function observe(record: LeaseRecord): void {
    const key = JSON.stringify([record.holderIdentity ?? "", record.leaseDurationSeconds, record.acquireTimeMs, record.renewTimeMs, record.leaseTransitions]);
    if (key === observedRecord) return;
    observedRecord = key;
    observedAt = clock.now();
  }

  async function tryAcquireOrRenew(now: number): Promise<Attempt> {
    const observed = await leases.get();
    const fresh: LeaseRecord = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000), acquireTimeMs: now, renewTimeMs: now };
    if (!observed) {
      const created = await leases.create({ ...fresh, leaseTransitions: 0 });
      if (created) observe(created.record);
      return created ? { outcome: "acquired" } : { outcome: "failed", reason: "another replica created the Lease first" };
    }
    const old = observed.record;
    observe(old);
    const holder = old.holderIdentity ?? "";
    noteHolder(holder);
    if (holder !== "" && holder !== identity && !expired(old)) return { outcome: "held", holder };
    const ours = holder === identity;
    // A transition is a change of holder: renewing (or re-taking after our own restart) is not one.
    const record: LeaseRecord = ours
      ? { ...fresh, acquireTimeMs: old.acquireTimeMs ?? now, leaseTransitions: old.leaseTransitions ?? 0 }
      : { ...fresh, leaseTransitions: (old.leaseTransitions ?? 0) + 1 };
    const written = await leases.update(observed.resourceVersion, record);
    if (!written) return { outcome: "failed", reason: "the Lease changed while we wrote it (409)" };
    observe(written.record);
    return { outcome: ours && state === "leader" ? "renewed" : "acquired" };
  }

  /** Whether the record, unchanged since observedAt, has outlived its leaseDurationSeconds by our clock. */
  function expired(record: LeaseRecord): boolean {
    return observedAt + (record.leaseDurationSeconds ?? Math.ceil(leaseDurationMs / 1000)) * 1000 < clock.now();
  }

  function noteHolder(holder: string): void {
    if (holder === lastHolder) return;
    lastHolder = holder;
    if (holder && holder !== identity) log?.info({ ...where, leader: holder }, "Observed a new leader");
  }

  function attempt(): void {
    const mine = generation;
    const started = clock.now();
    // A hung request must not stall the elector: after renewDeadline the attempt counts as failed
    // (its late answer is ignored) and the next one starts.
    const request = withTimeout(tryAcquireOrRenew(started), renewDeadlineMs, clock);
    inFlight = request;
    void request.then((result) => {
      if (mine !== generation) return;
      inFlight = undefined;
      handle(result, started);
    });
  }

  function handle(result: Attempt, started: number): void {
    if (result.outcome === "acquired" || result.outcome === "renewed") {
      validUntil = started + renewDeadlineMs;
      if (state === "candidate") becomeLeader();
      // Measured from when the attempt started: the renewTime written is that moment, so the
      // leader stops believing before anyone reading the Lease may consider it expired.
      armDeadline(started + renewDeadlineMs - clock.now());
      schedule(retryPeriodMs);
      return;
    }
    if (state === "leader" && result.outcome === "held") {
      lose(`the Lease is held by ${result.holder}`);
      return;
    }
    if (result.outcome === "failed") log?.warn({ ...where, reason: result.reason }, state === "leader" ? "Could not renew the leader Lease" : "Could not acquire the leader Lease");
    schedule(state === "leader" ? retryPeriodMs : retryPeriodMs * (1 + 0.2 * random()));
  }

  function becomeLeader(): void {
    state = "leader";
    lastHolder = identity;
    leading = new AbortController();
    log?.info(where, "Acquired the leader Lease");
    try {
      work = Promise.resolve(callbacks.onStartedLeading(leading.signal)).catch((error: unknown) => {
        log?.warn({ ...where, err: String(error) }, "onStartedLeading failed");
      });
    } catch (error) {
      log?.warn({ ...where, err: String(error) }, "onStartedLeading failed");
    }
  }

  function lose(reason: string): void {
    log?.warn({ ...where, reason }, "Lost the leader Lease");
    halt();
    try {
      callbacks.onStoppedLeading();
    } catch (error) {
      log?.warn({ ...where, err: String(error) }, "onStoppedLeading failed");
    }
  }

  /** Stops all timers and attempts; aborts the leading signal. Returns whether we were leading. */
  function halt(): boolean {
    const wasLeader = state === "leader";
    state = "stopped";
    validUntil = 0;
    generation++;
    if (next) clock.clearTimeout(next);
    if (deadline) clock.clearTimeout(deadline);
    next = deadline = undefined;
    leading?.abort(new Error("stopped leading"));
    return wasLeader;
  }

  function schedule(ms: number): void {
    next = clock.setTimeout(attempt, ms);
  }

  function armDeadline(ms: number): void {
    if (deadline) clock.clearTimeout(deadline);
    deadline = clock.setTimeout(() => lose(`no renewal succeeded within ${renewDeadlineMs} ms`), Math.max(ms, 0));
  }

  async function release(): Promise<void> {
    try {
      const observed = await leases.get();
      if (!observed || observed.record.holderIdentity !== identity) return;
      // What controller-runtime's ReleaseOnCancel writes: no holder and a 1 s lease, so the next
      // candidate takes over at its next retry instead of waiting out the full lease duration.
      const now = clock.now();
      const released = await leases.update(observed.resourceVersion, {
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTimeMs: now,
        renewTimeMs: now,
        leaseTransitions: observed.record.leaseTransitions ?? 0,
      });
      if (released) log?.info(where, "Released the leader Lease");
      else log?.warn(where, "Could not release the leader Lease: it changed meanwhile (409)");
    } catch (error) {
      log?.warn({ ...where, err: String(error) }, "Could not release the leader Lease; it expires by itself");
    }
  }

  attempt();

  return {
    isLeader: () => state === "leader",
    validUntil: () => (state === "leader" ? validUntil : 0),
    abandon() {
      halt();
      stopping ??= Promise.resolve();
    },
    stop() {
      stopping ??= (async () => {
        if (state === "leader") {
          // Keep renewing while the work winds down, so no other replica starts before it ended.
          leading?.abort(new Error("leader election stopped"));
          await work;
        }
        const pending = inFlight;
        const wasLeader = halt();
        // An attempt still on the wire may yet acquire or renew: let it land, then release.
        await pending;
        if (wasLeader || pending) await release();
      })();
      return stopping;
    },
  };
}

function missingClient(): never {
  throw new Error("leader election needs a client (or a lease store)");
}

function withTimeout(promise: Promise<Attempt>, ms: number, clock: Clock): Promise<Attempt> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve({ outcome: "failed", reason: `no answer within ${ms} ms` }), ms);
    promise.then(
      (value) => resolve(value),
      (error: unknown) => resolve({ outcome: "failed", reason: reasonOf(error) }),
    ).finally(() => clock.clearTimeout(timer));
  });
}

function reasonOf(error: unknown): string {
  if (error instanceof ApiError) return `HTTP ${error.status}: ${(error.body as { message?: string } | undefined)?.message ?? error.message}`;
  return error instanceof Error ? error.message : String(error);
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  [field: string]: unknown;
}

type Lease = KubeObject & { spec?: LeaseSpec };

/**
 * A MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. A Date's
 * JSON (milliseconds, ".844Z") is rejected with 400 "cannot parse \".844Z\" as \".000000\"".
 */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The Lease on the API server: GET, POST and PUT of coordination.k8s.io/v1 leases as plain JSON. */
export function kubeLeaseStore(client: KubeClient, namespace: string, name: string): LeaseStore {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  // The last Lease read, so an update keeps fields this module does not manage (labels, strategy).
  let last: Lease | undefined;

  const observe = (lease: Lease): ObservedLease => {
    last = lease;
    const spec = lease.spec ?? {};
    return {
      resourceVersion: lease.metadata.resourceVersion ?? "",
      record: {
        ...(spec.holderIdentity !== undefined ? { holderIdentity: spec.holderIdentity } : {}),
        ...(spec.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: spec.leaseDurationSeconds } : {}),
        ...(spec.leaseTransitions !== undefined ? { leaseTransitions: spec.leaseTransitions } : {}),
        ...optionalTime("acquireTimeMs", spec.acquireTime),
        ...optionalTime("renewTimeMs", spec.renewTime),
      },
    };
  };
  const toSpec = (record: LeaseRecord, base: LeaseSpec = {}): LeaseSpec => ({
    ...base,
    holderIdentity: record.holderIdentity ?? "",
    leaseDurationSeconds: record.leaseDurationSeconds ?? 1,
    leaseTransitions: record.leaseTransitions ?? 0,
    ...(record.acquireTimeMs !== undefined ? { acquireTime: formatMicroTime(record.acquireTimeMs) } : {}),
    ...(record.renewTimeMs !== undefined ? { renewTime: formatMicroTime(record.renewTimeMs) } : {}),
  });
  const conflictAsUndefined = (error: unknown): undefined => {
    if (error instanceof ApiError && error.conflict) return undefined;
    throw error;
  };

  return {
    async get() {
      try {
        return observe(await client.request<Lease>({ method: "GET", path }));
      } catch (error) {
        if (error instanceof ApiError && error.notFound) return undefined;
        throw error;
      }
    },
    async create(record) {
      const body: Lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec: toSpec(record) };
      return client.request<Lease>({ method: "POST", path: collection, body }).then(observe, conflictAsUndefined);
    },
    async update(resourceVersion, record) {
      const base = last?.metadata.resourceVersion === resourceVersion ? last : undefined;
      // managedFields are the server's bookkeeping; sending them back would overwrite its record.
      const { managedFields: _managedFields, ...metadata } = base?.metadata ?? { name };
      const body: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { ...metadata, name, namespace, resourceVersion },
        spec: toSpec(record, base?.spec),
      };
      return client.request<Lease>({ method: "PUT", path, body }).then(observe, conflictAsUndefined);
    },
  };
}

function optionalTime<K extends string>(key: K, value: unknown): { [P in K]?: number } {
  const ms = parseMicroTime(value);
  return (ms === undefined ? {} : { [key]: ms }) as { [P in K]?: number };
}

/** A MicroTime (or a Date) as epoch ms; undefined when absent or unparsable. */
export function parseMicroTime(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== "string" || value === "") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
