import { afterEach, describe, expect, it, vi } from "vitest";
import { desiredTier } from "./desiredTierOracle.ts";
import type { PlacementPolicySpec, Tier } from "../../../operator/src/api/v1alpha1/index.ts";
import { compilePolicy, evaluate } from "../../../operator/src/policy/engine.ts";
import { fresh, HOUR, input, iso, NOW, policy, tierSettings } from "./fixtures.ts";

const withStabilization = (promoteAfter: string, demoteAfter: string, cooldown: string) =>
  policy({ stabilization: { promoteAfter, demoteAfter, cooldown } });

describe("conditions", () => {
  it("promotes a pooled tenant whose revenue reaches the threshold, saying which condition held", () => {
    const result = evaluate(input({ revenue: 21000 }));
    expect(result.action).toEqual({
      kind: "move",
      tier: "namespace",
      trigger: "Policy",
      reason: "monthlyRevenueUSD 21000 >= 20000",
      rule: "tiers[namespace].promoteWhen.any[0]",
    });
    expect(result.recommendation).toEqual({ tier: "namespace", reason: "monthlyRevenueUSD 21000 >= 20000", rule: "tiers[namespace].promoteWhen.any[0]", since: iso(NOW) });
    expect(result.signals).toEqual({ monthlyRevenueUSD: 21000, requestsPerDay: 100, requestsPerDayShare: 0.0001 });
    expect(result.signalProblems).toEqual([]);
  });

  it("compares gte, gt, lte and lt at the boundary exactly", () => {
    const at = (op: "gte" | "gt" | "lte" | "lt", revenue: number) =>
      evaluate(input({ revenue, policy: policy({ tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", [op]: 20000 }] } }] }) })).action.kind;
    expect([at("gte", 20000), at("gte", 19999)]).toEqual(["move", "stay"]);
    expect([at("gt", 20000), at("gt", 20001)]).toEqual(["stay", "move"]);
    expect([at("lte", 20000), at("lte", 20001)]).toEqual(["move", "stay"]);
    expect([at("lt", 20000), at("lt", 19999)]).toEqual(["stay", "move"]);
  });

  it("compares the tenant's share of its pool with share: true, and reports the share", () => {
    const result = evaluate(input({ signals: { requestsPerDay: fresh(6000) }, poolTotals: { requestsPerDay: 100000 } }));
    expect(result.action).toMatchObject({ kind: "move", tier: "namespace", reason: "requestsPerDayShare 0.06 >= 0.05", rule: "tiers[namespace].promoteWhen.any[1]" });
    expect(result.signals).toEqual({ monthlyRevenueUSD: 1000, requestsPerDay: 6000, requestsPerDayShare: 0.06 });
  });

  it("treats a share as unknown when the pool total is zero or missing", () => {
    const shareOnly = policy({ tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "requestsPerDay", share: true, gte: 0.05 }] } }] });
    for (const poolTotals of [{ requestsPerDay: 0 }, undefined]) {
      const result = evaluate(input({ policy: shareOnly, signals: { requestsPerDay: fresh(6000) }, poolTotals }));
      expect(result.action.kind).toBe("stay");
      expect(result.signals).not.toHaveProperty("requestsPerDayShare");
      expect(result.signalProblems).toEqual([{ signal: "requestsPerDay", problem: "Unknown", message: expect.stringContaining("pool total") }]);
    }
  });

  it("needs every condition of an all rule, and names them all in the reason", () => {
    const both = policy({
      tiers: [{ tier: "namespace", promoteWhen: { all: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", gt: 1000 }] } }],
    });
    expect(evaluate(input({ policy: both, revenue: 25000, signals: { requestsPerDay: fresh(500) } })).action.kind).toBe("stay");
    expect(evaluate(input({ policy: both, revenue: 25000, signals: { requestsPerDay: fresh(1500) } })).action).toMatchObject({
      kind: "move",
      reason: "monthlyRevenueUSD 25000 >= 20000 and requestsPerDay 1500 > 1000",
      rule: "tiers[namespace].promoteWhen.all",
    });
  });
});

describe("unknown signals (three-valued logic)", () => {
  const unavailable = { problem: "Unavailable", message: "Prometheus query failed: connection refused" } as const;

  it("promotes on an any rule that holds through another condition while one signal is unavailable", () => {
    // The ceiling keeps the unknown revenue rules of database and account from mattering.
    const result = evaluate(input({ ceiling: "namespace", signals: { monthlyRevenueUSD: unavailable, requestsPerDay: fresh(6000) }, poolTotals: { requestsPerDay: 100000 } }));
    expect(result.action).toMatchObject({ kind: "move", tier: "namespace" });
    expect(result.signalProblems).toEqual([]);
  });

  it("decides an all rule that is false through a known condition despite an unknown one", () => {
    const both = policy({
      tiers: [{ tier: "namespace", promoteWhen: { all: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", gt: 1000 }] } }],
    });
    const result = evaluate(input({ policy: both, revenue: 5000, signals: { requestsPerDay: unavailable } }));
    expect(result.action.kind).toBe("stay");
    expect(result.signalProblems).toEqual([]);
  });

  it("never moves a tenant when an unknown signal could change the outcome, and names it", () => {
    const both = policy({
      tiers: [{ tier: "namespace", promoteWhen: { all: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", gt: 1000 }] } }],
    });
    const result = evaluate(input({ policy: both, revenue: 25000, signals: { requestsPerDay: unavailable } }));
    expect(result.action).toMatchObject({ kind: "stay", reason: expect.stringContaining("requestsPerDay: Unavailable") });
    expect(result.recommendation).toBeUndefined();
    expect(result.signalProblems).toEqual([{ signal: "requestsPerDay", ...unavailable }]);
  });

  it("treats a value older than maxSignalAge as stale and does not move on it", () => {
    const result = evaluate(input({ signals: { monthlyRevenueUSD: fresh(90000, 49 * HOUR) } }));
    expect(result.action.kind).toBe("stay");
    expect(result.signals).not.toHaveProperty("monthlyRevenueUSD");
    expect(result.signalProblems).toEqual([
      { signal: "monthlyRevenueUSD", problem: "Stale", message: expect.stringMatching(/observed 49h ago, longer than maxSignalAge 48h/) },
    ]);
    expect(evaluate(input({ signals: { monthlyRevenueUSD: fresh(90000, 47 * HOUR) } })).action).toMatchObject({ kind: "move", tier: "database" });
  });

  it("reports a signal no reading was gathered for as Unknown", () => {
    const result = evaluate({ ...input(), signals: {} });
    expect(result.action.kind).toBe("stay");
    expect(result.signalProblems).toEqual([
      { signal: "monthlyRevenueUSD", problem: "Unknown", message: "no reading of monthlyRevenueUSD was gathered" },
      { signal: "requestsPerDay", problem: "Unknown", message: "no reading of requestsPerDay was gathered" },
    ]);
  });

  it("acts when the unknown rule cannot change the clamped outcome (a ceiling below it)", () => {
    // account's rule is unknown, but with ceiling database it could only give database anyway.
    const p = policy({
      tiers: [
        { tier: "database", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] }, database: tierSettings.database },
        { tier: "account", promoteWhen: { any: [{ signal: "requestsPerDay", gte: 1e9 }] }, account: tierSettings.account },
      ],
    });
    const result = evaluate(input({ policy: p, revenue: 60000, ceiling: "database", signals: { requestsPerDay: unavailable } }));
    expect(result.action).toMatchObject({ kind: "move", tier: "database", trigger: "Policy" });
    expect(result.signalProblems).toEqual([]);
    // Without the ceiling, account is possible: no move.
    expect(evaluate(input({ policy: p, revenue: 60000, signals: { requestsPerDay: unavailable } })).action.kind).toBe("stay");
  });

  it("keeps a pending recommendation and its timer while its signal is stale, without acting", () => {
    const p = withStabilization("24h", "0s", "0s");
    const since = NOW - 30 * HOUR;
    const result = evaluate(input({ policy: p, previous: { tier: "namespace", since, reason: "monthlyRevenueUSD 21000 >= 20000" }, signals: { monthlyRevenueUSD: fresh(21000, 50 * HOUR) } }));
    expect(result.action).toMatchObject({ kind: "stay", reason: expect.stringContaining("monthlyRevenueUSD: Stale") });
    expect(result.recommendation).toEqual({ tier: "namespace", reason: "monthlyRevenueUSD 21000 >= 20000", rule: "tiers[namespace].promoteWhen", since: iso(since) });
    // Fresh again: the window counted from the original since has passed.
    const later = evaluate(input({ policy: p, previous: { tier: "namespace", since }, revenue: 21000 }));
    expect(later.action).toMatchObject({ kind: "move", tier: "namespace", trigger: "Policy" });
  });

  it("drops a pending recommendation the unknown signals can no longer produce", () => {
    // requestsPerDay decides between namespace and staying; database cannot happen at revenue 1000.
    const result = evaluate(input({ previous: { tier: "database", since: NOW - HOUR }, signals: { requestsPerDay: { problem: "Stale", message: "old" } }, poolTotals: { requestsPerDay: 1 } }));
    expect(result.action.kind).toBe("stay");
    expect(result.recommendation).toBeUndefined();
  });
});

describe("the recommendation", () => {
  it("jumps straight to the highest tier whose promotion rule holds", () => {
    expect(evaluate(input({ revenue: 60000 })).action).toMatchObject({ kind: "move", tier: "database", rule: "tiers[database].promoteWhen.any[0]" });
    expect(evaluate(input({ revenue: 300000 })).action).toMatchObject({ kind: "move", tier: "account" });
  });

  it("never recommends a tier without a rule through promotion, and demotes past it", () => {
    const p = policy({
      tiers: [
        { tier: "database", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] }, demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 35000 }] }, database: tierSettings.database },
      ],
    });
    expect(evaluate(input({ policy: p, revenue: 40000 })).action.kind).toBe("stay");
    expect(evaluate(input({ policy: p, revenue: 10000, served: "database" })).action).toMatchObject({ kind: "move", tier: "pooled", rule: "tiers[database].demoteWhen.all" });
  });

  it("demotes to the highest lower tier whose promotion rule still holds", () => {
    const result = evaluate(input({ served: "database", revenue: 30000 }));
    expect(result.action).toMatchObject({
      kind: "move",
      tier: "namespace",
      trigger: "Policy",
      reason: "monthlyRevenueUSD 30000 < 35000; namespace still holds: monthlyRevenueUSD 30000 >= 20000",
      rule: "tiers[database].demoteWhen.all",
    });
  });

  it("demotes to the pool when no lower promotion rule holds", () => {
    expect(evaluate(input({ served: "namespace", revenue: 9000 })).action).toMatchObject({ kind: "move", tier: "pooled", reason: "monthlyRevenueUSD 9000 < 14000" });
  });

  it("keeps a tenant in the band between its demotion and promotion thresholds", () => {
    expect(evaluate(input({ served: "namespace", revenue: 16000 })).action).toEqual({ kind: "stay", reason: "stays namespace: no promotion or demotion rule holds" });
  });

  it("caps the recommendation at the ceiling, and says so", () => {
    const result = evaluate(input({ revenue: 60000, ceiling: "namespace" }));
    expect(result.action).toMatchObject({ kind: "move", tier: "namespace", reason: "monthlyRevenueUSD 60000 >= 50000 (capped at ceiling namespace)" });
    const atCeiling = evaluate(input({ revenue: 60000, ceiling: "namespace", served: "namespace" }));
    expect(atCeiling.recommendation).toBeUndefined();
    expect(atCeiling.action).toEqual({ kind: "stay", reason: "stays namespace: monthlyRevenueUSD 60000 >= 50000 (capped at ceiling namespace)" });
  });

  it("raises a demotion to the floor", () => {
    const result = evaluate(input({ served: "database", revenue: 1000, floor: "namespace" }));
    expect(result.action).toMatchObject({ kind: "move", tier: "namespace", reason: "monthlyRevenueUSD 1000 < 35000 (raised to floor namespace)" });
    expect(evaluate(input({ served: "namespace", revenue: 1000, floor: "namespace" })).action.kind).toBe("stay");
  });
});

describe("pins, floors and ceilings", () => {
  const strict = policy({ stabilization: { promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h" }, approval: { promotion: "Manual", demotion: "Manual" } });

  it("moves a pinned tenant at once, ignoring hysteresis, cooldown, approval, floor and ceiling", () => {
    const result = evaluate(input({ policy: strict, mode: "Pinned", pinned: "account", ceiling: "namespace", lastMoveAt: NOW - HOUR }));
    expect(result.action).toEqual({ kind: "move", tier: "account", trigger: "Pinned", reason: "spec.tier is pinned to account", rule: "spec.tier.pinned" });
    expect(result.recommendation).toBeUndefined();
  });

  it("keeps a pinned tenant where it is pinned whatever the signals say", () => {
    const result = evaluate(input({ mode: "Pinned", pinned: "namespace", served: "namespace", revenue: 900000 }));
    expect(result.action).toEqual({ kind: "stay", reason: "spec.tier is pinned to namespace" });
    expect(result.signals).toMatchObject({ monthlyRevenueUSD: 900000 });
    expect(result.signalProblems).toEqual([]);
  });

  it("raises a tenant below its floor and lowers one above its ceiling at once, during cooldown", () => {
    expect(evaluate(input({ policy: strict, floor: "database", lastMoveAt: NOW - HOUR })).action).toMatchObject({ kind: "move", tier: "database", trigger: "Floor" });
    expect(evaluate(input({ policy: strict, served: "account", ceiling: "namespace", revenue: 900000, lastMoveAt: NOW - HOUR })).action).toMatchObject({
      kind: "move",
      tier: "namespace",
      trigger: "Ceiling",
      reason: "spec.tier.ceiling is namespace",
    });
  });
});

describe("new tenants", () => {
  const strict = policy({ stabilization: { promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h" } });

  it("places a new tenant in the pool", () => {
    expect(evaluate(input({ served: undefined })).action).toEqual({ kind: "move", tier: "pooled", trigger: "Policy", reason: "new tenant placed in the pool", rule: "spec.tier.floor" });
  });

  it("places a new tenant at its floor", () => {
    expect(evaluate(input({ served: undefined, floor: "namespace" })).action).toMatchObject({ kind: "move", tier: "namespace", trigger: "Floor", reason: "new tenant placed at its floor namespace" });
  });

  it("places a new tenant straight at the recommended tier, without stabilization or cooldown", () => {
    const result = evaluate(input({ policy: strict, served: undefined, revenue: 60000, lastMoveAt: NOW }));
    expect(result.action).toMatchObject({ kind: "move", tier: "database", trigger: "Policy", reason: "monthlyRevenueUSD 60000 >= 50000" });
    expect(result.recommendation).toMatchObject({ tier: "database", since: iso(NOW) });
  });

  it("starts a new tenant at its floor while Manual promotion has not approved the recommended tier", () => {
    const manual = policy({ approval: { promotion: "Manual", demotion: "Manual" } });
    const waiting = evaluate(input({ policy: manual, served: undefined, revenue: 60000 }));
    expect(waiting.action).toMatchObject({ kind: "move", tier: "pooled", trigger: "Policy", reason: expect.stringContaining("kubectl annotate tp acme landlord.dev/approve-tier=database") });
    expect(waiting.recommendation?.tier).toBe("database");
    const approved = evaluate(input({ policy: manual, served: undefined, revenue: 60000, approval: "database" }));
    expect(approved.action).toMatchObject({ kind: "move", tier: "database", trigger: "Manual", approval: { annotation: "database" } });
  });

  it("starts a new tenant at its floor when unknown signals leave the recommendation open", () => {
    const result = evaluate(input({ served: undefined, floor: "namespace", signals: { monthlyRevenueUSD: { problem: "Unavailable", message: "not reported yet" } } }));
    expect(result.action).toMatchObject({ kind: "move", tier: "namespace", trigger: "Floor", reason: expect.stringContaining("monthlyRevenueUSD: Unavailable") });
  });
});

describe("hysteresis", () => {
  const p = withStabilization("24h", "720h", "168h");

  it("holds a new recommendation for promoteAfter and says when it may act", () => {
    const result = evaluate(input({ policy: p, revenue: 21000 }));
    expect(result.recommendation).toMatchObject({ tier: "namespace", since: iso(NOW) });
    expect(result.action).toMatchObject({ kind: "wait", tier: "namespace", why: "Stabilizing", retryAt: NOW + 24 * HOUR });
    expect(result.action.kind === "wait" && result.action.message).toContain("must hold for promoteAfter 24h");
  });

  it("keeps since while the recommendation is unchanged, and acts once the window has passed", () => {
    const held = evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: NOW - 23 * HOUR } }));
    expect(held.recommendation?.since).toBe(iso(NOW - 23 * HOUR));
    expect(held.action).toMatchObject({ kind: "wait", why: "Stabilizing", retryAt: NOW + HOUR });
    expect(evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: NOW - 24 * HOUR } })).action).toMatchObject({ kind: "move", tier: "namespace" });
  });

  it("restarts the window when the recommended tier changes", () => {
    const result = evaluate(input({ policy: p, revenue: 60000, previous: { tier: "namespace", since: NOW - 100 * HOUR } }));
    expect(result.recommendation).toMatchObject({ tier: "database", since: iso(NOW) });
    expect(result.action).toMatchObject({ kind: "wait", why: "Stabilizing" });
  });

  it("restarts the window when the stored since does not parse", () => {
    const result = evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: "yesterday" } }));
    expect(result.recommendation?.since).toBe(iso(NOW));
  });

  it("counts a since in the future (another replica's clock) from now", () => {
    const result = evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: NOW + HOUR } }));
    expect(result.recommendation?.since).toBe(iso(NOW));
    expect(result.action).toMatchObject({ kind: "wait", why: "Stabilizing", retryAt: NOW + 24 * HOUR });
  });

  it("holds a demotion for demoteAfter", () => {
    const result = evaluate(input({ policy: p, served: "namespace", revenue: 9000, previous: { tier: "pooled", since: NOW - 700 * HOUR } }));
    expect(result.action).toMatchObject({ kind: "wait", why: "Stabilizing", retryAt: NOW + 20 * HOUR });
  });

  it("does not move a tenant again within cooldown of its last move", () => {
    const result = evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: NOW - 48 * HOUR }, lastMoveAt: NOW - 100 * HOUR }));
    expect(result.action).toMatchObject({ kind: "wait", why: "Cooldown", retryAt: NOW + 68 * HOUR });
    expect(evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: NOW - 48 * HOUR }, lastMoveAt: NOW - 168 * HOUR })).action.kind).toBe("move");
  });

  it("names whichever of stabilization and cooldown ends later", () => {
    const coolLonger = evaluate(input({ policy: p, revenue: 21000, previous: { tier: "namespace", since: NOW - 23 * HOUR }, lastMoveAt: NOW - HOUR }));
    expect(coolLonger.action).toMatchObject({ why: "Cooldown", retryAt: NOW + 167 * HOUR });
    const stabilizeLonger = evaluate(input({ policy: withStabilization("24h", "720h", "2h"), revenue: 21000, lastMoveAt: NOW - HOUR }));
    expect(stabilizeLonger.action).toMatchObject({ why: "Stabilizing", retryAt: NOW + 24 * HOUR });
    expect(stabilizeLonger.action.kind === "wait" && stabilizeLonger.action.message).toContain("cooldown also runs until");
  });
});

