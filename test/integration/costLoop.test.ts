import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../operator/src/costs/run/costRun.ts";
import { auditLogPath } from "../../operator/src/local/controlPlane.ts";
import { kubectl } from "../../operator/src/local/kubectl.ts";
import { projectRoot } from "../../operator/src/local/paths.ts";
import { auditedWrites } from "../apiserverWrites.ts";
import { chromiumMissing, dumpDom, screenshot } from "../chromium.ts";
import { cluster, eventually, k, kFails, kJson, listOf } from "./cluster.ts";
import { costsIdentity, type CostsIdentity } from "./costsIdentity.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * The cost loop against the real control plane: `landlord costs --record` run with the chart's
 * cost-run ServiceAccount token writes one CostReport and each tenant's cost signals; the operator
 * (running as the chart's operator ServiceAccount) then promotes the pooled tenant that loses money
 * once the policy has a cost rule. What each run wrote is read from the API server's audit log,
 * not from the CLI's own account of it.
 */

const run = `c${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const POLICY = `${run}-policy`;
const CHEAP = `${run}-cheap`;
const COSTLY = `${run}-costly`;
const DED = `${run}-ded`;
const LABEL = `landlord-it/test-run=${run}`;
const BIN = resolve(import.meta.dirname, "../../bin/landlord.mjs");
const ARTIFACTS = join(projectRoot, "test-results");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function landlord(args: string[]): Promise<Result> {
  const env = { ...process.env };
  delete env.KUBECONFIG;
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface TenantJson {
  metadata: { name: string; managedFields?: { manager: string; fieldsV1?: { "f:spec"?: { "f:reportedSignals"?: Record<string, unknown> } } }[] };
  spec: { reportedSignals?: Record<string, number> };
  status?: { tier?: string; phase?: string; signals?: Record<string, number> };
}

interface ReportJson {
  metadata: { name: string };
  spec: {
    actor: string;
    inputs: { name: string; rows: number; sha256: string }[];
    totals: { totalCents: number; totalUSD: string; byPool: { pool: string; tenants: number; costCents: number; revenueCents: number }[] };
    pareto: { tenants: number; top1PctShare: number };
    signals?: { written: number };
  };
}

const tenant = (name: string, revenue: number, floor = "pooled") => ({
  apiVersion: "landlord.dev/v1alpha1",
  kind: "TenantPlacement",
  // A spec.tier other than the default needs its reason (the chart's admission policy).
  metadata: { name, labels: { "landlord-it/test-run": run }, ...(floor !== "pooled" ? { annotations: { "landlord.dev/tier-reason": "IT-1 the cost loop's dedicated tenant" } } : {}) },
  spec: { tenantId: name, costCenter: "cc-loop", pool: POOL, policyRef: POLICY, tier: { floor }, reportedSignals: { monthlyRevenueUSD: revenue, requestsPerDay: 1000 } },
});

function policy(costRule: boolean) {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementPolicy",
    metadata: { name: POLICY },
    spec: {
      signals: [
        { name: "monthlyRevenueUSD", source: { reported: {} } },
        { name: "requestsPerDay", source: { reported: {} } },
        { name: "monthlyCostUSD", source: { reported: {} }, maxAge: "840h" },
        { name: "marginUSD", source: { reported: {} }, maxAge: "840h" },
      ],
      tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }, ...(costRule ? [{ signal: "marginUSD", lt: -1000 }] : [])] } }],
      stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
    },
  };
}

/** `landlord costs -o json`: the whole report. */
const costsJson = (stdout: string): { totalCents: number; lines: { tenant: string; kind: string; cents: number }[] } => JSON.parse(stdout);

const getTenant = (name: string): Promise<TenantJson> => kJson<TenantJson>(["get", "tp", name, "--show-managed-fields"]);
const reports = async (): Promise<ReportJson[]> => (await kJson<{ items: ReportJson[] }>(["get", "costreports"])).items;

describe("the cost loop", () => {
  const dir = mkdtempSync(join(tmpdir(), "landlord-costloop-"));
  const bill = join(dir, "bill.csv");
  let operator: OperatorProcess;
  let identity: CostsIdentity;
  let firstReport = "";
  const recorded: string[] = [];
  const record = (): Promise<Result> =>
    landlord(["costs", "--kubeconfig", identity.kubeconfig, "-l", LABEL, "--pool-cost", `${POOL}=1000`, "--bill", bill, "--period", "2026-11", "--record", "-o", "json"]);
  const writesBy = (since: Date): string[] =>
    auditedWrites(auditLogPath(cluster().dir), since)
      .filter((w) => w.includes(`by ${identity.user} `))
      // Asking who it is (SelfSubjectReview) is a create that stores nothing.
      .filter((w) => !w.startsWith("create selfsubjectreviews"));

  beforeAll(async () => {
    writeFileSync(
      bill,
      [
        "linked_account,tag_landlord_dev_tenant,service,unblended_cost_usd",
        `111111111111,${COSTLY},Amazon CloudFront,2400.00`,
        `111111111111,${DED},Amazon Relational Database Service,500.00`,
        "111111111111,,Amazon Virtual Private Cloud,10.00",
      ].join("\n"),
    );
    identity = await costsIdentity();
    await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], listOf([
        { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: POOL, capacity: { maxTenants: 10, cpu: "10", memory: "20Gi" } } },
        policy(false),
        tenant(CHEAP, 5000),
        tenant(COSTLY, 600),
        tenant(DED, 30000, "namespace"),
      ]));
    operator = await startOperatorProcess();
    await operator.waitReady();
    for (const [name, tier] of [[CHEAP, "pooled"], [COSTLY, "pooled"], [DED, "namespace"]] as const) {
      await eventually(async () => ((await getTenant(name)).status?.phase === "Active" && (await getTenant(name)).status?.tier === tier ? true : undefined), { what: `${name} placed in ${tier}`, timeoutMs: 60_000 });
    }
  }, 180_000);

  afterAll(async () => {
    await k(["delete", "tp", CHEAP, COSTLY, DED, "--ignore-not-found", "--wait=false"]);
    await eventually(async () => ((await k(["get", "tp", "-l", LABEL, "-o", "name"])).trim() === "" ? true : undefined), { what: "the tenants released", timeoutMs: 60_000 }).catch(() => undefined);
    // The pool before the operator stops: its finalizer (its shard namespaces go with it) needs one.
    await k(["delete", "tpool", POOL, "--ignore-not-found", "--timeout=60s"]);
    await operator?.stop();
    await k(["delete", "ppol", POLICY, "--ignore-not-found"]);
    if (recorded.length > 0) await k(["delete", "costreports", ...recorded, "--ignore-not-found"]);
  }, 120_000);

  it("records one CostReport and every tenant's cost signals, as the chart's cost-run ServiceAccount", async () => {
    const before = new Set((await reports()).map((r) => r.metadata.name));
    const since = new Date();
    const result = await record();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^Recorded CostReport (costs-2026-11-[0-9a-f]{12}) \\(by ${identity.user}\\); cost signals monthlyCostUSD, costShare, marginUSD written on 3 TenantPlacements, 0 unchanged$`, "m"));
    const created = (await reports()).filter((r) => !before.has(r.metadata.name));
    expect(created).toHaveLength(1);
    const report = created[0] as ReportJson;
    firstReport = report.metadata.name;
    recorded.push(firstReport);
    expect(result.stderr).toContain(firstReport);
    expect(report.spec.actor).toBe(identity.user);
    expect(report.spec.inputs[0]).toEqual({ name: bill, rows: 3, sha256: sha256(readFileSync(bill)) });
    // The JSON output's total and the report agree to the cent.
    expect(report.spec.totals.totalCents).toBe(costsJson(result.stdout).totalCents);
    expect(report.spec.totals.totalCents).toBe(391000);
    expect(report.spec.totals.totalUSD).toBe("3910.00");
    // The pool's tenants cost their share of the pool plus their own tagged rows (COSTLY's CloudFront).
    expect(report.spec.totals.byPool).toEqual([{ pool: POOL, tenants: 2, costCents: 340000, revenueCents: 560000 }]);
    expect(report.spec.pareto.tenants).toBe(3);
    expect(report.spec.signals?.written).toBe(3);

    const costly = await getTenant(COSTLY);
    expect(costly.spec.reportedSignals).toEqual({ monthlyRevenueUSD: 600, requestsPerDay: 1000, monthlyCostUSD: 2900, costShare: 0.7436, marginUSD: -2300 });
    // Its own field manager owns exactly the cost keys; the billing system's keys stay the billing system's.
    const owned = costly.metadata.managedFields?.find((m) => m.manager === "landlord-costs")?.fieldsV1?.["f:spec"]?.["f:reportedSignals"] ?? {};
    expect(Object.keys(owned).sort()).toEqual(["f:costShare", "f:marginUSD", "f:monthlyCostUSD"]);
    expect((await getTenant(CHEAP)).spec.reportedSignals).toMatchObject({ monthlyCostUSD: 500, marginUSD: 4500 });
    expect(writesBy(since).sort()).toEqual([...[CHEAP, COSTLY, DED].map((t) => `patch tenantplacements ${t} by ${identity.user} (200)`), `create costreports ${firstReport} by ${identity.user} (201)`].sort());
  });

  it("is a reporter of the cost signals only: the chart's admission policy refuses its token any other signal", async () => {
    const asCostRun = { kubectl: cluster().kubectl, kubeconfig: identity.kubeconfig };
    const patch = (signals: Record<string, number>): Promise<string> =>
      kubectl(asCostRun, ["patch", "tp", CHEAP, "--type=merge", "--field-manager=landlord-costs", "-p", JSON.stringify({ spec: { reportedSignals: signals } })]).then(
        () => "",
        (error: Error) => error.message,
      );
    expect(await patch({ monthlyRevenueUSD: 1 })).toMatch(new RegExp(`${identity.user} may not write spec\\.reportedSignals\\.monthlyRevenueUSD: admission\\.reporters names no reporter`));
    expect(await patch({ requestsPerDay: 1 })).toMatch(/may not write spec\.reportedSignals\.requestsPerDay/);
    expect((await getTenant(CHEAP)).spec.reportedSignals?.monthlyRevenueUSD).toBe(5000);
  });

  it("shows COST and MARGIN in kubectl get tp", async () => {
    const table = await k(["get", "tp", COSTLY]);
    const [header, row] = table.trim().split("\n").map((l) => l.split(/\s+/));
    expect(header).toEqual(["NAME", "TIER", "TARGET", "POOL", "PHASE", "REVENUE", "COST", "MARGIN", "READY", "AGE"]);
    // TARGET is empty while no move runs, so the row has one field less.
    expect(row?.slice(0, 7)).toEqual([COSTLY, "pooled", POOL, "Active", "600", "2900", "-2300"]);
  });

  it("writes nothing when run again on the same inputs", async () => {
    const since = new Date();
    const result = await record();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`Already recorded: CostReport ${firstReport}`);
    expect(result.stderr).toContain("written on 0 TenantPlacements, 3 unchanged");
    expect(writesBy(since)).toEqual([]);
  });

  it("writes only what changed when an input changes", async () => {
    // The billing system reports new revenue for one tenant: only its margin changes.
    await k(["patch", "tp", COSTLY, "--type=merge", "--field-manager=billing", "-p", JSON.stringify({ spec: { reportedSignals: { monthlyRevenueUSD: 700 } } })]);
    const since = new Date();
    const result = await record();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("written on 1 TenantPlacements, 2 unchanged");
    const name = /CostReport (costs-\S+)/.exec(result.stderr)?.[1] ?? "";
    expect(name).not.toBe(firstReport);
    recorded.push(name);
    expect(writesBy(since).sort()).toEqual([`create costreports ${name} by ${identity.user} (201)`, `patch tenantplacements ${COSTLY} by ${identity.user} (200)`]);
    expect((await getTenant(COSTLY)).spec.reportedSignals).toMatchObject({ monthlyRevenueUSD: 700, monthlyCostUSD: 2900, marginUSD: -2200 });
  });

  it("promotes the pooled tenant that loses money once the policy has a cost rule, and the decision names it", async () => {
    await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(policy(true)));
    const moved = await eventually(async () => {
      const t = await getTenant(COSTLY);
      return t.status?.tier === "namespace" && t.status.phase === "Active" ? t : undefined;
    }, { what: `${COSTLY} promoted to namespace by the cost rule`, timeoutMs: 60_000 });
    expect(moved.status?.signals).toMatchObject({ marginUSD: -2200 });
    const decisions = (await kJson<{ items: { spec: { from?: string; to: string; rule?: string } }[] }>(["get", "pdec", "-l", `landlord.dev/tenant=${COSTLY}`])).items;
    const promotion = decisions.find((d) => d.spec.from === "pooled" && d.spec.to === "namespace");
    expect(promotion?.spec.rule).toBe("tiers[namespace].promoteWhen.any[1]: marginUSD -2200 < -1000");
    expect((await getTenant(CHEAP)).status?.tier).toBe("pooled");
  });

  it("explain shows the cost signals rule by rule, and the last CostReport", async () => {
    const result = await landlord(["explain", COSTLY, "--kubeconfig", cluster().kubeconfig]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/✓ marginUSD -2200 < -1000/);
    expect(result.stdout).toMatch(/^Cost:\s+monthlyCostUSD 2900, marginUSD -2200, costShare 0\.\d+ \(CostReport costs-2026-11-[0-9a-f]{12}/m);
  });

  it("audit shows cost and margin, and the newest CostReport beside the table", async () => {
    const result = await landlord(["audit", "--pool", POOL, "-o", "json", "--kubeconfig", cluster().kubeconfig]);
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as { tenant: string; cost: number | null; margin: number | null }[];
    expect(rows.find((r) => r.tenant === CHEAP)).toMatchObject({ cost: 500, margin: 4500 });
    const table = await landlord(["audit", "--pool", POOL, "--kubeconfig", cluster().kubeconfig]);
    expect(table.stdout).toMatch(new RegExp(`^${CHEAP}\\s+pooled\\s.*\\s5000\\s+500\\s+4500\\s`, "m"));
    expect(table.stderr).toMatch(/^Last CostReport: costs-2026-11-[0-9a-f]{12}: period 2026-11, total 3910\.00 USD, recorded \S+ by system:serviceaccount:/m);
  });

  it("the example cost-rule policy is accepted by the API server", async () => {
    const out = await k(["apply", "--dry-run=server", "-f", join(projectRoot, "examples", "costs")]);
    expect(out).toMatch(/placementpolicy\.landlord\.dev\/default (created|configured|unchanged) \(server dry run\)/);
  });

  it("refuses any change to a CostReport's spec", async () => {
    const message = await kFails(["patch", "costreport", firstReport, "--type=merge", "-p", JSON.stringify({ spec: { basis: "net" } })]);
    expect(message).toContain("CostReport spec is immutable: a report is a record of what was charged");
  });

  it("draws the HTML report in a real headless Chromium: every tenant, totals equal to the JSON output", async (context) => {
    const missing = chromiumMissing();
    if (missing) {
      context.skip(missing);
      return;
    }
    const html = join(dir, "report.html");
    const result = await landlord(["costs", "--kubeconfig", cluster().kubeconfig, "-l", LABEL, "--pool-cost", `${POOL}=1000`, "--bill", bill, "--html", html, "-o", "json"]);
    expect(result.code, result.stderr).toBe(0);
    const costs = costsJson(result.stdout);
    const text = readFileSync(html, "utf8");
    // Self-contained: no external script, stylesheet or image.
    expect(text).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);

    const dom = await dumpDom(html);
    expect(dom).toContain('data-ready="true"');
    // Four charts, each with drawn elements (points, bars, the line).
    const rendered = [...dom.matchAll(/<canvas id="(chart-[a-z]+)"[^>]*data-rendered="(\d+)"/g)].map((m) => [m[1], Number(m[2])]);
    expect(rendered.map(([id]) => id)).toEqual(["chart-pareto", "chart-scatter", "chart-tier", "chart-pool"]);
    for (const [, count] of rendered) expect(count).toBeGreaterThan(0);
    for (const tenantName of [CHEAP, COSTLY, DED]) expect(dom).toContain(`data-tenant="${tenantName}"`);
    expect([...dom.matchAll(/<tr data-tenant="/g)]).toHaveLength(costs.lines.filter((l) => l.kind === "tenant").length);
    expect(dom).toContain(`<b id="total-cost">${(costs.totalCents / 100).toFixed(2)}</b>`);
    const unallocated = costs.lines.filter((l) => l.kind !== "tenant").reduce((a, l) => a + l.cents, 0);
    expect(unallocated).toBe(10_00);
    expect(dom).toContain(`<b id="unallocated-cost">${(unallocated / 100).toFixed(2)}</b>`);

    mkdirSync(ARTIFACTS, { recursive: true });
    const png = join(ARTIFACTS, "cost-report.png");
    await screenshot(html, png);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
  });
});
