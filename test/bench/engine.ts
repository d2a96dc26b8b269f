/**
 * The policy engine over n synthetic tenants against the unit tests' example policy (test/unit/policy/fixtures.ts): revenue and
 * request-share rules on three tiers, hysteresis, Manual demotion, some stale and missing signals,
 * pinned tenants, pending recommendations and recent moves. Inputs are built before the clock
 * starts; a short warm-up pass runs first so the figure is the steady state the operator sees.
 */
import { performance } from "node:perf_hooks";
import { TIERS, type Tier } from "../../operator/src/api/v1alpha1/index.ts";
import { compilePolicy, evaluate, type EngineInput, type SignalReading } from "../../operator/src/policy/engine.ts";
import { HOUR, NOW, policy } from "../unit/policy/fixtures.ts";
import { prng } from "../fixtures/prng.ts";

/** The unit tests' example policy, with the default policy's windows (24h, 720h, 168h) and a Manual demotion. */
export const BENCH_POLICY = policy({
  stabilization: { promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h" },
  approval: { promotion: "Automatic", demotion: "Manual" },
});

export function benchTenants(n: number, seed = 1): EngineInput[] {
  const rnd = prng(seed);
  const policy = compilePolicy(BENCH_POLICY);
  const poolTotals = { requestsPerDay: 2e8, monthlyRevenueUSD: 5e7, cpuCores: 4000 };
  const inputs: EngineInput[] = [];
  for (let i = 0; i < n; i++) {
    // Revenue: most tenants small, a long tail of large ones.
    const revenue = Math.round(1000 * Math.exp(rnd() * 6.2));
    // Served where revenue was some weeks ago (±40%), so a good share have a move pending.
    const earlier = revenue * (0.6 + rnd() * 0.8);
    const served: Tier | undefined = rnd() < 0.02 ? undefined : earlier > 250000 ? "account" : earlier > 50000 ? "database" : earlier > 20000 ? "namespace" : "pooled";
    const stale = rnd() < 0.01;
    const signals: Record<string, SignalReading> = {
      monthlyRevenueUSD: { value: revenue, observedAt: NOW - (stale ? 72 : rnd() * 30) * HOUR },
      // About 40 requests a day per dollar of revenue, so a few large tenants pass the 5% share rule.
      requestsPerDay: rnd() < 0.005 ? { problem: "Unavailable", message: "Prometheus query failed" } : { value: Math.round(revenue * rnd() * 80), observedAt: NOW - 5 * 60_000 },
    };
    if (served !== undefined && served !== "pooled") signals.cpuCores = { value: rnd() * 8, observedAt: NOW };
    const pinned = rnd() < 0.01;
    const pending = rnd() < 0.1 ? (TIERS[Math.floor(rnd() * 4)] as Tier) : undefined;
    inputs.push({
      now: NOW,
      policy,
      tenant: {
        tenantId: `bench-${i}`,
        tier: pinned ? { mode: "Pinned", pinned: "namespace", floor: "pooled", ceiling: "account" } : { mode: "Auto", floor: "pooled", ceiling: rnd() < 0.05 ? "namespace" : "account" },
        served,
        ...(rnd() < 0.01 ? { approval: "pooled" } : {}),
        ...(pending ? { previousRecommendation: { tier: pending, reason: "earlier", since: new Date(NOW - rnd() * 48 * HOUR).toISOString() } } : {}),
        ...(rnd() < 0.2 ? { lastMoveAt: NOW - rnd() * 400 * HOUR } : {}),
      },
      signals,
      poolTotals,
    });
  }
  return inputs;
}

/** Evaluates n synthetic tenants; `ms` is the evaluation time only, `actions` counts outcomes. */
export function benchEngine(n: number): { ms: number; actions: Record<string, number>; results: number } {
  const warmup = benchTenants(Math.min(n, 2000), 2);
  for (const input of warmup) evaluate(input);
  const inputs = benchTenants(n);
  // Counted as they come, not kept: the operator acts on each result and drops it.
  const actions: Record<string, number> = {};
  let results = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const { action } = evaluate(inputs[i] as EngineInput);
    const key = action.kind === "move" ? `move:${action.trigger}` : action.kind === "wait" ? `wait:${action.why}` : "stay";
    actions[key] = (actions[key] ?? 0) + 1;
    results++;
  }
  const ms = performance.now() - started;
  return { ms, actions, results };
}
