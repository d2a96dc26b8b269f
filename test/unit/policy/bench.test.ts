import { describe, expect, it } from "vitest";
import { benchEngine, benchTenants } from "../../bench/engine.ts";
import { evaluate } from "../../../operator/src/policy/engine.ts";

describe("the policy engine benchmark scenario", () => {
  it("evaluates 100,000 synthetic tenants, each to exactly one action of every expected kind", () => {
    const { ms, actions, results } = benchEngine(100_000);
    // Correctness only: timing is reported by `npm run bench`, never asserted on a noisy machine.
    expect(ms).toBeGreaterThan(0);
    expect(results).toBe(100_000);
    expect(Object.values(actions).reduce((a, b) => a + b, 0)).toBe(100_000);
    for (const kind of ["stay", "move:Policy", "move:Pinned", "move:Ceiling", "wait:Stabilizing", "wait:Cooldown"]) expect(actions[kind]).toBeGreaterThan(0);
  }, 60_000);

  it("builds the same tenants on every run, so runs are comparable", () => {
    const [a, b] = [benchTenants(50), benchTenants(50)];
    expect(a.map((input) => evaluate(input))).toEqual(b.map((input) => evaluate(input)));
  });
});
