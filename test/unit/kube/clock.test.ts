import { describe, expect, it, vi } from "vitest";
import { FakeClock, systemClock } from "../../../operator/src/kube/clock.ts";

describe("FakeClock", () => {
  it("runs due timers in due order, ties in scheduling order, with now() at their due time", () => {
    const clock = new FakeClock(1000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push("late"), 31);
    clock.advance(30);
    expect(seen).toEqual(["a@1010", "b@1020", "c@1020"]);
    expect(clock.now()).toBe(1030);
    expect(clock.pending()).toBe(1);
  });

  it("runs timers scheduled by timers when they fall inside the advanced window", () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const tick = (): void => {
      seen.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(seen).toEqual([100, 200, 300]);
  });

  it("never runs cleared timers and treats negative delays as zero", () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const handle = clock.setTimeout(() => seen.push("cleared"), 5);
    clock.setTimeout(() => seen.push(`now@${clock.now()}`), -50);
    clock.clearTimeout(handle);
    clock.advance(10);
    expect(seen).toEqual(["now@0"]);
  });

  it("lets async work woken by a timer schedule its next timer within advanceAsync", async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const loop = async (): Promise<void> => {
      await Promise.resolve();
      seen.push(clock.now());
      if (seen.length < 3) clock.setTimeout(() => void loop(), 50);
    };
    clock.setTimeout(() => void loop(), 50);
    await clock.advanceAsync(200);
    expect(seen).toEqual([50, 100, 150]);
  });
});

describe("systemClock with delays beyond Node's timer limit", () => {
  it("waits the whole delay instead of firing at once (Node fires a delay above 2^31-1 ms after 1 ms)", () => {
    vi.useFakeTimers();
    try {
      let fired = 0;
      const thirtyDays = 30 * 24 * 3600 * 1000;
      systemClock.setTimeout(() => (fired += 1), thirtyDays);
      vi.advanceTimersByTime(60_000);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(thirtyDays - 60_001);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(1);
      const cleared = systemClock.setTimeout(() => (fired += 1), thirtyDays);
      vi.advanceTimersByTime(2 ** 31);
      systemClock.clearTimeout(cleared);
      vi.advanceTimersByTime(thirtyDays);
      expect(fired).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
