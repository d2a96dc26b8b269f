import { describe, expect, it } from "vitest";
import type { DecisionObject, PolicyObject, TenantObject } from "../../../operator/src/cli/clusterClient.ts";
import { buildExplanation, formatExplanation } from "../../../operator/src/cli/explain.ts";
import { auditRows } from "../../../operator/src/cli/audit.ts";

const NOW = Date.parse("2026-11-23T12:00:00Z");

function tenant(overrides: { spec?: TenantObject["spec"]; status?: TenantObject["status"]; annotations?: Record<string, string> } = {}): TenantObject {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    metadata: { name: "acme", ...(overrides.annotations ? { annotations: overrides.annotations } : {}) },
    spec: { tenantId: "acme", costCenter: "cc-1", policyRef: "default", tier: { mode: "Auto", floor: "pooled", ceiling: "account" }, ...overrides.spec },
    status: {
      tier: "pooled",
      pool: "standard",
      namespace: "pool-standard-1",
      phase: "Active",
      signals: { monthlyRevenueUSD: 26000, requestsPerDay: 1000, requestsPerDayShare: 0.01 },
      ...overrides.status,
    },
  };
}

const policy: PolicyObject = {
  apiVersion: "landlord.dev/v1alpha1",
  kind: "PlacementPolicy",
  metadata: { name: "default" },
  spec: {
    signals: [
      { name: "monthlyRevenueUSD", source: { reported: {} } },
      { name: "requestsPerDay", source: { reported: {} } },
      { name: "cpuCores", source: { kubernetes: { resource: "requests.cpu" } } },
    ],
    tiers: [
      {
        tier: "namespace",
        promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", share: true, gte: 0.05 }] },
        demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }] },
      },
      { tier: "database", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }, { signal: "cpuCores", gte: 8 }] } },
    ],
    stabilization: { promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h" },
    approval: { promotion: "Automatic", demotion: "Manual" },
  },
};

function decision(name: string, from: string | undefined, to: string, requestedAt: string): DecisionObject {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementDecision",
    metadata: { name, labels: { "landlord.dev/tenant": "acme" } },
    spec: { tenant: "acme", ...(from ? { from } : {}), to, trigger: "Policy", requestedAt },
  };
}

