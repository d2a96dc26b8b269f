import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../operator/src/api/generate.ts";
import { planTenants, readManifestFiles } from "../../../operator/src/cli/plan.ts";
import { planCostSignals } from "../../../operator/src/cli/planCostSignals.ts";
import { DEFAULT_SIGNAL_NAMES } from "../../../operator/src/costs/run/signals.ts";

const example = (...parts: string[]): string => path.join(REPO_ROOT, "examples", ...parts);

describe("the cost-loop examples", () => {
  const base = readManifestFiles([example("policy-default.yaml")]).policies[0]?.object;
  const withRule = readManifestFiles([example("costs", "policy-with-cost-rule.yaml")]).policies[0]?.object;

  it("the cost-rule policy is the default policy plus three cost signals (maxAge 840h), one rule and its demotion guard", () => {
    expect(withRule?.name).toBe("default");
    const added = withRule?.spec.signals.filter((s) => !base?.spec.signals.some((b) => b.name === s.name));
    expect(added).toEqual(["monthlyCostUSD", "costShare", "marginUSD"].map((name) => ({ name, source: { reported: {} }, maxAge: "840h" })));
    const namespace = withRule?.spec.tiers.find((t) => t.tier === "namespace");
    expect(namespace?.promoteWhen?.any?.at(-1)).toEqual({ signal: "marginUSD", lt: -100 });
    expect(namespace?.demoteWhen?.all?.at(-1)).toEqual({ signal: "marginUSD", gte: 0 });
    const stripped = {
      ...withRule?.spec,
      signals: withRule?.spec.signals.filter((s) => !added?.includes(s)),
      tiers: withRule?.spec.tiers.map((t) => (t.tier === "namespace" ? { ...t, promoteWhen: { any: t.promoteWhen?.any?.slice(0, -1) }, demoteWhen: { all: t.demoteWhen?.all?.slice(0, -1) } } : t)),
    };
    expect(stripped).toEqual(base?.spec);
  });

  it("with the example bill, the cost rule places exactly one tenant: vandelay, which loses money in the pool", async () => {
    const tenants = readManifestFiles([example("tenants.yaml")]).tenants.map((t) => t.object);
    const signals = await planCostSignals(tenants, { bills: [example("costs", "cur2-2026-11.csv")], poolCosts: undefined, period: "2026-11", files: [example("tenants.yaml")], names: DEFAULT_SIGNAL_NAMES });
    const rows = planTenants({ tenants, policies: new Map(), policyOverride: withRule as NonNullable<typeof withRule>, signals, now: Date.parse("2026-12-01T00:00:00Z") });
    const byCost = rows.filter((r) => r.rule === "tiers[namespace].promoteWhen.any[2]");
    expect(byCost.map((r) => [r.tenant, r.recommended, r.reason])).toEqual([["vandelay", "namespace", "marginUSD -138.07 < -100"]]);
    // Without the bill the same policy decides nothing on cost (the signals are unknown).
    const without = planTenants({ tenants, policies: new Map(), policyOverride: withRule as NonNullable<typeof withRule>, signals: [], now: Date.parse("2026-12-01T00:00:00Z") });
    expect(without.filter((r) => r.rule === "tiers[namespace].promoteWhen.any[2]")).toEqual([]);
  });
});
