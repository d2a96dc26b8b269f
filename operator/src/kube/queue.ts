import { systemClock, type Clock, type TimerHandle } from "./clock.ts";

/** What a reconcile asks the queue to do next with its key. */
export type ReconcileResult =
  | { kind: "done" }
  | { kind: "requeueAfter"; ms: number }
  /**
   * Again, but behind every key already queued (the back lane): a first pass that recorded what
   * must be recorded quickly and leaves the slow work to a second.
   */
  | { kind: "requeue" }
  /** Non-terminal errors retry with per-key exponential backoff; terminal ones do not retry. */
  | { kind: "error"; error: Error; terminal?: boolean };

/** "now": added by a change or another reconciler; "later": a delayed add (requeueAfter, backoff) that came due. */
type Lane = "now" | "later";

export type ReconcileHandler = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  /** Maximum number of handlers running at once. */
  concurrency: number;
  clock?: Clock;
  /** Per-key error backoff: baseMs·2^(failures−1), capped at maxMs. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Called after every handler run (for metrics); exceptions it throws are ignored. */
  onResult?: (key: string, result: ReconcileResult, durationMs: number) => void;
}

export interface WorkQueue {
  add(key: string): void;
  /** Adds the key after `ms`; a pending delayed add of the same key is kept if it is sooner. */
  addAfter(key: string, ms: number): void;
  /** Starts the workers; call once. */
  run(handler: ReconcileHandler): void;
  /** Drops queued and delayed keys, aborts running handlers, resolves once they returned. */
  shutdown(): Promise<void>;
  /** Keys waiting for a worker (not delayed ones, not running ones). */
  depth(): number;
  inFlight(): number;
  /** Consecutive failures of a key (0 after a success); what the next backoff is based on. */
  failures(key: string): number;
  /**
   * Resolves when nothing is queued or running and no delayed add is due within `soonMs`
   * (default 1000) of the clock's now. With a FakeClock, delayed adds only come due when the test
   * advances it: pass `soonMs: 0` to wait only for queued and running work.
   */
  idle(options?: { soonMs?: number }): Promise<void>;
}

/**
 * A keyed, de-duplicating, rate-limited work queue in the manner of client-go's workqueue: a key
 * is queued at most once, never handled by two workers at once (an add while it runs marks it
 * dirty and it runs again afterwards), and failing keys back off exponentially per key.
 *
 * Two lanes, as in controller-runtime's priority queue: keys added now (a change, or one
 * reconciler waking another) go before keys whose delayed add came due (a requeueAfter poll, an
 * error's backoff). With one FIFO, 5,000 tenants polling every few seconds while they wait for a
 * seat kept the queue N deep, so the pool reconcile that would seat them waited behind N polls
 * each time it was woken (a convergence 2× slower than the API server allowed). Each controller
 * now has a queue of its own, and within one the lanes still put a woken key before the polls. A
 * delayed key that is added now moves to the front lane; a key is still queued at most once.
 */