describe("buildExplanation", () => {
  it("evaluates every condition of every rule against status.signals, share values included", () => {
    const e = buildExplanation({ tenant: tenant(), policy, decisions: [], now: NOW });
    expect(e.rules.map((r) => [r.rule, r.holds])).toEqual([
      ["tiers[namespace].promoteWhen", "true"],
      ["tiers[namespace].demoteWhen", "false"],
      ["tiers[database].promoteWhen", "unknown"],
    ]);
    expect(e.rules[0]?.conditions.map((c) => [c.signal, c.value, c.operator, c.threshold, c.holds])).toEqual([
      ["monthlyRevenueUSD", 26000, ">=", 20000, "true"],
      ["requestsPerDayShare", 0.01, ">=", 0.05, "false"],
    ]);
    expect(e.rules[2]?.conditions.map((c) => c.holds)).toEqual(["false", "unknown"]);
    const text = formatExplanation(e);
    expect(text).toContain("✓ monthlyRevenueUSD 26000 >= 20000");
    expect(text).toContain("✗ requestsPerDayShare 0.01 >= 0.05");
    expect(text).toContain("? cpuCores (unknown) >= 8");
  });

  it("says when a stabilizing promotion can act, and on which condition", () => {
    const e = buildExplanation({
      tenant: tenant({ status: { recommendation: { tier: "namespace", reason: "monthlyRevenueUSD 26000 >= 20000", since: "2026-11-23T10:00:00Z" } } }),
      policy,
      decisions: [],
      now: NOW,
    });
    expect(e.recommendation).toMatchObject({ tier: "namespace", stableAt: "2026-11-24T10:00:00Z", window: "promoteAfter 24h" });
    expect(e.approval.needed).toBe(false);
    expect(e.next).toBe("promotes to namespace at 2026-11-24T10:00:00Z if monthlyRevenueUSD stays >= 20000");
    expect(formatExplanation(e)).toMatch(/\nNext: promotes to namespace at 2026-11-24T10:00:00Z/);
  });

  it("lets the cooldown of the newest move push the time back", () => {
    const e = buildExplanation({
      tenant: tenant({ status: { recommendation: { tier: "namespace", reason: "r", since: "2026-11-20T00:00:00Z" } } }),
      policy,
      decisions: [decision("acme-0001", undefined, "pooled", "2026-11-01T00:00:00Z"), decision("acme-0002", "namespace", "pooled", "2026-11-22T00:00:00Z")],
      now: NOW,
    });
    expect(e.cooldown).toEqual({ lastMove: "acme-0002", movedAt: "2026-11-22T00:00:00Z", until: "2026-11-29T00:00:00Z", running: true });
    expect(e.next).toContain("promotes to namespace at 2026-11-29T00:00:00Z");
  });

  it("asks for approval of a manual demotion", () => {
    const e = buildExplanation({
      tenant: tenant({
        status: { tier: "namespace", namespace: "tenant-acme", signals: { monthlyRevenueUSD: 1000 }, recommendation: { tier: "pooled", reason: "monthlyRevenueUSD 1000 < 14000", since: "2026-10-01T00:00:00Z" } },
      }),
      policy,
      decisions: [],
      now: NOW,
    });
    expect(e.approval).toEqual({ needed: true });
    expect(e.next).toBe(
      "demotes to pooled when the operator next evaluates it if monthlyRevenueUSD stays < 14000, once approved: kubectl annotate tp acme landlord.dev/approve-tier=pooled landlord.dev/approve-reason='<why>'",
    );
  });

  it("without a recommendation, says what would start one", () => {
    const e = buildExplanation({ tenant: tenant({ status: { signals: { monthlyRevenueUSD: 1200 } } }), policy, decisions: [], now: NOW });
    expect(e.next).toBe("promotes to namespace when monthlyRevenueUSD >= 20000 (now 1200) or requestsPerDayShare >= 0.05 (now unknown) holds for promoteAfter 24h");
  });

  it("covers pinned tenants, missing policies and moves in progress", () => {
    expect(buildExplanation({ tenant: tenant({ spec: { tier: { mode: "Pinned", pinned: "namespace" } } }), policy, decisions: [], now: NOW }).next).toContain("pinned to namespace");
    const missing = buildExplanation({ tenant: tenant(), policy: undefined, decisions: [], now: NOW });
    expect(missing.policy.found).toBe(false);
    expect(missing.rules).toEqual([]);
    expect(missing.next).toContain("PlacementPolicy default does not exist");
    expect(buildExplanation({ tenant: tenant({ status: { targetTier: "namespace", phase: "Provisioning" } }), policy, decisions: [], now: NOW }).next).toContain(
      "move to namespace is in progress",
    );
  });

  it("reports the approval annotation and the Promoting condition", () => {
    const e = buildExplanation({
      tenant: tenant({
        annotations: { "landlord.dev/approve-tier": "namespace" },
        status: { conditions: [{ type: "Promoting", status: "False", reason: "Stabilizing", message: "promotion to namespace ..." }] },
      }),
      policy,
      decisions: [],
      now: NOW,
    });
    expect(e.approval.annotation).toBe("namespace");
    expect(e.promoting).toEqual({ status: "False", reason: "Stabilizing", message: "promotion to namespace ..." });
    const text = formatExplanation(e);
    expect(text).toContain("landlord.dev/approve-tier = namespace");
    expect(text).toContain("Promoting: False Stabilizing — promotion to namespace ...");
  });
});

describe("auditRows", () => {
  it("joins tenants with their newest move, filters and sorts", () => {
    const b = tenant({ status: { conditions: [{ type: "TagsCompliant", status: "True" }, { type: "Ready", status: "True" }] } });
    b.metadata.name = "beta";
    const a = tenant({ status: { tier: "namespace", conditions: [{ type: "TagsCompliant", status: "False" }] } });
    a.metadata.name = "alpha";
    const decisions = [
      { ...decision("beta-0001", undefined, "pooled", "2026-11-01T00:00:00Z"), metadata: { name: "beta-0001", labels: { "landlord.dev/tenant": "beta" } } },
      { ...decision("alpha-0002", "pooled", "namespace", "2026-11-02T00:00:00Z"), metadata: { name: "alpha-0002", labels: { "landlord.dev/tenant": "alpha" } } },
    ];
    const rows = auditRows([b, a], decisions);
    expect(rows.map((r) => [r.tenant, r.tier, r.tags, r.ready, r.lastMove, r.revenue])).toEqual([
      ["alpha", "namespace", "drift", undefined, "2026-11-02T00:00:00Z", 26000],
      ["beta", "pooled", "compliant", "True", undefined, 26000],
    ]);
    expect(auditRows([b, a], decisions, { tier: "pooled" }).map((r) => r.tenant)).toEqual(["beta"]);
    expect(auditRows([b, a], decisions, { pool: "other" })).toEqual([]);
  });
});
