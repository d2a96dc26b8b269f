import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AUDIT_COLUMNS, auditRows } from "../../../operator/src/cli/audit.ts";
import type { DecisionObject, PolicyObject, TenantObject } from "../../../operator/src/cli/clusterClient.ts";
import { buildExplanation, formatExplanation } from "../../../operator/src/cli/explain.ts";
import { HISTORY_COLUMNS, sortDecisions } from "../../../operator/src/cli/history.ts";
import { render } from "../../../operator/src/cli/output.ts";
import { parseManifests, parseSignalsCsv, PLAN_COLUMNS, planTenants } from "../../../operator/src/cli/plan.ts";

/**
 * The table output of every listing command, on fixed input: a change to a column, its order, its
 * width or the way a value is written shows up here as a diff to review.
 */

const NOW = Date.parse("2026-11-23T12:00:00Z");

function tenant(name: string, spec: TenantObject["spec"], status: TenantObject["status"]): TenantObject {
  return { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name }, spec: { tenantId: name, costCenter: "cc-1", policyRef: "default", ...spec }, status };
}

function decision(tenantId: string, seq: number, from: string | undefined, to: string, requestedAt: string, extra: Partial<NonNullable<DecisionObject["spec"]>> = {}, outcome?: string): DecisionObject {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementDecision",
    metadata: { name: `${tenantId}-${String(seq).padStart(4, "0")}`, labels: { "landlord.dev/tenant": tenantId } },
    spec: { tenant: tenantId, ...(from ? { from } : {}), to, trigger: "Policy", requestedAt, ...extra },
    ...(outcome ? { status: { outcome } } : {}),
  };
}

const ready = (status: string) => ({ type: "Ready", status, reason: "Active", message: "" });
const tags = (status: string) => ({ type: "TagsCompliant", status, reason: "Checked", message: "" });

const tenants: TenantObject[] = [
  tenant("globex", {}, {
    phase: "Active",
    tier: "namespace",
    pool: "standard",
    namespace: "tenant-globex",
    signals: { monthlyRevenueUSD: 23500, requestsPerDay: 150000, requestsPerDayShare: 0.0469 },
    conditions: [ready("True"), tags("True")],
  }),
  tenant("acme", { reportedSignals: { monthlyRevenueUSD: 26000, monthlyCostUSD: 2921.74, costShare: 0.0412, marginUSD: 23078.26 } }, {
    phase: "Active",
    tier: "pooled",
    pool: "standard",
    namespace: "pool-standard-1",
    signals: { monthlyRevenueUSD: 26000, requestsPerDay: 40000, requestsPerDayShare: 0.0125 },
    recommendation: { tier: "namespace", reason: "monthlyRevenueUSD 26000 >= 20000", since: "2026-11-23T10:00:00Z" },
    conditions: [ready("True"), tags("True"), { type: "Promoting", status: "False", reason: "Stabilizing", message: "promotion to namespace held until 2026-11-24T10:00:00Z (promoteAfter 24h)" }],
  }),
  tenant("soylent", {}, { phase: "Provisioning", tier: "namespace", targetTier: "database", pool: "standard", namespace: "tenant-soylent", signals: { monthlyRevenueUSD: 52000 }, conditions: [ready("True"), tags("False")] }),
  tenant("vehement", {}, undefined),
];

const decisions: DecisionObject[] = [
  decision("acme", 1, undefined, "pooled", "2026-11-01T09:00:00Z", {}, "Succeeded"),
  decision("globex", 1, undefined, "pooled", "2026-10-01T09:00:00Z", {}, "Succeeded"),
  decision("globex", 2, "pooled", "namespace", "2026-10-15T09:30:00Z", { rule: "tiers[namespace].promoteWhen.any[0]" }, "Succeeded"),
  decision("globex", 3, "namespace", "pooled", "2026-11-02T10:00:00Z", { rule: "tiers[namespace].demoteWhen.all", approval: { annotation: "pooled" } }, "RolledBack"),
  decision("globex", 4, "pooled", "namespace", "2026-11-10T08:00:00Z", { trigger: "Manual", approval: { annotation: "namespace" }, actor: "alice", reason: "CHG-7 enterprise contract signed" }, "Succeeded"),
  decision("soylent", 2, "namespace", "database", "2026-11-23T11:00:00Z", { rule: "tiers[database].promoteWhen.any[0]" }),
];

const policy: PolicyObject = {
  apiVersion: "landlord.dev/v1alpha1",
  kind: "PlacementPolicy",
  metadata: { name: "default" },
  spec: parseManifests("examples/policy-default.yaml", readFileSync("examples/policy-default.yaml", "utf8")).policies[0]?.object.spec as Record<string, unknown>,
};

