import { TIER_RANK, TIERS, type Tier, type TenantPlacementSpec } from "../../../operator/src/api/v1alpha1/index.ts";
import type { TierChoice } from "../../../operator/src/controller/decisions.ts";

/**
 * A TEST ORACLE, not production code: the placement a tenant gets from its spec alone, written as
 * plainly as possible so the policy engine's tests can check `evaluate` without a policy against
 * it (test/unit/policy/engine*.test.ts). The operator decides in controller/decideTier.ts.
 */

const clampRank = (rank: number, low: number, high: number): number => Math.min(Math.max(rank, low), high);

/**
 * Where the tenant should live, from its spec alone plus an optional policy recommendation: Pinned
 * wins, then floor and ceiling bound what Auto would do. Auto without a recommendation keeps the
 * tenant where it is (new tenants start at the floor), so nothing moves without a reason.
 */
export function desiredTier(spec: Pick<TenantPlacementSpec, "tier">, current: Tier | undefined, recommended?: { tier: Tier; reason: string }): TierChoice {
  const { mode, pinned, floor, ceiling } = spec.tier;
  let choice: TierChoice;
  if (mode === "Pinned" && pinned) {
    choice = { tier: pinned, trigger: "Pinned", reason: `spec.tier is pinned to ${pinned}` };
  } else {
    const low = TIER_RANK[floor];
    const high = Math.max(TIER_RANK[ceiling], low);
    const wanted = recommended?.tier ?? current ?? floor;
    const rank = clampRank(TIER_RANK[wanted], low, high);
    const tier = TIERS[rank] as Tier;
    if (rank > TIER_RANK[wanted]) choice = { tier, trigger: "Floor", reason: `spec.tier.floor is ${floor}` };
    else if (rank < TIER_RANK[wanted]) choice = { tier, trigger: "Ceiling", reason: `spec.tier.ceiling is ${ceiling}` };
    else if (recommended) choice = { tier, trigger: "Policy", reason: recommended.reason };
    else if (current === undefined && floor !== "pooled") choice = { tier, trigger: "Floor", reason: `new tenant placed at its floor ${floor}` };
    else if (current === undefined) choice = { tier, trigger: "Policy", reason: "new tenant placed in the pool" };
    else choice = { tier, trigger: "Policy", reason: `stays ${tier}` };
  }
  return choice;
}
