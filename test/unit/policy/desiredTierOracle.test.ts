import { describe, expect, it } from "vitest";
import { desiredTier } from "./desiredTierOracle.ts";

const tier = (t: Partial<{ mode: "Auto" | "Pinned"; pinned: "pooled" | "namespace" | "database" | "account"; floor: "pooled" | "namespace" | "database" | "account"; ceiling: "pooled" | "namespace" | "database" | "account" }>) => ({
  tier: { mode: "Auto" as const, floor: "pooled" as const, ceiling: "account" as const, ...t },
});

describe("desiredTier (the oracle of the engine tests)", () => {
  it("places a new Auto tenant in the pool", () => {
    expect(desiredTier(tier({}), undefined)).toMatchObject({ tier: "pooled", trigger: "Policy" });
  });

  it("places a new tenant at its floor, with the floor as the trigger", () => {
    expect(desiredTier(tier({ floor: "namespace" }), undefined)).toMatchObject({ tier: "namespace", trigger: "Floor" });
  });

  it("keeps an Auto tenant where it is when nothing recommends a move", () => {
    expect(desiredTier(tier({}), "namespace")).toMatchObject({ tier: "namespace", trigger: "Policy" });
  });

  it("lets Pinned win over floor and ceiling", () => {
    expect(desiredTier(tier({ mode: "Pinned", pinned: "pooled", floor: "namespace" }), "namespace")).toMatchObject({ tier: "pooled", trigger: "Pinned" });
  });

  it("raises a tenant below a new floor and lowers one above a new ceiling", () => {
    expect(desiredTier(tier({ floor: "namespace" }), "pooled")).toMatchObject({ tier: "namespace", trigger: "Floor" });
    expect(desiredTier(tier({ ceiling: "pooled" }), "namespace")).toMatchObject({ tier: "pooled", trigger: "Ceiling" });
  });

  it("bounds a policy recommendation by the ceiling", () => {
    expect(desiredTier(tier({ ceiling: "namespace" }), "pooled", { tier: "account", reason: "revenue" })).toMatchObject({ tier: "namespace", trigger: "Ceiling" });
    expect(desiredTier(tier({}), "pooled", { tier: "namespace", reason: "monthlyRevenueUSD 21000 >= 20000" })).toMatchObject({
      tier: "namespace",
      trigger: "Policy",
      reason: "monthlyRevenueUSD 21000 >= 20000",
    });
  });

  it("places a tenant pinned to a dedicated tier there", () => {
    expect(desiredTier(tier({ mode: "Pinned", pinned: "database" }), "pooled")).toEqual({ tier: "database", trigger: "Pinned", reason: "spec.tier is pinned to database" });
    expect(desiredTier(tier({ mode: "Pinned", pinned: "account" }), undefined)).toMatchObject({ tier: "account", trigger: "Pinned" });
  });
});
