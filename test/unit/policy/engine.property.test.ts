import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TIER_RANK, TIERS, type PlacementPolicySpec, type PolicyCondition, type Tier, type TierRule, type When } from "../../../operator/src/api/v1alpha1/index.ts";
import { parseDuration } from "../../../operator/src/config.ts";
import { desiredTier } from "./desiredTierOracle.ts";
import { evaluate, type EngineInput, type EngineResult, type SignalReading } from "../../../operator/src/policy/engine.ts";
import { HOUR, NOW, tierSettings } from "./fixtures.ts";

// ---- generators: three signals, few distinct thresholds and values, so rules often tie and flip

const SIGNALS = ["a", "b", "c"] as const;
const VALUES = [0, 5, 10, 20, 50, 75, 100, 150];
const WINDOWS = ["0s", "30m", "1h", "24h"];
const windowArb = fc.oneof({ weight: 3, arbitrary: fc.constant("0s") }, { weight: 2, arbitrary: fc.constantFrom(...WINDOWS) });
const OPS = ["gte", "gt", "lte", "lt"] as const;

const condition: fc.Arbitrary<PolicyCondition> = fc
  .record({ signal: fc.constantFrom(...SIGNALS), share: fc.boolean(), op: fc.constantFrom(...OPS), v: fc.constantFrom(...VALUES) })
  .map(({ signal, share, op, v }) => ({ signal, ...(share ? { share: true } : {}), [op]: share ? v / 150 : v }));

const when: fc.Arbitrary<When> = fc
  .record({ any: fc.boolean(), conditions: fc.array(condition, { minLength: 1, maxLength: 3 }) })
  .map(({ any, conditions }) => (any ? { any: conditions } : { all: conditions }));

const tierRule = (tier: Exclude<Tier, "pooled">): fc.Arbitrary<TierRule | undefined> =>
  fc.option(
    fc.record({ promoteWhen: fc.option(when, { nil: undefined }), demoteWhen: fc.option(when, { nil: undefined }) }).map(
      ({ promoteWhen, demoteWhen }): TierRule => ({
        tier,
        ...(promoteWhen ? { promoteWhen } : {}),
        ...(demoteWhen ? { demoteWhen } : {}),
        ...(tier === "database" ? { database: { ...tierSettings.database, engine: "postgres" } } : {}),
        ...(tier === "account" ? { account: { ...tierSettings.account, roleName: "OrganizationAccountAccessRole" } } : {}),
      }),
    ),
    { nil: undefined },
  );

function spec(options: { tiers: (TierRule | undefined)[]; windows: string[]; promotion: "Automatic" | "Manual"; demotion: "Automatic" | "Manual" }): PlacementPolicySpec {
  return {
    signals: SIGNALS.map((name) => ({ name, source: { reported: {} } })),
    tiers: options.tiers.filter((t): t is TierRule => t !== undefined),
    stabilization: { promoteAfter: options.windows[0] as string, demoteAfter: options.windows[1] as string, cooldown: options.windows[2] as string },
    approval: { promotion: options.promotion, demotion: options.demotion },
    rateLimit: { maxConcurrentMoves: 2, maxMovesPerHour: 10 },
    podSecurity: "restricted",
    maxSignalAge: "48h",
    evaluationInterval: "5m",
  };
}

const policyArb = (fixed?: { windows: string[]; promotion: "Automatic"; demotion: "Automatic" }): fc.Arbitrary<PlacementPolicySpec> =>
  fc
    .record({
      tiers: fc.tuple(tierRule("namespace"), tierRule("database"), tierRule("account")),
      windows: fc.tuple(windowArb, windowArb, windowArb),
      promotion: fc.constantFrom("Automatic" as const, "Manual" as const),
      demotion: fc.constantFrom("Automatic" as const, "Manual" as const),
    })
    .map((p) => spec({ ...p, ...fixed }));

