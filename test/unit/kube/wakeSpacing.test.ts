import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../operator/src/kube/clock.ts";
import { createWorkQueue } from "../../../operator/src/kube/queue.ts";
import { createWakeSpacer } from "../../../operator/src/kube/wakeSpacing.ts";

describe("wake spacing", () => {
  it("runs a key at once when it has not run lately, then at most once per interval", () => {
    const clock = new FakeClock(10_000);
    const delay = createWakeSpacer(clock);
    const pool = { firstMs: 0, everyMs: 500 };
    expect(delay("pool/a", pool)).toBe(0);
    clock.advance(100);
    // Joins the run due 400 ms from now, and so does every wake until then.
    expect(delay("pool/a", pool)).toBe(400);
    clock.advance(300);
    expect(delay("pool/a", pool)).toBe(100);
    // Another key is spaced on its own.
    expect(delay("pool/b", pool)).toBe(0);
    clock.advance(100);
    // The run at 10,500 is due now: a wake now needs a run after it, 500 ms later.
    expect(delay("pool/a", pool)).toBe(500);
    // After a quiet spell longer than the interval, at once again.
    clock.advance(5_000);
    expect(delay("pool/a", pool)).toBe(0);
  });

  it("waits firstMs before the first run of a burst", () => {
    const clock = new FakeClock(0);
    const delay = createWakeSpacer(clock);
    const policy = { firstMs: 2_000, everyMs: 10_000 };
    expect(delay("policy/p", policy)).toBe(2_000);
    clock.advance(1_000);
    expect(delay("policy/p", policy)).toBe(1_000);
    clock.advance(1_500);
    expect(delay("policy/p", policy)).toBe(9_500);
  });

  it("turns a burst of 1,000 wakes into a run per interval, the last after the last wake", async () => {
    const clock = new FakeClock(0);
    const delay = createWakeSpacer(clock);
    const queue = createWorkQueue({ concurrency: 1, clock });
    const runs: number[] = [];
    queue.run(async () => {
      runs.push(clock.now());
      return { kind: "done" };
    });
    const lastWake = 4_995;
    // One wake every 5 ms for 5 s: a tenant arriving every 5 ms, each waking its pool.
    for (let at = 0; at <= lastWake; at += 5) {
      queue.addAfter("standard", delay("pool/standard", { firstMs: 0, everyMs: 500 }));
      await clock.advanceAsync(5);
    }
    await clock.advanceAsync(1_000);
    await queue.idle({ soonMs: 0 });
    await queue.shutdown();
    // 1,000 wakes → one run at once and one per 500 ms after it.
    expect(runs.length).toBe(11);
    expect(runs[0]).toBe(0);
    for (let i = 1; i < runs.length; i++) expect((runs[i] as number) - (runs[i - 1] as number)).toBeGreaterThanOrEqual(500);
    expect(runs.at(-1)).toBeGreaterThanOrEqual(lastWake);
  });
});
