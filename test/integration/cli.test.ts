import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, k, kAsOperator, listOf } from "./cluster.ts";

/**
 * The read-only CLI commands (audit, history, explain) run as a user runs them, against objects
 * written directly (status through the status subresource): no operator runs in this file.
 */

const run = `c${Date.now().toString(36)}`;
const TENANT = `${run}-acme`;
const OTHER = `${run}-beta`;
const POLICY = `${run}-policy`;
const POOL = `${run}-pool`;
const BIN = resolve(import.meta.dirname, "../../bin/landlord.mjs");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function landlord(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const withCluster = (args: string[]): string[] => [...args, "--kubeconfig", cluster().kubeconfig];

function tenantManifest(name: string, revenue: number): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    metadata: { name },
    spec: { tenantId: name, displayName: "Acme, Inc.", costCenter: "cc-cli", pool: POOL, policyRef: POLICY, reportedSignals: { monthlyRevenueUSD: revenue } },
  };
}

function decisionManifest(name: string, from: string | undefined, to: string, requestedAt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementDecision",
    metadata: { name, labels: { "landlord.dev/tenant": TENANT } },
    spec: { tenant: TENANT, ...(from ? { from } : {}), to, trigger: "Policy", requestedAt, ...extra },
  };
}

const since = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");