const reading: fc.Arbitrary<SignalReading | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ value: fc.constantFrom(...VALUES), observedAt: fc.integer({ min: 0, max: 60 }).map((h) => NOW - h * HOUR) }) },
  { weight: 1, arbitrary: fc.constantFrom<SignalReading>({ problem: "Unavailable", message: "query failed" }, { problem: "Unknown", message: "not queried yet" }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const tier = fc.constantFrom(...TIERS);
const sinceAgo = fc.oneof(fc.integer({ min: 0, max: 200 }).map((h) => new Date(NOW - h * HOUR + 1).toISOString()), fc.constant("not a time"));

const rarely = <T,>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const tenantArb = fc.record({
  pinned: rarely(tier),
  // Mostly the defaults, so most tenants are within their bounds and the policy decides.
  floor: fc.oneof({ weight: 4, arbitrary: fc.constant<Tier>("pooled") }, { weight: 1, arbitrary: tier }),
  ceiling: fc.oneof({ weight: 4, arbitrary: fc.constant<Tier>("account") }, { weight: 1, arbitrary: tier }),
  served: fc.option(tier, { freq: 6, nil: undefined }),
  approval: fc.option(fc.oneof(tier, fc.constant("bogus")), { nil: undefined }),
  previous: fc.option(fc.record({ tier, since: sinceAgo }), { nil: undefined }),
  lastMoveAt: fc.option(fc.integer({ min: 0, max: 400 }).map((h) => NOW - h * HOUR), { nil: undefined }),
});

const readingsArb = fc.record({
  signals: fc.tuple(reading, reading, reading),
  totals: fc.tuple(...SIGNALS.map(() => fc.option(fc.constantFrom(0, 100, 400), { nil: undefined }))),
});

type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never;
interface Readings {
  signals: readonly (SignalReading | undefined)[];
  totals: readonly (number | undefined)[];
}

function build(policy: PlacementPolicySpec | undefined, t: Generated<typeof tenantArb>, r: Readings): EngineInput {
  const signals: Record<string, SignalReading> = {};
  const poolTotals: Record<string, number> = {};
  SIGNALS.forEach((name, i) => {
    const value = r.signals[i];
    if (value) signals[name] = value;
    const total = r.totals[i];
    if (total !== undefined) poolTotals[name] = total;
  });
  return {
    now: NOW,
    policy,
    tenant: {
      tenantId: "t1",
      tier: t.pinned ? { mode: "Pinned", pinned: t.pinned, floor: t.floor, ceiling: t.ceiling } : { mode: "Auto", floor: t.floor, ceiling: t.ceiling },
      served: t.served,
      ...(t.approval !== undefined ? { approval: t.approval } : {}),
      ...(t.previous ? { previousRecommendation: { ...t.previous, reason: "earlier" } } : {}),
      ...(t.lastMoveAt !== undefined ? { lastMoveAt: t.lastMoveAt } : {}),
    },
    signals,
    poolTotals,
  };
}

const inputArb = fc.tuple(policyArb(), tenantArb, readingsArb).map(([p, t, r]) => build(p, t, r));

const rank = (t: Tier): number => TIER_RANK[t];
const bounds = (input: EngineInput): [number, number] => {
  const lo = rank(input.tenant.tier.floor);
  return [lo, Math.max(lo, rank(input.tenant.tier.ceiling))];
};
const isPinned = (input: EngineInput): boolean => input.tenant.tier.mode === "Pinned" && input.tenant.tier.pinned !== undefined;
/** A move the policy made (not a pin, a bound, or a first placement at the floor). */
function policyMove(input: EngineInput, result: EngineResult): Tier | undefined {
  const { action } = result;
  if (action.kind !== "move" || (action.trigger !== "Policy" && action.trigger !== "Manual")) return undefined;
  if (input.tenant.served === undefined && action.tier === input.tenant.tier.floor) return undefined;
  return action.tier;
}
const ms = (text: string): number => parseDuration(text);

describe("policy engine properties", () => {
  it("never places or recommends a tenant outside [floor, ceiling] unless it is pinned", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = evaluate(input);
        if (isPinned(input)) return;
        const [lo, hi] = bounds(input);
        const { action, recommendation } = result;
        if (action.kind !== "stay") {
          expect(rank(action.tier)).toBeGreaterThanOrEqual(lo);
          expect(rank(action.tier)).toBeLessThanOrEqual(hi);
        }
        if (recommendation) {
          expect(rank(recommendation.tier)).toBeGreaterThanOrEqual(lo);
          expect(rank(recommendation.tier)).toBeLessThanOrEqual(hi);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("never makes a policy move within cooldown of the last move", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = evaluate(input);
        const { served, lastMoveAt } = input.tenant;
        if (served === undefined || lastMoveAt === undefined || !policyMove(input, result)) return;
        expect(input.now - lastMoveAt).toBeGreaterThanOrEqual(ms((input.policy as PlacementPolicySpec).stabilization.cooldown));
      }),
      { numRuns: 3000 },
    );
  });

  it("never acts on a recommendation before it has held for its stabilization window", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = evaluate(input);
        const target = policyMove(input, result);
        const served = input.tenant.served;
        if (!target || served === undefined) return;
        const { stabilization } = input.policy as PlacementPolicySpec;
        const window = ms(rank(target) > rank(served) ? stabilization.promoteAfter : stabilization.demoteAfter);
        expect(result.recommendation?.tier).toBe(target);
        const since = Date.parse(result.recommendation?.since ?? "");
        expect(input.now - since).toBeGreaterThanOrEqual(window);
        // A since older than now can only come from the previous recommendation for the same tier.
        if (since < input.now) expect(input.tenant.previousRecommendation).toMatchObject({ tier: target, since: result.recommendation?.since });
      }),
      { numRuns: 3000 },
    );
  });

  /** The policy with one gte/gt promotion threshold raised by `by`, or undefined when it has none. */
  function raise(policy: PlacementPolicySpec, pick: number, by: number): PlacementPolicySpec | undefined {
    const spots: [number, "any" | "all", number, "gte" | "gt"][] = [];
    policy.tiers.forEach((t, ti) =>
      (["any", "all"] as const).forEach((q) =>
        t.promoteWhen?.[q]?.forEach((c, ci) => {
          if (c.gte !== undefined) spots.push([ti, q, ci, "gte"]);
          if (c.gt !== undefined) spots.push([ti, q, ci, "gt"]);
        }),
      ),
    );
    if (spots.length === 0) return undefined;
    const [ti, q, ci, op] = spots[pick % spots.length] as (typeof spots)[number];
    const copy = structuredClone(policy);
    const c = copy.tiers[ti]?.promoteWhen?.[q]?.[ci] as PolicyCondition;
    c[op] = (c[op] as number) + by;
    return copy;
  }

  it("never recommends a higher tier after a promotion threshold is raised", () => {
    fc.assert(
      fc.property(policyArb(), tenantArb, readingsArb, fc.nat(), fc.constantFrom(0.01, 1, 5, 30, 200), (p, t, r, pick, by) => {
        const higher = raise(p, pick, by);
        fc.pre(higher !== undefined);
        const lowResult = evaluate(build(p, t, r));
        const highResult = evaluate(build(higher, t, r));
        const target = policyMove(build(higher, t, r), highResult);
        if (!target || t.pinned) return;
        const reference = t.served ?? t.floor;
        if (rank(target) <= rank(reference)) return; // only promotions
        // The lower threshold recommends at least as high, or cannot decide for unknown signals.
        if (lowResult.signalProblems.length > 0) {
          expect(lowResult.action.kind === "move" && lowResult.action.trigger !== "Pinned" && rank(lowResult.action.tier) < rank(reference)).toBe(false);
        } else {
          expect(rank(lowResult.recommendation?.tier ?? reference)).toBeGreaterThanOrEqual(rank(target));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("with known signals, no windows and automatic approval, a raised threshold promotes only where the lower one does", () => {
    const automatic = policyArb({ windows: ["0s", "0s", "0s"], promotion: "Automatic", demotion: "Automatic" });
    const known = fc.tuple(...SIGNALS.map(() => fc.constantFrom(...VALUES).map((value): SignalReading => ({ value, observedAt: NOW })))) as fc.Arbitrary<
      [SignalReading, SignalReading, SignalReading]
    >;
    fc.assert(
      fc.property(automatic, tenantArb, known, fc.nat(), fc.constantFrom(1, 5, 30), (p, t, signals, pick, by) => {
        const higher = raise(p, pick, by);
        fc.pre(higher !== undefined);
        const r = { signals, totals: [100, 400, 400] as [number, number, number] };
        const lowInput = build(p, t, r);
        const highInput = build(higher, t, r);
        const target = policyMove(highInput, evaluate(highInput));
        const reference = t.served ?? t.floor;
        if (!target || rank(target) <= rank(reference)) return;
        const low = policyMove(lowInput, evaluate(lowInput));
        expect(low).toBeDefined();
        expect(rank(low as Tier)).toBeGreaterThanOrEqual(rank(target));
      }),
      { numRuns: 3000 },
    );
  });

  it("never moves a tenant on unknown signals: any value they could take gives the same move", () => {
    const completion = fc.tuple(fc.constantFrom(...VALUES), fc.constantFrom(...VALUES), fc.constantFrom(...VALUES), fc.constantFrom(50, 400));
    fc.assert(
      fc.property(inputArb, completion, (input, [va, vb, vc, total]) => {
        const result = evaluate(input);
        const target = policyMove(input, result);
        if (result.signalProblems.length > 0) expect(target).toBeUndefined();
        if (!target || result.action.kind !== "move") return;
        // Fill every value the engine could not use (missing, failed, stale, share of an empty pool).
        const filled: Record<string, SignalReading> = { ...input.signals };
        const totals: Record<string, number> = { ...input.poolTotals };
        SIGNALS.forEach((name, i) => {
          const r = input.signals[name];
          const usable = r !== undefined && "value" in r && input.now - r.observedAt <= 48 * HOUR;
          if (!usable) filled[name] = { value: [va, vb, vc][i] as number, observedAt: input.now };
          if (!(totals[name] && totals[name] > 0)) totals[name] = total;
        });
        const other = evaluate({ ...input, signals: filled, poolTotals: totals });
        expect(other.action).toMatchObject({ kind: "move", tier: result.action.tier, trigger: result.action.trigger });
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the same result for the same input, whatever was evaluated before", () => {
    fc.assert(
      fc.property(inputArb, inputArb, (a, b) => {
        const first = evaluate(a);
        evaluate(b);
        expect(evaluate(a)).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });

  it("without a policy, places tenants exactly as desiredTier does", () => {
    const servable = fc.constantFrom<Tier>("pooled", "namespace");
    const t = fc.record({
      pinned: fc.option(servable, { freq: 4, nil: undefined }),
      floor: servable,
      ceiling: servable,
      served: fc.option(servable, { freq: 4, nil: undefined }),
      approval: fc.constant(undefined),
      previous: fc.constant(undefined),
      lastMoveAt: fc.constant(undefined),
    });
    fc.assert(
      fc.property(t, readingsArb, (tenant, r) => {
        const input = build(undefined, tenant, r);
        const result = evaluate(input);
        const expected = desiredTier({ tier: input.tenant.tier }, tenant.served);
        if (expected.tier === tenant.served) expect(result.action.kind).toBe("stay");
        else expect(result.action).toMatchObject({ kind: "move", tier: expected.tier, trigger: expected.trigger });
      }),
      { numRuns: 500 },
    );
  });
});
