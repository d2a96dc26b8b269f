import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../operator/src/kube/clock.ts";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { createIdleCollector } from "../../../operator/src/kube/idleCollector.ts";

const MODULE = join(import.meta.dirname, "../../../operator/src/kube/idleCollector.ts");

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

  it("finds V8's full collection when node starts with --expose-gc, and frees what is no longer referenced; none without the flag", () => {
    // In a child process: the flag is the process's, set at its start (as the image and bin/landlord.mjs do).
    const probe = `
      const { fullCollection } = await import(process.argv[1]);
      const gc = fullCollection();
      if (!gc) { console.log("none"); process.exit(0); }
      let garbage = Array.from({ length: 200 }, () => Array.from({ length: 10000 }, (_, i) => i));
      const ref = new WeakRef(garbage);
      garbage = undefined;
      // A WeakRef keeps its target alive until the current job ends.
      await new Promise((resolveTurn) => setTimeout(resolveTurn, 0));
      gc();
      console.log(ref.deref() === undefined ? "freed" : "kept");
    `;
    const run = (flags: string[]): string =>
      execFileSync(process.execPath, [...flags, "--import", "tsx", "--input-type=module", "-e", probe, MODULE], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } }).trim();
    expect(run(["--expose-gc"])).toBe("freed");
    expect(run([])).toBe("none");
  });
});
