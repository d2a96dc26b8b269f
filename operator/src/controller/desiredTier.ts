import { TIER_RANK, TIERS, type Tier, type TenantPlacementSpec, type Trigger } from "../api/v1alpha1/index.ts";

export interface TierChoice {
  tier: Tier;
  trigger: Trigger;
  reason: string;
}

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

/**
 * Whether the tenant should hold a seat in its pool: it is served there now, or its status says a
 * move there is under way. The tenant reconciler owns that intent (status.targetTier); the pool
 * only follows it, so both agree however the target was chosen (pin, floor, policy).
 */
export function wantsPoolSeat(options: { deleting: boolean; servedTier: Tier | undefined; targetTier: Tier | undefined }): boolean {
  if (options.deleting) return false;
  // A tenant moving out keeps its seat until it is served elsewhere (status.tier changes at cut-over).
  return options.targetTier === "pooled" || options.servedTier === "pooled";
}
