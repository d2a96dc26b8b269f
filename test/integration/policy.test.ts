import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, k, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";
import { startPrometheus } from "./prometheusServer.ts";

interface Tenant {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: {
    tier?: string;
    phase?: string;
    signals?: Record<string, number>;
    recommendation?: { tier: string; reason: string; since: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}
interface Decision {
  metadata: { name: string };
  spec: { from?: string; to: string; trigger: string; rule?: string; signals?: Record<string, number>; approval?: { annotation: string }; actor?: string; reason?: string; policy?: { name: string } };
  status?: { outcome?: string };
}

const run = `p${Date.now().toString(36)}`;
const POOL = `${run}-pool`;

const applyObjects = (objects: Record<string, unknown>[]): Promise<string> =>
  k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

function policy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementPolicy",
    metadata: { name },
    spec: {
      signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
      tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }] } }],
      stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
      ...spec,
    },
  };
}

function tenant(name: string, policyRef: string, revenue: number, pool = POOL): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    metadata: { name },
    spec: { tenantId: name, costCenter: "cc-pol", pool, policyRef, reportedSignals: { monthlyRevenueUSD: revenue } },
  };
}

const getTenant = (name: string): Promise<Tenant> => kJson<Tenant>(["get", "tp", name]);
const setRevenue = (name: string, revenue: number): Promise<string> =>
  // A merge patch by the "billing" field manager, the way an external system reports a signal.
  k(["patch", "tp", name, "--type=merge", "--field-manager=billing", "-p", JSON.stringify({ spec: { reportedSignals: { monthlyRevenueUSD: revenue } } })]);

async function waitFor(name: string, want: (t: Tenant) => boolean, what: string, timeoutMs = 30_000): Promise<Tenant> {
  return eventually(async () => {
    const t = await getTenant(name);
    return want(t) ? t : undefined;
  }, { what: `${name}: ${what}`, timeoutMs });
}

const condition = (t: Tenant, type: string) => t.status?.conditions?.find((c) => c.type === type);
const decisions = async (name: string): Promise<Decision[]> =>
  (await kJson<{ items: Decision[] }>(["get", "pdec", "-l", `landlord.dev/tenant=${name}`])).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