describe("table output", () => {
  it("audit", () => {
    expect(render(auditRows(tenants, decisions), AUDIT_COLUMNS, "table")).toMatchInlineSnapshot(`
      "TENANT     TIER        TARGET     POOL       NAMESPACE         PHASE          REVENUE   COST      MARGIN     RECOMMENDATION   LAST-MOVE              BY       REASON                             TAGS        READY
      acme       pooled      <none>     standard   pool-standard-1   Active         26000     2921.74   23078.26   namespace        <none>                 <none>   <none>                             compliant   True
      globex     namespace   <none>     standard   tenant-globex     Active         23500     <none>    <none>     <none>           2026-11-10T08:00:00Z   alice    CHG-7 enterprise contract signed   compliant   True
      soylent    namespace   database   standard   tenant-soylent    Provisioning   52000     <none>    <none>     <none>           2026-11-23T11:00:00Z   <none>   <none>                             drift       True
      vehement   <none>      <none>     <none>     <none>            <none>         <none>    <none>    <none>     <none>           <none>                 <none>   <none>                             unknown     <none>
      "
    `);
  });

  it("history", () => {
    const globex = decisions.filter((d) => d.spec?.tenant === "globex").reverse();
    expect(render(sortDecisions(globex), HISTORY_COLUMNS, "table")).toMatchInlineSnapshot(`
      "DECISION      REQUESTED              FROM        TO          TRIGGER   OUTCOME      RULE                                  ACTOR    REASON
      globex-0001   2026-10-01T09:00:00Z   <none>      pooled      Policy    Succeeded    <none>                                <none>   <none>
      globex-0002   2026-10-15T09:30:00Z   pooled      namespace   Policy    Succeeded    tiers[namespace].promoteWhen.any[0]   <none>   <none>
      globex-0003   2026-11-02T10:00:00Z   namespace   pooled      Policy    RolledBack   tiers[namespace].demoteWhen.all       <none>   <none>
      globex-0004   2026-11-10T08:00:00Z   pooled      namespace   Manual    Succeeded    <none>                                alice    CHG-7 enterprise contract signed
      "
    `);
  });

  it("explain", () => {
    const acme = tenants.find((t) => t.metadata.name === "acme") as TenantObject;
    const costReport = { name: "costs-2026-11-0a1b2c3d4e5f", period: "2026-11", totalUSD: "12000.00", currency: "USD", actor: "system:serviceaccount:landlord-system:landlord-costs", createdAt: "2026-11-23T06:00:00.000Z" };
    const explanation = buildExplanation({ tenant: acme, policy, decisions: decisions.filter((d) => d.spec?.tenant === "acme"), now: NOW, costReport });
    expect(formatExplanation(explanation)).toMatchInlineSnapshot(`
      "Tenant acme
      Served:    pooled in namespace pool-standard-1 of pool standard, phase Active
      Spec tier: mode Auto, floor pooled, ceiling account
      Policy:    default: promoteAfter 24h, demoteAfter 720h, cooldown 168h; promotion Automatic, demotion Manual
      Rules:
        ✓ tiers[namespace].promoteWhen (any): holds
            ✓ monthlyRevenueUSD 26000 >= 20000
            ✗ requestsPerDayShare 0.0125 >= 0.05
        ✗ tiers[namespace].demoteWhen (all): does not hold
            ✗ monthlyRevenueUSD 26000 < 14000
            ✓ requestsPerDayShare 0.0125 < 0.03
        ✗ tiers[database].promoteWhen (any): does not hold
            ✗ monthlyRevenueUSD 26000 >= 50000
        ✓ tiers[database].demoteWhen (all): holds
            ✓ monthlyRevenueUSD 26000 < 35000
        ? tiers[account].promoteWhen (any): unknown
            ✗ monthlyRevenueUSD 26000 >= 250000
            ? hipaa (unknown) >= 1
      Cost:      monthlyCostUSD 2921.74, marginUSD 23078.26, costShare 0.0412 (CostReport costs-2026-11-0a1b2c3d4e5f: period 2026-11, total 12000.00 USD, recorded 2026-11-23T06:00:00.000Z by system:serviceaccount:landlord-system:landlord-costs)
      Recommendation: namespace (monthlyRevenueUSD 26000 >= 20000) since 2026-11-23T10:00:00Z; promoteAfter 24h → stable at 2026-11-24T10:00:00Z
      Cooldown:  none (it has never moved)
      Decision:  acme-0001 (new) → pooled (Policy) by the policy
      Approval:  this move needs no approval; landlord.dev/approve-tier is not set
      Promoting: False Stabilizing — promotion to namespace held until 2026-11-24T10:00:00Z (promoteAfter 24h)
      Next: promotes to namespace at 2026-11-24T10:00:00Z if monthlyRevenueUSD stays >= 20000
      "
    `);
  });

  it("plan on the examples", () => {
    const manifests = parseManifests("examples/tenants.yaml", readFileSync("examples/tenants.yaml", "utf8"));
    const policyDoc = parseManifests("examples/policy-default.yaml", readFileSync("examples/policy-default.yaml", "utf8")).policies[0]?.object;
    if (!policyDoc) throw new Error("examples/policy-default.yaml has no PlacementPolicy");
    const rows = planTenants({
      tenants: manifests.tenants.map((t) => t.object),
      policies: new Map([[policyDoc.name, policyDoc.spec]]),
      signals: parseSignalsCsv("examples/signals.csv", readFileSync("examples/signals.csv", "utf8")),
      now: NOW,
    });
    expect(render(rows, PLAN_COLUMNS, "table")).toMatchInlineSnapshot(`
      "TENANT               CURRENT   RECOMMENDED   ACTION   RULE/REASON                                                                    SIGNALS
      acme                 new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=1500 hipaa=0 requestsPerDay=40000 requestsPerDayShare=1.3%
      globex               new       namespace     place    tiers[namespace].promoteWhen.any[0]: monthlyRevenueUSD 23500 >= 20000          monthlyRevenueUSD=23500 hipaa=0 requestsPerDay=150000 requestsPerDayShare=4.7%
      initech              new       namespace     place    spec.tier.pinned: spec.tier is pinned to namespace                             monthlyRevenueUSD=800 hipaa=0 requestsPerDay=20000 requestsPerDayShare=0.6%
      umbrella             new       database      place    tiers[account].promoteWhen.any[1]: hipaa 1 >= 1 (capped at ceiling database)   monthlyRevenueUSD=61000 hipaa=1 requestsPerDay=300000 requestsPerDayShare=9.4%
      hooli                new       account       place    tiers[account].promoteWhen.any[0]: monthlyRevenueUSD 310000 >= 250000          monthlyRevenueUSD=310000 hipaa=0 requestsPerDay=1200000 requestsPerDayShare=37.5%
      stark                new       namespace     place    tiers[namespace].promoteWhen.any[1]: requestsPerDayShare 0.078125 >= 0.05      monthlyRevenueUSD=900 hipaa=0 requestsPerDay=250000 requestsPerDayShare=7.8%
      wayne                new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=4800 hipaa=0 requestsPerDay=60000 requestsPerDayShare=1.9%
      wonka                new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=15500 hipaa=0 requestsPerDay=90000 requestsPerDayShare=2.8%
      soylent              new       database      place    tiers[database].promoteWhen.any[0]: monthlyRevenueUSD 52000 >= 50000           monthlyRevenueUSD=52000 hipaa=0 requestsPerDay=220000 requestsPerDayShare=6.9%
      tyrell               new       namespace     place    tiers[namespace].promoteWhen.any[0]: monthlyRevenueUSD 34000 >= 20000          monthlyRevenueUSD=34000 hipaa=0 requestsPerDay=160000 requestsPerDayShare=5.0%
      cyberdyne            new       database      place    tiers[database].promoteWhen.any[0]: monthlyRevenueUSD 78000 >= 50000           monthlyRevenueUSD=78000 hipaa=0 requestsPerDay=280000 requestsPerDayShare=8.8%
      oscorp               new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=2300 hipaa=0 requestsPerDay=25000 requestsPerDayShare=0.8%
      dunder-mifflin       new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=7200 hipaa=0 requestsPerDay=30000 requestsPerDayShare=0.9%
      vandelay             new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=350 hipaa=0 requestsPerDay=2000 requestsPerDayShare=0.1%
      pied-piper           new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=600 hipaa=0 requestsPerDay=140000 requestsPerDayShare=4.4%
      aperture             new       namespace     place    tiers[namespace].promoteWhen.any[0]: monthlyRevenueUSD 20500 >= 20000          monthlyRevenueUSD=20500 hipaa=0 requestsPerDay=110000 requestsPerDayShare=3.4%
      nakatomi             new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=11000 hipaa=0 requestsPerDay=70000 requestsPerDayShare=2.2%
      prestige-worldwide   new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=450 hipaa=0 requestsPerDay=5000 requestsPerDayShare=0.2%
      sacred-heart         new       account       place    tiers[account].promoteWhen.any[1]: hipaa 1 >= 1                                monthlyRevenueUSD=9000 hipaa=1 requestsPerDay=45000 requestsPerDayShare=1.4%
      vehement             new       pooled        place    spec.tier.floor: new tenant placed in the pool                                 monthlyRevenueUSD=500 hipaa=0 requestsPerDay=3000 requestsPerDayShare=0.1%
      "
    `);
  });
});
