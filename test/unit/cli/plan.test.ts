import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseManifests, parseSignalsCsv, planTenants, type PlanRow } from "../../../operator/src/cli/plan.ts";
import { UsageError } from "../../../operator/src/cli/errors.ts";
import type { Tier } from "../../../operator/src/api/v1alpha1/index.ts";

const NOW = Date.parse("2026-11-23T12:00:00Z");
const tenants = parseManifests("examples/tenants.yaml", readFileSync("examples/tenants.yaml", "utf8")).tenants.map((t) => t.object);
const policyDoc = parseManifests("examples/policy-default.yaml", readFileSync("examples/policy-default.yaml", "utf8")).policies[0]?.object;
const signals = parseSignalsCsv("examples/signals.csv", readFileSync("examples/signals.csv", "utf8"));
if (!policyDoc) throw new Error("examples/policy-default.yaml has no PlacementPolicy");
const policies = new Map([[policyDoc.name, policyDoc.spec]]);

function byTenant(rows: PlanRow[]): Record<string, PlanRow> {
  return Object.fromEntries(rows.map((r) => [r.tenant, r]));
}

describe("planTenants on the examples", () => {
  const rows = byTenant(planTenants({ tenants, policies, signals, now: NOW }));
  const where = (rowsByTenant: Record<string, PlanRow>): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const row of Object.values(rowsByTenant)) (out[row.recommended] ??= []).push(row.tenant);
    return out;
  };

  it("plans every example tenant as a first placement", () => {
    expect(Object.keys(rows)).toHaveLength(20);
    for (const row of Object.values(rows)) expect(row.current).toBe("new");
    for (const row of Object.values(rows)) expect(row.action).toBe("place");
  });

  it("spreads the examples over every tier, as the comment at the top of tenants.yaml says", () => {
    // Without the CSV: the TenantPlacements as written.
    const asWritten = byTenant(planTenants({ tenants, policies, signals: [], now: NOW }));
    expect(where(asWritten)).toEqual({
      pooled: ["acme", "wayne", "wonka", "oscorp", "dunder-mifflin", "vandelay", "pied-piper", "aperture", "nakatomi", "prestige-worldwide", "vehement"],
      namespace: ["globex", "initech", "stark", "tyrell"],
      database: ["umbrella", "soylent", "cyberdyne"],
      account: ["hooli", "sacred-heart"],
    });
    // vehement reports neither hipaa nor requestsPerDay: the account rule could hold, so it waits at its floor.
    expect(asWritten.vehement).toMatchObject({ action: "unknown signals", recommended: "pooled" });
    expect(asWritten.vehement?.reason).toMatch(/hipaa: Unavailable/);
  });

  it("keeps small tenants pooled and promotes on revenue, share, pin and hipaa", () => {
    // acme: revenue 1500 (the CSV overrides spec's 1200); requests 40000 of the pool's 3,200,000 = 1.25% < 5%.
    expect(rows.acme).toMatchObject({ recommended: "pooled", action: "place" });
    expect(rows.acme?.signals.monthlyRevenueUSD).toBe(1500);
    // globex: 23500 >= 20000 → namespace.
    expect(rows.globex).toMatchObject({ recommended: "namespace", rule: "tiers[namespace].promoteWhen.any[0]" });
    // stark: revenue 900, but requestsPerDay 250000 / 3200000 = 7.81% >= 5% → namespace by the share rule.
    expect(rows.stark).toMatchObject({ recommended: "namespace", rule: "tiers[namespace].promoteWhen.any[1]" });
    expect(rows.stark?.signals.requestsPerDayShare).toBeCloseTo(250000 / 3200000, 9);
    // pied-piper: 140000 / 3200000 = 4.38%, just under the share threshold.
    expect(rows["pied-piper"]).toMatchObject({ recommended: "pooled" });
    // aperture: 19900 in its spec, 20500 in this morning's billing export → namespace.
    expect(rows.aperture).toMatchObject({ recommended: "namespace", rule: "tiers[namespace].promoteWhen.any[0]" });
    // initech is pinned to namespace.
    expect(rows.initech).toMatchObject({ recommended: "namespace", rule: "spec.tier.pinned" });
    // soylent 52000 and cyberdyne 78000 >= 50000 → database.
    expect(rows.soylent).toMatchObject({ recommended: "database", rule: "tiers[database].promoteWhen.any[0]" });
    expect(rows.cyberdyne).toMatchObject({ recommended: "database" });
    // umbrella: hipaa 1 asks for account, capped at its ceiling database.
    expect(rows.umbrella).toMatchObject({ recommended: "database" });
    expect(rows.umbrella?.reason).toMatch(/capped at ceiling database/);
    // hooli: 310000 >= 250000 → account; sacred-heart: $9000 but hipaa 1 → account.
    expect(rows.hooli).toMatchObject({ recommended: "account", rule: "tiers[account].promoteWhen.any[0]" });
    expect(rows["sacred-heart"]).toMatchObject({ recommended: "account", rule: "tiers[account].promoteWhen.any[1]" });
    // vehement: the CSV brings its hipaa 0 and requests; no longer unknown, pooled.
    expect(rows.vehement).toMatchObject({ recommended: "pooled", action: "place" });
  });

  it("reports unknown signals when a tenant does not report what a rule needs", () => {
    // The examples report hipaa for globex; take it away.
    const withoutHipaa = tenants.map((t) =>
      t.spec.tenantId === "globex" ? { ...t, spec: { ...t.spec, reportedSignals: { monthlyRevenueUSD: 23_500, requestsPerDay: 150_000 } } } : t,
    );
    const plain = byTenant(planTenants({ tenants: withoutHipaa, policies, signals: [], now: NOW }));
    expect(plain.globex).toMatchObject({ action: "unknown signals", recommended: "pooled" });
    expect(plain.globex?.reason).toMatch(/hipaa: Unavailable/);
    // A determined rule still acts: hooli's revenue is above the account threshold whatever hipaa is.
    expect(plain.hooli).toMatchObject({ action: "place", recommended: "account" });
  });
});

