import type { Clock } from "./clock.ts";

/**
 * Monotonic: a wall clock stepped back (NTP, a resumed VM) would leave a due time far ahead, and
 * every wake until then would wait out the step.
 */
const monotonic: Pick<Clock, "now"> = { now: () => performance.now() };

/** How a key that is woken in bursts is spaced out. */
export interface Spacing {
  /** Wait this long before the first run of a burst, so that the wakes right behind it join it. */
  firstMs: number;
  /** Then run at most once in this long, however many wakes arrive in between. */
  everyMs: number;
}

/**
 * The delay before a woken key should run, so that a burst of wakes becomes a few runs that each
 * see many changes. A pool woken by each of 5,000 arriving tenants would otherwise run once per
 * arrival (rewriting its registry and quota each time); spaced, it seats a batch each run.
 *
 * Every wake is still followed by a run that starts after it: a wake during a pending run joins
 * that run, a later one schedules the next no sooner than `everyMs` after the last. The map holds
 * one number per key ever spaced; only pools and policies are, and they are few.
 */
export function createWakeSpacer(clock: Pick<Clock, "now"> = monotonic): (key: string, spacing: Spacing) => number {
  const nextRun = new Map<string, number>();
  return (key, spacing) => {
    const now = clock.now();
    const pending = nextRun.get(key);
    if (pending !== undefined && pending > now) return pending - now;
    const at = Math.max(now + spacing.firstMs, (pending ?? -Infinity) + spacing.everyMs);
    nextRun.set(key, at);
    return at - now;
  };
}