async function setStatus(name: string, status: Record<string, unknown>): Promise<void> {
  await k(["patch", "tp", name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}

describe("landlord audit, history and explain", () => {
  beforeAll(async () => {
    await k(
      ["create", "-f", "-"],
      listOf([
          {
            apiVersion: "landlord.dev/v1alpha1",
            kind: "PlacementPolicy",
            metadata: { name: POLICY },
            spec: {
              signals: [
                { name: "monthlyRevenueUSD", source: { reported: {} } },
                { name: "requestsPerDay", source: { reported: {} } },
              ],
              tiers: [
                {
                  tier: "namespace",
                  promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", share: true, gte: 0.05 }] },
                  demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }] },
                },
              ],
              stabilization: { promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h" },
            },
          },
          tenantManifest(TENANT, 26000),
          tenantManifest(OTHER, 100),
        ]),
    );
    // Decisions are the operator's to record (the chart's admission policy): written with its identity.
    await kAsOperator(
      ["create", "-f", "-"],
      listOf([
          decisionManifest(`${TENANT}-0001`, undefined, "pooled", "2026-01-01T00:00:00Z"),
          decisionManifest(`${TENANT}-0002`, "namespace", "pooled", "2026-02-01T00:00:00Z", {
            rule: "tiers[namespace].demoteWhen.all",
            approval: { annotation: "pooled" },
            actor: "alice@example.com",
            reason: "CHG-12 downgrade",
          }),
        ]),
    );
    // Server-side apply, as the operator writes it: its role has no `get` on the status subresource, which `kubectl patch` reads first.
    await kAsOperator(
      ["apply", "--server-side", "--subresource=status", "--field-manager=landlord/status", "-f", "-"],
      JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "PlacementDecision", metadata: { name: `${TENANT}-0002` }, status: { outcome: "Succeeded" } }),
    );
    const conditions = (tags: string) => [
      { type: "Ready", status: "True", reason: "Active", message: "served", lastTransitionTime: since },
      { type: "TagsCompliant", status: tags, reason: tags === "True" ? "Compliant" : "Drift", message: "checked", lastTransitionTime: since },
      { type: "Promoting", status: "False", reason: "Stabilizing", message: "promotion to namespace held for promoteAfter 24h", lastTransitionTime: since },
    ];
    await setStatus(TENANT, {
      phase: "Active",
      tier: "pooled",
      pool: POOL,
      namespace: `${POOL}-1`,
      signals: { monthlyRevenueUSD: 26000, requestsPerDay: 100, requestsPerDayShare: 0.01 },
      recommendation: { tier: "namespace", reason: "monthlyRevenueUSD 26000 >= 20000", since },
      conditions: conditions("True"),
    });
    await setStatus(OTHER, { phase: "Active", tier: "pooled", pool: POOL, namespace: `${POOL}-1`, signals: { monthlyRevenueUSD: 100 }, conditions: conditions("False") });
  });

  afterAll(async () => {
    await k(["delete", "tp", TENANT, OTHER, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
    await k(["delete", "pdec", `${TENANT}-0001`, `${TENANT}-0002`, "--ignore-not-found", "--as=it-cleanup", "--as-group=system:masters", "--as-group=landlord-retention"]).catch(() => undefined);
    await k(["delete", "ppol", POLICY, "--ignore-not-found"]).catch(() => undefined);
  });

  it("audit -o json has one row per tenant with status, recommendation, last move and tags", async () => {
    const result = await landlord(withCluster(["audit", "-o", "json", "--pool", POOL]));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(rows).toEqual([
      {
        tenant: TENANT,
        tier: "pooled",
        target: null,
        pool: POOL,
        namespace: `${POOL}-1`,
        phase: "Active",
        revenue: 26000,
        cost: null,
        margin: null,
        recommendation: "namespace",
        lastMove: "2026-02-01T00:00:00Z",
        lastMoveBy: "alice@example.com",
        lastMoveReason: "CHG-12 downgrade",
        tags: "compliant",
        ready: "True",
      },
      expect.objectContaining({ tenant: OTHER, revenue: 100, recommendation: null, lastMove: null, tags: "drift" }),
    ]);
    const namespaceOnly = await landlord(withCluster(["audit", "-o", "json", "--pool", POOL, "--tier", "namespace"]));
    expect(JSON.parse(namespaceOnly.stdout)).toEqual([]);
  });

  it("audit prints a table with headers and csv that parses", async () => {
    const table = await landlord(withCluster(["audit", "--pool", POOL]));
    expect(table.code).toBe(0);
    const [header, ...lines] = table.stdout.trimEnd().split("\n");
    expect(header?.split(/\s+/)).toEqual(["TENANT", "TIER", "TARGET", "POOL", "NAMESPACE", "PHASE", "REVENUE", "COST", "MARGIN", "RECOMMENDATION", "LAST-MOVE", "BY", "REASON", "TAGS", "READY"]);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([TENANT, OTHER]);

    const csv = await landlord(withCluster(["audit", "-o", "csv", "--pool", POOL]));
    expect(csv.code).toBe(0);
    const records = csv.stdout.trimEnd().split("\n").map((line) => line.split(","));
    expect(records[0]).toEqual(["TENANT", "TIER", "TARGET", "POOL", "NAMESPACE", "PHASE", "REVENUE", "COST", "MARGIN", "RECOMMENDATION", "LAST-MOVE", "BY", "REASON", "TAGS", "READY"]);
    expect(records.slice(1).map((r) => [r[0], r[6], r[11], r[13]])).toEqual([
      [TENANT, "26000", "alice@example.com", "compliant"],
      [OTHER, "100", "", "drift"],
    ]);
    expect(records.every((r) => r.length === 15)).toBe(true);
  });

  it("history lists the tenant's decisions in order", async () => {
    const json = await landlord(withCluster(["history", TENANT, "-o", "json"]));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { decision: `${TENANT}-0001`, requested: "2026-01-01T00:00:00Z", from: null, to: "pooled", trigger: "Policy", outcome: null, rule: null, actor: null, reason: null },
      {
        decision: `${TENANT}-0002`,
        requested: "2026-02-01T00:00:00Z",
        from: "namespace",
        to: "pooled",
        trigger: "Policy",
        outcome: "Succeeded",
        rule: "tiers[namespace].demoteWhen.all",
        actor: "alice@example.com",
        reason: "CHG-12 downgrade",
      },
    ]);
    const table = await landlord(withCluster(["history", TENANT]));
    expect(table.stdout).toMatch(/^DECISION\s+REQUESTED\s+FROM\s+TO\s+TRIGGER\s+OUTCOME\s+RULE\s+ACTOR\s+REASON\n/);
    expect(table.stdout.indexOf(`${TENANT}-0001`)).toBeLessThan(table.stdout.indexOf(`${TENANT}-0002`));
  });

  it("explain shows every rule with ✓/✗, the timers and a Next line", async () => {
    const result = await landlord(withCluster(["explain", TENANT]));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const text = result.stdout;
    expect(text).toContain(`Tenant ${TENANT} (Acme, Inc.)`);
    expect(text).toContain(`Served:    pooled in namespace ${POOL}-1 of pool ${POOL}, phase Active`);
    expect(text).toContain("✓ tiers[namespace].promoteWhen (any): holds");
    expect(text).toContain("✓ monthlyRevenueUSD 26000 >= 20000");
    expect(text).toContain("✗ requestsPerDayShare 0.01 >= 0.05");
    expect(text).toContain("✗ tiers[namespace].demoteWhen (all): does not hold");
    expect(text).toContain("✗ monthlyRevenueUSD 26000 < 14000");
    expect(text).toContain("Promoting: False Stabilizing");
    // The last move (0002 on 2026-02-01) is long past its 168h cooldown; stabilization decides.
    const stableAt = new Date(Date.parse(since) + 24 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    expect(text.trimEnd().split("\n").at(-1)).toBe(`Next: promotes to namespace at ${stableAt} if monthlyRevenueUSD stays >= 20000`);

    const json = await landlord(withCluster(["explain", TENANT, "-o", "json"]));
    const facts = JSON.parse(json.stdout) as { rules: { rule: string; holds: string }[]; cooldown: { lastMove: string; running: boolean }; next: string };
    expect(facts.rules.map((r) => [r.rule, r.holds])).toEqual([
      ["tiers[namespace].promoteWhen", "true"],
      ["tiers[namespace].demoteWhen", "false"],
    ]);
    expect(facts.cooldown).toMatchObject({ lastMove: `${TENANT}-0002`, running: false });
    expect(facts.next).toContain("promotes to namespace at");
  });

  it("an unknown tenant exits 1 with one line, a bad -o exits 2", async () => {
    const unknown = await landlord(withCluster(["history", `${run}-nobody`]));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`landlord history: no TenantPlacement or decisions named ${run}-nobody\n`);
    const explain = await landlord(withCluster(["explain", `${run}-nobody`]));
    expect(explain.code).toBe(1);
    expect(explain.stderr).toContain(`no TenantPlacement named ${run}-nobody`);
    const bad = await landlord(withCluster(["audit", "-o", "xml"]));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('landlord audit: -o must be one of table, json, yaml, csv, got "xml"\n');
  });

  it("a cluster that cannot be reached is one clear line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "landlord-cli-"));
    try {
      const kubeconfig = join(dir, "kubeconfig");
      // Port 1 on loopback: nothing listens, the connection is refused at once.
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          // No CA and no insecure-skip-tls-verify (which would add a warning line): nothing gets to TLS anyway.
          clusters: [{ name: "gone", cluster: { server: "https://127.0.0.1:1" } }],
          users: [{ name: "u", user: { token: "t" } }],
          contexts: [{ name: "gone", context: { cluster: "gone", user: "u" } }],
          "current-context": "gone",
        }),
      );
      const result = await landlord(["audit"], { KUBECONFIG: kubeconfig });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(
        /^landlord audit: cannot reach the cluster at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.*; set KUBECONFIG or start one with npx landlord local up\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