describe("planTenants with status and approvals", () => {
  const served = (tier: Tier) =>
    tenants.map((t) => (t.spec.tenantId === "acme" ? { ...t, status: { tier, pool: "standard" } } : t));

  it("treats stabilization as passed: a served pooled tenant over the threshold moves", () => {
    const withGlobex = tenants.map((t) => (t.spec.tenantId === "globex" ? { ...t, status: { tier: "pooled" as const } } : t));
    const row = byTenant(planTenants({ tenants: withGlobex, policies, signals, now: NOW })).globex;
    expect(row).toMatchObject({ current: "pooled", recommended: "namespace", action: "move" });
  });

  it("reports that a demotion needs approval (demotion: Manual)", () => {
    // acme served from namespace: revenue 1500 < 14000 and share 2.0% < 3% → demote to pooled, Manual.
    const row = byTenant(planTenants({ tenants: served("namespace"), policies, signals, now: NOW })).acme;
    expect(row).toMatchObject({ current: "namespace", recommended: "pooled", action: "needs approval" });
    expect(row?.reason).toMatch(/kubectl annotate tp acme landlord\.dev\/approve-tier=pooled/);
  });

  it("says stay when the tenant is where the policy wants it", () => {
    const row = byTenant(planTenants({ tenants: served("pooled"), policies, signals, now: NOW })).acme;
    expect(row).toMatchObject({ current: "pooled", recommended: "pooled", action: "stay" });
  });

  it("fails in one line when the policy is missing", () => {
    expect(() => planTenants({ tenants, policies: new Map(), signals, now: NOW })).toThrow(UsageError);
    expect(() => planTenants({ tenants, policies: new Map(), signals, now: NOW })).toThrow(/no PlacementPolicy "default"/);
  });
});

describe("reading inputs", () => {
  it("names file, document and field of an invalid TenantPlacement", () => {
    const text = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n---\napiVersion: landlord.dev/v1alpha1\nkind: TenantPlacement\nmetadata: {name: acme}\nspec: {tenantId: acme, costCenter: cc-1, tier: {mode: Pinned}}\n";
    expect(() => parseManifests("t.yaml", text)).toThrow(/^t\.yaml: document 2 \(TenantPlacement acme\): spec\.tier/);
  });

  it("rejects a signals CSV with a bad value, naming the line", () => {
    expect(() => parseSignalsCsv("s.csv", "tenant,signal,value\nacme,monthlyRevenueUSD,lots\n")).toThrow(/s\.csv: line 2: value "lots"/);
  });
});
