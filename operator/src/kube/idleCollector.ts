import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";

export interface IdleCollector {
  /** Work happened (a reconcile finished): the next quiet period ends in a collection. */
  activity(): void;
  stop(): void;
}

/**
 * Collects garbage once the operator has been quiet for `quietMs` after a burst of work. V8 runs
 * its major collections by allocation, so a burst's garbage (a convergence, the initial lists of a
 * restart) can stay committed for as long as the operator stays idle: 5,000 tenants converged left
 * 110 MiB RSS in one run and 169 MiB in another, the difference all uncollected heap. One full
 * collection when nothing is happening costs tens of milliseconds and nobody waits for it.
 */
export function createIdleCollector(options: { collect: () => void; quietMs: number; clock?: Clock }): IdleCollector {
  const clock = options.clock ?? systemClock;
  let lastActivity = 0;
  let pending = false;
  let timer: TimerHandle | undefined;
  let stopped = false;

  const check = (): void => {
    timer = undefined;
    if (stopped || !pending) return;
    const quietFor = clock.now() - lastActivity;
    if (quietFor < options.quietMs) {
      timer = clock.setTimeout(check, options.quietMs - quietFor);
      return;
    }
    pending = false;
    options.collect();
  };

  return {
    activity() {
      if (stopped) return;
      lastActivity = clock.now();
      pending = true;
      // One timer at a time, re-armed when it fires early, instead of one per reconcile.
      timer ??= clock.setTimeout(check, options.quietMs);
    },
    stop() {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * V8's full collection as a function: `gc` when node runs with --expose-gc, else the same function
 * taken from a fresh context after setting the flag (it applies to contexts created afterwards).
 * Undefined if neither works; the operator then simply leaves collection to V8.
 */
export function fullCollection(): (() => void) | undefined {
  const global = globalThis as { gc?: unknown };
  if (typeof global.gc === "function") return global.gc as () => void;
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