describe("the promotion engine against the real control plane and a real Prometheus", () => {
  let operator: OperatorProcess;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;

  beforeAll(async () => {
    prometheus = await startPrometheus();
    await applyObjects([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: POOL, capacity: { maxTenants: 100, cpu: "50", memory: "100Gi" } } },
    ]);
    operator = await startOperatorProcess(["--prometheus-url", prometheus.url, "--prometheus-timeout", "2s"]);
    await operator.waitReady();
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    await prometheus?.stop();
  });

  it("promotes a tenant whose reported revenue crosses the threshold, and records why", async () => {
    const name = `${run}-rev`;
    await applyObjects([policy(`${run}-rev`, {}), tenant(name, `${run}-rev`, 1000)]);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "pooled");
    await setRevenue(name, 25_000);
    const moved = await waitFor(name, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "promoted to its namespace");
    expect(moved.status?.signals?.monthlyRevenueUSD).toBe(25_000);
    const move = (await decisions(name)).at(-1);
    expect(move?.spec).toMatchObject({ from: "pooled", to: "namespace", trigger: "Policy", signals: { monthlyRevenueUSD: 25_000 }, policy: { name: `${run}-rev` } });
    expect(move?.spec.rule).toContain("monthlyRevenueUSD 25000 >= 20000");
  });

  it("re-evaluates a policy's tenants as soon as the policy changes, not at the next resync", async () => {
    const name = `${run}-edit`;
    const strict = policy(`${run}-edit`, { tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 40000 }] } }] });
    await applyObjects([strict, tenant(name, `${run}-edit`, 25_000)]);
    const pooled = await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "pooled under the $40k threshold");
    expect(pooled.status?.recommendation).toBeUndefined();
    // Lowering the threshold to $20k is a change to the policy only; the resync period is 10 minutes.
    await applyObjects([policy(`${run}-edit`, {})]);
    await waitFor(name, (t) => t.status?.tier === "namespace", "promoted under the new threshold", 15_000);
  });

  it("holds a promotion until the threshold has held for promoteAfter", async () => {
    const name = `${run}-hyst`;
    await applyObjects([policy(`${run}-hyst`, { stabilization: { promoteAfter: "6s", demoteAfter: "0s", cooldown: "0s" } }), tenant(name, `${run}-hyst`, 1000)]);
    await waitFor(name, (t) => t.status?.tier === "pooled", "pooled");
    const crossedAt = Date.now();
    await setRevenue(name, 30_000);
    const waiting = await waitFor(name, (t) => condition(t, "Promoting")?.reason === "Stabilizing", "stabilizing");
    expect(waiting.status?.tier).toBe("pooled");
    expect(waiting.status?.recommendation?.tier).toBe("namespace");
    await waitFor(name, (t) => t.status?.tier === "namespace", "promoted after the window", 30_000);
    expect(Date.now() - crossedAt).toBeGreaterThanOrEqual(6_000);
  });

  it("waits for the approval annotation before a manual demotion, records it, and clears it", async () => {
    const name = `${run}-dem`;
    await applyObjects([
      policy(`${run}-dem`, {
        tiers: [
          {
            tier: "namespace",
            promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }] },
            demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }] },
          },
        ],
        approval: { promotion: "Automatic", demotion: "Manual" },
      }),
      tenant(name, `${run}-dem`, 30_000),
    ]);
    await waitFor(name, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "placed in its namespace");
    await setRevenue(name, 5_000);
    const waiting = await waitFor(name, (t) => condition(t, "Promoting")?.reason === "AwaitingApproval", "awaiting approval");
    expect(waiting.status?.tier).toBe("namespace");
    expect(condition(waiting, "Promoting")?.message).toContain("landlord.dev/approve-tier=pooled");

    await k(["annotate", "tp", name, "landlord.dev/approve-tier=pooled", "landlord.dev/approve-reason=INC-7 revenue fell"]);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "demoted to the pool");
    const move = (await decisions(name)).at(-1);
    // The actor is the user the API server authenticated (the suite's admin certificate), stamped at admission.
    expect(move?.spec).toMatchObject({ from: "namespace", to: "pooled", trigger: "Manual", approval: { annotation: "pooled" }, actor: "landlord-admin", reason: "INC-7 revenue fell" });
    const cleared = await waitFor(name, (t) => t.metadata.annotations?.["landlord.dev/approve-tier"] === undefined, "the approval annotation cleared");
    expect(cleared.metadata.annotations?.["landlord.dev/approve-reason"]).toBeUndefined();
    // Consumed once: the tenant stays pooled, and no further decision is recorded.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await decisions(name)).at(-1)?.metadata.name).toBe(move?.metadata.name);
  });

  it("holds moves back beyond the policy's rate limit, says so, and releases them when the limit allows", async () => {
    const pol = `${run}-rate`;
    const names = ["a", "b", "c"].map((n) => `${run}-rate-${n}`);
    await applyObjects([policy(pol, { rateLimit: { maxConcurrentMoves: 5, maxMovesPerHour: 2 } }), ...names.map((n) => tenant(n, pol, 1000))]);
    for (const n of names) await waitFor(n, (t) => t.status?.tier === "pooled", "pooled");
    for (const n of names) await setRevenue(n, 40_000);
    await eventually(async () => {
      const all = await Promise.all(names.map(getTenant));
      const moved = all.filter((t) => t.status?.tier === "namespace").length;
      const limited = all.filter((t) => condition(t, "Promoting")?.reason === "RateLimited").length;
      return moved === 2 && limited === 1 ? true : undefined;
    }, { what: "two moves and one held back by maxMovesPerHour", timeoutMs: 30_000 });
    const held = (await Promise.all(names.map(getTenant))).find((t) => t.status?.tier === "pooled") as Tenant;
    expect(condition(held, "Promoting")?.message).toContain("maxMovesPerHour is 2");

    await k(["patch", "ppol", pol, "--type=merge", "-p", JSON.stringify({ spec: { rateLimit: { maxMovesPerHour: 3 } } })]);
    await waitFor(held.metadata.name, (t) => t.status?.tier === "namespace", "released once the limit allows", 30_000);
  });

  it("never moves a tenant on a stale reported value, and says the signal is stale", async () => {
    const name = `${run}-stale`;
    await applyObjects([
      policy(`${run}-stale`, { maxSignalAge: "1s", stabilization: { promoteAfter: "4s", demoteAfter: "0s", cooldown: "0s" } }),
      tenant(name, `${run}-stale`, 1000),
    ]);
    await waitFor(name, (t) => t.status?.tier === "pooled", "pooled");
    await setRevenue(name, 90_000);
    const stale = await waitFor(name, (t) => condition(t, "SignalsStale")?.status === "True", "a SignalsStale condition", 20_000);
    expect(condition(stale, "SignalsStale")?.message).toContain("monthlyRevenueUSD");
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await getTenant(name)).status?.tier).toBe("pooled");
    // What the LandlordSignalsStale alert watches.
    const metrics = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();
    expect(Number(/^landlord_tenants_signal_problems\{problem="stale"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it("says on the PlacementPolicy that its Prometheus query fails, for how many of its tenants", async () => {
    const pol = `${run}-badq`;
    const names = [`${run}-badq-a`, `${run}-badq-b`];
    await applyObjects([
      policy(pol, {
        // Valid for the API server (any string), refused by Prometheus: a PromQL syntax error.
        signals: [{ name: "requestsPerDay", source: { prometheus: { query: 'sum(landlord_it_requests{tenant="{{tenantId}}"}' } } }],
        tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "requestsPerDay", gte: 100 }] } }],
        evaluationInterval: "1s",
      }),
      ...names.map((n) => tenant(n, pol, 0)),
    ]);
    const status = await eventually(async () => {
      const p = await kJson<{ status?: { tenants?: number; conditions?: { type: string; status: string; reason: string; message: string }[] } }>(["get", "ppol", pol]);
      const degraded = p.status?.conditions?.find((c) => c.type === "Degraded");
      return degraded?.message.startsWith("2 of 2 tenant(s)") && degraded.message.includes("query failed") ? p.status : undefined;
    }, { what: `${pol} to be Degraded by its failing query`, timeoutMs: 45_000 });
    expect(status.tenants).toBe(2);
    expect(status.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "SignalsUnavailable" });
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True", reason: "Valid" });
    // Fixing the query clears it.
    await applyObjects([
      policy(pol, {
        signals: [{ name: "requestsPerDay", source: { prometheus: { query: 'sum(landlord_it_requests{tenant="{{tenantId}}"}) or vector(0)' } } }],
        tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "requestsPerDay", gte: 100 }] } }],
        evaluationInterval: "1s",
      }),
    ]);
    await eventually(async () => {
      const p = await kJson<{ status?: { conditions?: { type: string; status: string }[] } }>(["get", "ppol", pol]);
      return p.status?.conditions?.find((c) => c.type === "Degraded")?.status === "False" ? true : undefined;
    }, { what: `${pol} to be no longer Degraded once the query is fixed`, timeoutMs: 45_000 });
  }, 120_000);

  it("promotes on a real Prometheus signal, by the tenant's share of its pool", async () => {
    const pol = `${run}-prom`;
    const pool = `${run}-ppool`;
    const [big, small] = [`${run}-big`, `${run}-small`];
    prometheus.exporter.setSeries("landlord_it_requests", { tenant: big }, 10);
    prometheus.exporter.setSeries("landlord_it_requests", { tenant: small }, 10);
    await applyObjects([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: pool }, spec: { namespacePrefix: pool, capacity: { maxTenants: 10, cpu: "10", memory: "20Gi" } } },
      policy(pol, {
        signals: [{ name: "requestsPerDay", source: { prometheus: { query: 'sum(landlord_it_requests{tenant="{{tenantId}}"})' } } }],
        tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "requestsPerDay", share: true, gte: 0.6 }] } }],
        evaluationInterval: "1s",
      }),
      tenant(big, pol, 0, pool),
      tenant(small, pol, 0, pool),
    ]);
    // Equal traffic: each has half of the pool's requests, below the 60% threshold.
    const even = await waitFor(big, (t) => t.status?.signals?.requestsPerDay === 10 && t.status.tier === "pooled", "the Prometheus value in status", 30_000);
    expect(even.status?.signals?.requestsPerDayShare).toBeCloseTo(0.5, 5);

    prometheus.exporter.setSeries("landlord_it_requests", { tenant: big }, 90);
    await waitFor(big, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "promoted by its 90% share", 40_000);
    const move = (await decisions(big)).at(-1);
    expect(move?.spec.signals?.requestsPerDayShare).toBeCloseTo(0.9, 5);
    expect((await getTenant(small)).status?.tier).toBe("pooled");
  }, 90_000);
});
