import { describe, expect, it } from "vitest";
import { placementPolicySpec } from "../../../operator/src/api/v1alpha1/index.ts";
import { evaluate } from "../../../operator/src/policy/engine.ts";
import { fresh, HOUR, input, policy } from "./fixtures.ts";

/** A policy whose namespace tier also promotes a pooled tenant that loses money (a monthly figure). */
function costPolicy(marginMaxAge?: string) {
  const base = policy();
  return placementPolicySpec.parse({
    ...base,
    signals: [...base.signals, { name: "marginUSD", source: { reported: {} }, ...(marginMaxAge ? { maxAge: marginMaxAge } : {}) }],
    tiers: base.tiers.map((t) =>
      t.tier === "namespace" ? { ...t, promoteWhen: { any: [...(t.promoteWhen?.any ?? []), { signal: "marginUSD", lt: 0 }] } } : t,
    ),
  });
}

describe("per-signal maxAge", () => {
  it("keeps a monthly figure usable past maxSignalAge when the signal has its own maxAge", () => {
    const result = evaluate(input({ policy: costPolicy("840h"), revenue: 600, signals: { marginUSD: fresh(-2321.74, 20 * 24 * HOUR) } }));
    expect(result.action).toMatchObject({ kind: "move", tier: "namespace", rule: "tiers[namespace].promoteWhen.any[2]" });
    expect(result.signals.marginUSD).toBe(-2321.74);
  });

  it("still ages the other signals by maxSignalAge", () => {
    const result = evaluate(input({ policy: costPolicy("840h"), signals: { monthlyRevenueUSD: fresh(90000, 49 * HOUR), marginUSD: fresh(100, 49 * HOUR) } }));
    expect(result.signals).toHaveProperty("marginUSD", 100);
    expect(result.signals).not.toHaveProperty("monthlyRevenueUSD");
    expect(result.signalProblems).toContainEqual({
      signal: "monthlyRevenueUSD",
      problem: "Stale",
      message: expect.stringMatching(/observed 49h ago, longer than maxSignalAge 48h/),
    });
  });

  it("makes a figure older than its own maxAge stale, and says which limit it broke", () => {
    const result = evaluate(input({ policy: costPolicy("840h"), revenue: 600, signals: { marginUSD: fresh(-2321.74, 841 * HOUR) } }));
    expect(result.action.kind).toBe("stay");
    expect(result.signalProblems).toEqual([
      { signal: "marginUSD", problem: "Stale", message: expect.stringMatching(/observed 841h ago, longer than its maxAge 840h/) },
    ]);
  });

  it("without a maxAge a monthly figure goes stale after maxSignalAge (48h)", () => {
    const result = evaluate(input({ policy: costPolicy(), revenue: 600, signals: { marginUSD: fresh(-2321.74, 49 * HOUR) } }));
    expect(result.action.kind).toBe("stay");
    expect(result.signalProblems.map((p) => [p.signal, p.problem])).toEqual([["marginUSD", "Stale"]]);
  });

  it("a maxAge shorter than maxSignalAge tightens that signal only", () => {
    const result = evaluate(input({ policy: costPolicy("1h"), revenue: 600, signals: { marginUSD: fresh(-5, 2 * HOUR) } }));
    expect(result.signalProblems).toEqual([{ signal: "marginUSD", problem: "Stale", message: expect.stringMatching(/longer than its maxAge 1h/) }]);
  });

  it("refuses a maxAge that is not a duration", () => {
    const parsed = placementPolicySpec.safeParse({ ...costPolicy(), signals: [{ name: "marginUSD", source: { reported: {} }, maxAge: "a month" }] });
    expect(parsed.success).toBe(false);
  });
});