describe("approval", () => {
  const manualDemotion = policy({ approval: { promotion: "Automatic", demotion: "Manual" } });
  const manualPromotion = policy({ approval: { promotion: "Manual", demotion: "Automatic" } });

  it("waits for the approval annotation before a Manual demotion, and says how to give it", () => {
    const result = evaluate(input({ policy: manualDemotion, served: "namespace", revenue: 9000 }));
    expect(result.action).toEqual({
      kind: "wait",
      tier: "pooled",
      why: "AwaitingApproval",
      message: "demotion to pooled (monthlyRevenueUSD 9000 < 14000) needs approval: kubectl annotate tp acme landlord.dev/approve-tier=pooled landlord.dev/approve-reason='<why>'",
    });
  });

  it("moves with trigger Manual and records the annotation once it names the recommended tier", () => {
    const result = evaluate(input({ policy: manualDemotion, served: "namespace", revenue: 9000, approval: "pooled" }));
    expect(result.action).toEqual({
      kind: "move",
      tier: "pooled",
      trigger: "Manual",
      reason: "monthlyRevenueUSD 9000 < 14000; approved with landlord.dev/approve-tier=pooled",
      rule: "tiers[namespace].demoteWhen.all",
      approval: { annotation: "pooled" },
    });
  });

  it("ignores an approval for a tier the policy does not recommend, and says so", () => {
    const result = evaluate(input({ policy: manualPromotion, revenue: 21000, approval: "database" }));
    expect(result.action).toMatchObject({ kind: "wait", why: "AwaitingApproval" });
    expect(result.action.kind === "wait" && result.action.message).toContain("landlord.dev/approve-tier=database does nothing: the policy recommends namespace");
    expect(result.action.kind === "wait" && result.action.message).toContain("--overwrite");
    const noMove = evaluate(input({ policy: manualPromotion, revenue: 1000, approval: "database" }));
    expect(noMove.action).toEqual({ kind: "stay", reason: "stays pooled: no promotion or demotion rule holds; landlord.dev/approve-tier=database does nothing: the policy recommends no move" });
  });

  it("does not let an approval shorten stabilization or cooldown", () => {
    const slow = policy({ stabilization: { promoteAfter: "24h", demoteAfter: "0s", cooldown: "0s" }, approval: { promotion: "Manual", demotion: "Manual" } });
    const result = evaluate(input({ policy: slow, revenue: 21000, approval: "namespace" }));
    expect(result.action).toMatchObject({ kind: "wait", why: "Stabilizing" });
    const unapproved = evaluate(input({ policy: slow, revenue: 21000 }));
    expect(unapproved.action.kind === "wait" && unapproved.action.message).toContain("it then needs approval");
  });

  it("promotes automatically by default and demotes only with approval when the policy leaves approval out", () => {
    const bare = { ...policy() } as Partial<PlacementPolicySpec>;
    delete bare.approval;
    delete bare.stabilization;
    const spec = bare as PlacementPolicySpec;
    expect(evaluate(input({ policy: spec, revenue: 21000 })).action).toMatchObject({ kind: "move", trigger: "Policy" });
    expect(evaluate(input({ policy: spec, served: "namespace", revenue: 9000 })).action).toMatchObject({ kind: "wait", why: "AwaitingApproval" });
  });
});

