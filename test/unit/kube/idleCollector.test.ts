import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../operator/src/kube/clock.ts";
import { createIdleCollector, fullCollection } from "../../../operator/src/kube/idleCollector.ts";

describe("the idle collector", () => {
  it("collects once after a burst, only when the quiet period has passed since the last activity", () => {
    const clock = new FakeClock();
    let collections = 0;
    const collector = createIdleCollector({ collect: () => collections++, quietMs: 5_000, clock });
    for (let i = 0; i < 10; i++) {
      collector.activity();
      clock.advance(1_000);
    }
    expect(collections).toBe(0);
    clock.advance(3_999);
    expect(collections).toBe(0);
    clock.advance(1);
    expect(collections).toBe(1);
    clock.advance(60_000);
    expect(collections).toBe(1);
    collector.activity();
    clock.advance(5_000);
    expect(collections).toBe(2);
  });

  it("never collects without activity, nor after stop", () => {
    const clock = new FakeClock();
    let collections = 0;
    const collector = createIdleCollector({ collect: () => collections++, quietMs: 1_000, clock });
    clock.advance(10_000);
    expect(collections).toBe(0);
    collector.activity();
    collector.stop();
    clock.advance(10_000);
    expect(collections).toBe(0);
  });

  it("finds V8's full collection and frees what is no longer referenced", async () => {
    const gc = fullCollection();
    expect(gc).toBeTypeOf("function");
    let garbage: number[][] | undefined = Array.from({ length: 200 }, () => Array.from({ length: 10_000 }, (_, i) => i));
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef keeps its target alive until the current job ends.
    await new Promise((resolveTurn) => setTimeout(resolveTurn, 0));
    gc?.();
    expect(ref.deref()).toBeUndefined();
  });
});
