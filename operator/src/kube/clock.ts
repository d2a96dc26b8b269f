/**
 * Time as a dependency: the work queue's backoff and the leader elector's lease arithmetic take a
 * Clock, so tests drive them with a FakeClock instead of waiting.
 */

declare const timerBrand: unique symbol;
/** Opaque: only the clock that made a handle can clear it. */
export type TimerHandle = { readonly [timerBrand]: true };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days) and fire a longer delay after 1 ms, with a
 * TimeoutOverflowWarning. A requeue at the end of a 30-day demotion window then became a reconcile
 * every millisecond, seen in the operator's pods on the local node. Longer delays are waited out in
 * steps of at most this much, behind one handle.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle: { timer?: NodeJS.Timeout } = {};
    const arm = (remaining: number): void => {
      handle.timer = setTimeout(() => (remaining > MAX_TIMER_MS ? arm(remaining - MAX_TIMER_MS) : fn()), Math.min(remaining, MAX_TIMER_MS));
    };
    arm(ms);
    return handle as unknown as TimerHandle;
  },
  clearTimeout: (handle) => clearTimeout((handle as unknown as { timer?: NodeJS.Timeout }).timer),
};

interface FakeTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A manual clock. Timers run only inside advance(), in due order (ties in scheduling order), with
 * now() equal to their due time, so a timer that schedules another timer inside the advanced window
 * sees that one run too — the way real time would have behaved.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<TimerHandle, FakeTimer>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { id: this.seq } as unknown as TimerHandle;
    // Like Node, a negative or NaN delay means "as soon as possible", never the past.
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.timers.set(handle, { due: this.current + delay, seq: this.seq++, fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  /** Number of scheduled timers that have not run or been cleared. */
  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward synchronously, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next[0]);
      this.current = next[1].due;
      next[1].fn();
    }
    this.current = target;
  }

  /**
   * Like advance(), but lets promise callbacks and I/O callbacks settle after each timer, so async
   * code woken by a timer (a handler finishing, a request resolving) can schedule its next timer
   * before time moves on.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next[0]);
      this.current = next[1].due;
      next[1].fn();
      await settle();
    }
    this.current = target;
  }

  private nextDue(limit: number): [TimerHandle, FakeTimer] | undefined {
    let best: [TimerHandle, FakeTimer] | undefined;
    for (const entry of this.timers) {
      const timer = entry[1];
      if (timer.due > limit) continue;
      if (!best || timer.due < best[1].due || (timer.due === best[1].due && timer.seq < best[1].seq)) best = entry;
    }
    return best;
  }
}

/** Drains pending microtasks and one round of real macrotasks (setImmediate runs after them). */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};