describe("without a policy", () => {
  const cases: { served: Tier | undefined; floor?: Tier; ceiling?: Tier; mode?: "Pinned"; pinned?: Tier }[] = [
    { served: undefined },
    { served: undefined, floor: "namespace" },
    { served: "namespace" },
    { served: "pooled", floor: "namespace" },
    { served: "namespace", ceiling: "pooled" },
    { served: "pooled", mode: "Pinned", pinned: "namespace" },
  ];

  it.each(cases)("places the tenant like desiredTier does: %o", (c) => {
    const result = evaluate(input({ policy: undefined, ...c }));
    const spec = { tier: { mode: c.mode ?? ("Auto" as const), ...(c.pinned ? { pinned: c.pinned } : {}), floor: c.floor ?? ("pooled" as const), ceiling: c.ceiling ?? ("account" as const) } };
    const expected = desiredTier(spec, c.served);
    if (expected.tier === c.served) expect(result.action.kind).toBe("stay");
    else expect(result.action).toMatchObject({ kind: "move", tier: expected.tier, trigger: expected.trigger });
    expect(result.recommendation).toBeUndefined();
  });
});

describe("the engine itself", () => {
  afterEach(() => vi.restoreAllMocks());

  it("never reads the clock, and gives equal results for equal inputs", () => {
    vi.spyOn(Date, "now").mockImplementation(() => {
      throw new Error("the engine read the clock");
    });
    const p = withStabilization("24h", "720h", "168h");
    const a = evaluate(input({ policy: p, revenue: 21000 }));
    const b = evaluate(input({ policy: p, revenue: 21000 }));
    expect(a).toEqual(b);
  });

  it("compiles a policy once per spec object and accepts the compiled form", () => {
    const spec = policy();
    const compiled = compilePolicy(spec);
    expect(compilePolicy(spec)).toBe(compiled);
    expect(compilePolicy(compiled)).toBe(compiled);
    expect(evaluate({ ...input({ revenue: 21000 }), policy: compiled })).toEqual(evaluate(input({ revenue: 21000, policy: spec })));
  });

  it("reports every declared signal it could use, even one no rule compares", () => {
    const result = evaluate(input({ served: "namespace", revenue: 16000, signals: { cpuCores: fresh(2.5) } }));
    expect(result.signals).toEqual({ monthlyRevenueUSD: 16000, cpuCores: 2.5, requestsPerDay: 100, requestsPerDayShare: 0.0001 });
  });
});