export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new Error(`work queue concurrency must be a whole number ≥ 1, got ${options.concurrency}`);
  }
  const clock = options.clock ?? systemClock;
  const baseMs = options.backoff?.baseMs ?? 500;
  const maxMs = options.backoff?.maxMs ?? 300_000;

  // Lane entries may be stale (a key moved to the front lane): `queued` says which lane holds a key.
  const now: string[] = [];
  const later: string[] = [];
  const queued = new Map<string, Lane>();
  const processing = new Set<string>();
  /** Keys added while they ran, with the lane they come back in. */
  const dirty = new Map<string, Lane>();
  const delayed = new Map<string, { due: number; timer: TimerHandle }>();
  const failureCounts = new Map<string, number>();
  const idleWaiters: { soonMs: number; resolve: () => void }[] = [];
  const drainWaiters: (() => void)[] = [];
  const abort = new AbortController();
  let handler: ReconcileHandler | undefined;
  let shuttingDown = false;

  function add(key: string): void {
    enqueue(key, "now");
  }

  function enqueue(key: string, lane: Lane): void {
    if (shuttingDown) return;
    if (processing.has(key)) {
      if (dirty.get(key) !== "now") dirty.set(key, lane);
      return;
    }
    const current = queued.get(key);
    if (current === "now" || current === lane) return;
    queued.set(key, lane);
    (lane === "now" ? now : later).push(key);
    pump();
  }

  /** The next key to run, front lane first; skips entries a move to the front lane left behind. */
  function next(): string | undefined {
    for (const [lane, entries] of [["now", now], ["later", later]] as const) {
      while (entries.length > 0) {
        const key = entries.shift() as string;
        if (queued.get(key) !== lane) continue;
        queued.delete(key);
        return key;
      }
    }
    return undefined;
  }

  function addAfter(key: string, ms: number): void {
    if (shuttingDown) return;
    if (!(ms > 0)) {
      add(key);
      return;
    }
    const due = clock.now() + ms;
    const pending = delayed.get(key);
    if (pending) {
      if (pending.due <= due) return;
      clock.clearTimeout(pending.timer);
    }
    const timer = clock.setTimeout(() => {
      delayed.delete(key);
      enqueue(key, "later");
      checkIdle();
    }, ms);
    delayed.set(key, { due, timer });
  }

  function pump(): void {
    if (!handler || shuttingDown) return;
    while (processing.size < options.concurrency && queued.size > 0) {
      const key = next();
      if (key === undefined) break;
      processing.add(key);
      void work(key, handler);
    }
  }

  async function work(key: string, run: ReconcileHandler): Promise<void> {
    const started = clock.now();
    let result: ReconcileResult;
    try {
      result = await run(key, abort.signal);
    } catch (error) {
      result = { kind: "error", error: error instanceof Error ? error : new Error(String(error), { cause: error }) };
    }
    try {
      options.onResult?.(key, result, clock.now() - started);
    } catch {
      // Metrics must never break the queue.
    }
    processing.delete(key);
    scheduleNext(key, result);
    const again = dirty.get(key);
    if (again) {
      dirty.delete(key);
      enqueue(key, again);
    }
    if (processing.size === 0) for (const resolve of drainWaiters.splice(0)) resolve();
    pump();
    checkIdle();
  }

  function scheduleNext(key: string, result: ReconcileResult): void {
    if (result.kind === "error" && !result.terminal) {
      const failures = failureCounts.get(key) ?? 0;
      failureCounts.set(key, failures + 1);
      addAfter(key, Math.min(baseMs * 2 ** failures, maxMs));
      return;
    }
    // A success, a requested revisit or a terminal error all end a run of transient failures.
    failureCounts.delete(key);
    if (result.kind === "requeueAfter") addAfter(key, result.ms);
    else if (result.kind === "requeue") enqueue(key, "later");
  }

  function isIdle(soonMs: number): boolean {
    if (queued.size > 0 || processing.size > 0) return false;
    const horizon = clock.now() + soonMs;
    for (const { due } of delayed.values()) if (due <= horizon) return false;
    return true;
  }

  function checkIdle(): void {
    for (let i = idleWaiters.length - 1; i >= 0; i--) {
      const waiter = idleWaiters[i] as (typeof idleWaiters)[number];
      if (isIdle(waiter.soonMs)) {
        idleWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  return {
    add,
    addAfter,
    run(fn) {
      if (handler) throw new Error("work queue is already running");
      handler = fn;
      pump();
    },
    async shutdown() {
      shuttingDown = true;
      now.length = 0;
      later.length = 0;
      queued.clear();
      dirty.clear();
      for (const { timer } of delayed.values()) clock.clearTimeout(timer);
      delayed.clear();
      abort.abort(new Error("work queue shut down"));
      checkIdle();
      if (processing.size > 0) await new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
    depth: () => queued.size,
    inFlight: () => processing.size,
    failures: (key) => failureCounts.get(key) ?? 0,
    idle(idleOptions) {
      const soonMs = idleOptions?.soonMs ?? 1000;
      if (isIdle(soonMs)) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push({ soonMs, resolve }));
    },
  };
}
