import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, eventually, k, kAsOperator, kFails, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * The audit trail against the real API server, with the chart's admission policies installed by the
 * global setup and people played by impersonation (kubectl --as/--as-group, with the admin's
 * certificate): who approved (stamped by the API server, not the client), why (a reason, required),
 * who may approve (the approver groups), and a per-tenant hash chain of decisions that
 * `landlord audit verify` walks, live and from an export.
 */

const run = `au${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const POLICY = `${run}-manual`;
const BIN = resolve(import.meta.dirname, "../../bin/landlord.mjs");
const work = mkdtempSync(join(tmpdir(), "landlord-audit-"));

interface Tenant {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { tier?: string; phase?: string; decisionHead?: { name: string; digest: string }; conditions?: { type: string; reason: string; message: string }[] };
}
interface Decision {
  metadata: { name: string };
  spec: { from?: string; to: string; trigger: string; actor?: string; reason?: string; approval?: { annotation: string }; previous?: { name: string; digest: string; outcome?: string } };
  status?: { outcome?: string };
}

/** People, as the API server will authenticate them. Impersonated groups need RBAC of their own: bound below. */
const ALICE = ["--as=alice", "--as-group=landlord-approvers"];
const BOB = ["--as=bob", "--as-group=product-team"];
const CAROL = ["--as=carol", "--as-group=landlord-platform-admins"];
/** A cluster admin who is in none of the named groups. */
const ADMIN = ["--as=root-admin", "--as-group=system:masters"];
const RETENTION = ["--as=retention-job", "--as-group=system:masters", "--as-group=landlord-retention"];

function landlord(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args, "--kubeconfig", cluster().kubeconfig], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const applyObjects = (objects: Record<string, unknown>[]): Promise<string> =>
  k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

function tenant(name: string, revenue: number): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    metadata: { name },
    spec: { tenantId: name, costCenter: "cc-audit", pool: POOL, policyRef: POLICY, reportedSignals: { monthlyRevenueUSD: revenue } },
  };
}

const getTenant = (name: string): Promise<Tenant> => kJson<Tenant>(["get", "tp", name]);
const waitFor = (name: string, want: (t: Tenant) => boolean, what: string, timeoutMs = 30_000): Promise<Tenant> =>
  eventually(async () => {
    const t = await getTenant(name);
    return want(t) ? t : undefined;
  }, { what: `${name}: ${what}`, timeoutMs });
const decisions = async (name: string): Promise<Decision[]> =>
  (await kJson<{ items: Decision[] }>(["get", "pdec", "-l", `landlord.dev/tenant=${name}`])).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
const setRevenue = (name: string, revenue: number): Promise<string> => k(["patch", "tp", name, "--type=merge", "-p", JSON.stringify({ spec: { reportedSignals: { monthlyRevenueUSD: revenue } } })]);
const active = (tier: string) => (t: Tenant) => t.status?.tier === tier && t.status.phase === "Active";

/** Places a tenant in its namespace (revenue), then drops its revenue so the demotion waits for approval. */
async function awaitingDemotion(name: string): Promise<void> {
  await applyObjects([tenant(name, 30_000)]);
  await waitFor(name, active("namespace"), "placed in its namespace");
  await setRevenue(name, 5_000);
  await waitFor(name, (t) => t.status?.conditions?.some((c) => c.type === "Promoting" && c.reason === "AwaitingApproval") ?? false, "awaiting approval");
}

describe("the audit trail", () => {
  let operator: OperatorProcess;

  beforeAll(async () => {
    const release = cluster().operator.release;
    await applyObjects([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: POOL, capacity: { maxTenants: 50, cpu: "20", memory: "40Gi" } } },
      {
        apiVersion: "landlord.dev/v1alpha1",
        kind: "PlacementPolicy",
        metadata: { name: POLICY },
        spec: {
          signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
          tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }] }, demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }] } }],
          stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
          approval: { promotion: "Automatic", demotion: "Manual" },
        },
      },
      // The personas' ClusterRoles from the chart, bound to the impersonated people's groups.
      ...[
        ["approver", "landlord-approvers"],
        ["tenant-requester", "product-team"],
        ["tenant-requester", "landlord-platform-admins"],
      ].map(([role, group]) => ({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${run}-${role}-${group}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${release}-${role}` },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
      })),
    ]);
    operator = await startOperatorProcess([]);
    await operator.waitReady();
    // RBAC is read from the informers' cache: wait until the approver role is in effect.
    await eventually(async () => ((await k(["auth", "can-i", "patch", "tenantplacements.landlord.dev", ...ALICE]).catch(() => "no")).trim() === "yes" ? true : undefined), { what: "the approver role" });
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    for (const role of ["approver-landlord-approvers", "tenant-requester-product-team", "tenant-requester-landlord-platform-admins"]) {
      await k(["delete", "clusterrolebinding", `${run}-${role}`, "--ignore-not-found"]).catch(() => undefined);
    }
    rmSync(work, { recursive: true, force: true });
  });

  it("records the approver the API server authenticated and their reason, not the field manager", async () => {
    const name = `${run}-globex`;
    await awaitingDemotion(name);
    // The client claims to be someone else twice over: a field manager, and a stamp of its own.
    // The object as the API server stored it (the operator may consume the approval right after).
    const stored = JSON.parse(await k(["annotate", "tp", name, "landlord.dev/approve-tier=pooled", "landlord.dev/approve-reason=CHG-1042 contract downgraded to the standard plan", "landlord.dev/approved-by=ceo", "--field-manager=ceo-says-so", "-o", "json", ...ALICE])) as Tenant;
    expect(stored.metadata.annotations?.["landlord.dev/approved-by"]).toBe("alice");
    await waitFor(name, active("pooled"), "demoted to the pool");
    const move = (await decisions(name)).at(-1);
    expect(move?.spec).toMatchObject({ from: "namespace", to: "pooled", trigger: "Manual", actor: "alice", reason: "CHG-1042 contract downgraded to the standard plan", approval: { annotation: "pooled" } });
    // Consumed once: the approval, its reason and its stamp go together.
    const cleared = await waitFor(name, (t) => t.metadata.annotations?.["landlord.dev/approve-tier"] === undefined, "the approval cleared");
    expect(cleared.metadata.annotations?.["landlord.dev/approve-reason"]).toBeUndefined();
    expect(cleared.metadata.annotations?.["landlord.dev/approved-by"]).toBeUndefined();

    const history = await landlord(["history", name]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(new RegExp(`${name}-0002 .* namespace +pooled +Manual +Succeeded .* alice +CHG-1042 contract downgraded to the standard plan`));
    const explain = await landlord(["explain", name]);
    expect(explain.stdout).toContain(`Decision:  ${name}-0002 namespace → pooled (Manual) by alice: "CHG-1042 contract downgraded to the standard plan"`);
    const audit = await landlord(["audit", "--pool", POOL, "-o", "json"]);
    expect(JSON.parse(audit.stdout)).toContainEqual(expect.objectContaining({ tenant: name, lastMoveBy: "alice", lastMoveReason: "CHG-1042 contract downgraded to the standard plan" }));
  });

  it("refuses a forged stamp, an approval by a non-approver, and an approval without a reason", async () => {
    const name = `${run}-initech`;
    await awaitingDemotion(name);
    const forged = await kFails(["annotate", "tp", name, "landlord.dev/approved-by=alice", ...BOB]);
    expect(forged).toContain("landlord.dev/approved-by records who approved, as the API server authenticated them: bob may not set it to \"alice\" (it changes only together with landlord.dev/approve-tier)");
    const notApprover = await kFails(["annotate", "tp", name, "landlord.dev/approve-tier=pooled", "landlord.dev/approve-reason=I say so", ...BOB]);
    expect(notApprover).toContain("only members of landlord-approvers, system:masters may set or remove landlord.dev/approve-tier; bob is not one");
    const noReason = await kFails(["annotate", "tp", name, "landlord.dev/approve-tier=pooled", ...ALICE]);
    expect(noReason).toContain("an approval needs a reason: set the annotation landlord.dev/approve-reason");
    const blank = await kFails(["annotate", "tp", name, "landlord.dev/approve-tier=pooled", "landlord.dev/approve-reason=   ", ...ALICE]);
    expect(blank).toContain("landlord.dev/approve-reason");
    // Nothing of it landed, and the tenant still waits.
    const after = await getTenant(name);
    expect(after.metadata.annotations?.["landlord.dev/approve-tier"]).toBeUndefined();
    expect(after.metadata.annotations?.["landlord.dev/approved-by"]).toBeUndefined();
    expect(after.status?.tier).toBe("namespace");
  });

  it("stamps and requires a reason for a spec.tier change, and keeps it to the platform admins", async () => {
    const name = `${run}-umbrella`;
    await applyObjects([tenant(name, 1_000)]);
    await waitFor(name, active("pooled"), "pooled");
    const pin = JSON.stringify({ spec: { tier: { mode: "Pinned", pinned: "namespace" } } });
    expect(await kFails(["patch", "tp", name, "--type=merge", "-p", pin, ...BOB])).toContain("may set spec.tier (mode, pinned, floor, ceiling); bob is not one");
    expect(await kFails(["patch", "tp", name, "--type=merge", "-p", pin, ...CAROL])).toContain("a change of spec.tier needs a reason: set the annotation landlord.dev/tier-reason");
    const withReason = JSON.stringify({ metadata: { annotations: { "landlord.dev/tier-reason": "MSA-7 promises isolation" } }, spec: { tier: { mode: "Pinned", pinned: "namespace" } } });
    await k(["patch", "tp", name, "--type=merge", "-p", withReason, ...CAROL]);
    await waitFor(name, active("namespace"), "moved to its pinned namespace");
    expect((await decisions(name)).at(-1)?.spec).toMatchObject({ trigger: "Pinned", to: "namespace", actor: "carol", reason: "MSA-7 promises isolation" });
    // The same reason again does not explain a new change.
    const again = JSON.stringify({ spec: { tier: { mode: "Pinned", pinned: "pooled" } } });
    expect(await kFails(["patch", "tp", name, "--type=merge", "-p", again, ...CAROL])).toContain("needs a reason of its own: landlord.dev/tier-reason still holds the reason of an earlier change");
  });

  it("keeps decisions append-only: only the operator records them, only the retention group deletes them", async () => {
    const name = `${run}-globex`;
    const [first] = await decisions(name);
    if (!first) throw new Error(`${name} has no decisions`);
    const refused = await kFails(["delete", "pdec", first.metadata.name, ...ADMIN]);
    expect(refused).toContain(`PlacementDecision ${first.metadata.name} is part of the audit trail: only members of landlord-retention may delete decisions; root-admin is not one`);
    // The suite's own admin kubeconfig (system:masters) is refused too.
    expect(await kFails(["delete", "pdec", first.metadata.name])).toContain("only members of landlord-retention may delete decisions; landlord-admin is not one");
    // Deleting the CRD would take every decision with it, past any per-object check.
    expect(await kFails(["delete", "crd", "placementdecisions.landlord.dev", "--dry-run=server", ...ADMIN])).toContain("the PlacementDecision CRD holds the audit trail: only members of landlord-retention may delete decisions; root-admin is not one");
    const fake = { apiVersion: "landlord.dev/v1alpha1", kind: "PlacementDecision", metadata: { name: `${name}-0099` }, spec: { tenant: name, to: "account", trigger: "Manual", requestedAt: new Date().toISOString() } };
    expect(await kFails(["create", "-f", "-", ...ADMIN], JSON.stringify(fake))).toContain("only the Landlord operator records or updates them, not root-admin");
    expect(await kFails(["patch", "pdec", first.metadata.name, "--subresource=status", "--type=merge", "-p", '{"status":{"outcome":"Failed"}}', ...ADMIN])).toContain("only the Landlord operator records or updates them");
    // And the chain is intact.
    const verify = await landlord(["audit", "verify", "--tenant", name]);
    expect(verify.stdout).toMatch(new RegExp(`${name} +2 decisions +ok`));
    expect(verify.code).toBe(0);
    const tp = await getTenant(name);
    expect(tp.status?.decisionHead?.name).toBe(`${name}-0002`);
    expect((await decisions(name))[1]?.spec.previous).toMatchObject({ name: `${name}-0001`, outcome: "Succeeded", digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });

  it("exports one line per decision, and the export verifies offline; an edited export does not", async () => {
    const file = join(work, "decisions.jsonl");
    const exported = await landlord(["audit", "export", "--since", "2020-01-01", "-o", "jsonl", "--tenant", `${run}-globex`]);
    expect(exported.code).toBe(0);
    writeFileSync(file, exported.stdout);
    const lines = exported.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ tenant: `${run}-globex`, decision: `${run}-globex-0002`, actor: "alice", reason: "CHG-1042 contract downgraded to the standard plan", trigger: "Manual", from: "namespace", to: "pooled", outcome: "Succeeded", approval: { annotation: "pooled" } });
    const ok = await landlord(["audit", "export", "--verify", file]);
    expect(ok.stdout).toContain("every chain is intact");
    expect(ok.code).toBe(0);
    writeFileSync(file, readFileSync(file, "utf8").replace('"actor":"alice"', '"actor":"mallory"').replace('"spec":{"actor":"alice"', '"spec":{"actor":"mallory"'));
    const tampered = await landlord(["audit", "export", "--verify", file]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`BROKEN ${run}-globex-0002 was altered`);
  });

  it("names the broken link when an admin removes the policies and deletes or edits a decision", async () => {
    const name = `${run}-hooli`;
    await applyObjects([tenant(name, 1_000)]);
    await waitFor(name, active("pooled"), "pooled");
    for (const [revenue, tier] of [[30_000, "namespace"], [5_000, "pooled"], [40_000, "namespace"]] as const) {
      await setRevenue(name, revenue);
      if (tier === "pooled") {
        await waitFor(name, (t) => t.status?.conditions?.some((c) => c.reason === "AwaitingApproval") ?? false, "awaiting approval");
        await k(["annotate", "tp", name, "landlord.dev/approve-tier=pooled", `landlord.dev/approve-reason=${run} demotion`, ...ALICE]);
      }
      await waitFor(name, active(tier), `served from ${tier}`);
    }
    await eventually(async () => ((await decisions(name)).at(-1)?.status?.outcome === "Succeeded" ? true : undefined), { what: "the last move closed" });
    const chain = await decisions(name);
    expect(chain.map((d) => d.metadata.name)).toEqual([1, 2, 3, 4].map((n) => `${name}-000${n}`));
    expect((await landlord(["audit", "verify", "--tenant", name])).code).toBe(0);

    const binding = `${cluster().operator.release}-decisions`;
    const saved = await k(["get", "validatingadmissionpolicybinding", binding, "-o", "json"]);
    const second = await kJson<Record<string, unknown> & { metadata: Record<string, unknown> }>(["get", "pdec", `${name}-0002`]);
    try {
      await k(["delete", "validatingadmissionpolicybinding", binding]);
      // The API server drops the policy within a moment of its binding.
      await eventually(async () => (await k(["delete", "pdec", `${name}-0002`, ...ADMIN]).then(() => true).catch(() => undefined)), { what: "the decision deleted once the policy is gone" });
      const deleted = await landlord(["audit", "verify", "--tenant", name]);
      expect(deleted.code).toBe(1);
      expect(deleted.stdout).toContain(`BROKEN ${name}-0003 links to ${name}-0002, which is missing: it was deleted`);

      // Put back with a different reason: the same name, an edited record.
      const { metadata, spec } = second as { metadata: { name: string; labels: Record<string, string> }; spec: Record<string, unknown> };
      await kAsOperator(["create", "-f", "-"], JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "PlacementDecision", metadata: { name: metadata.name, labels: metadata.labels }, spec: { ...spec, reason: "nothing to see here" } }));
      const edited = await landlord(["audit", "verify", "--tenant", name]);
      expect(edited.code).toBe(1);
      expect(edited.stdout).toMatch(new RegExp(`BROKEN ${name}-0002 was altered: ${name}-0003 recorded its digest as [0-9a-f]{12}, it now hashes to [0-9a-f]{12}`));
    } finally {
      await k(["apply", "--server-side", "--field-manager=helm", "-f", "-"], JSON.stringify({ ...JSON.parse(saved), metadata: { name: binding, labels: (JSON.parse(saved) as { metadata: { labels?: Record<string, string> } }).metadata.labels } }));
    }
    await eventually(async () => (await k(["delete", "pdec", `${name}-0001`, "--dry-run=server", ...ADMIN]).then(() => undefined).catch(() => true)), { what: "the decisions policy back in force" });
  }, 120_000);

  it("lets the retention group delete decisions, and verify still shows the gap", async () => {
    const name = `${run}-initech`;
    const [only] = await decisions(name);
    if (!only) throw new Error(`${name} has no decisions`);
    await k(["delete", "pdec", only.metadata.name, ...RETENTION]);
    const result = await landlord(["audit", "verify", "--tenant", name]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`BROKEN ${only.metadata.name} is the chain head in TenantPlacement ${name}'s status but is missing: it was deleted`);
    // The next decision continues from the head the status recorded: its number is not reused, and
    // the gap stays visible.
    await k(["patch", "tp", name, "--type=merge", "-p", JSON.stringify({ metadata: { annotations: { "landlord.dev/tier-reason": "INC-9 back to the pool" } }, spec: { tier: { mode: "Pinned", pinned: "pooled" } } }), ...CAROL]);
    await waitFor(name, active("pooled"), "pinned back to the pool");
    const [next] = await decisions(name);
    expect(next?.metadata.name).toBe(`${name}-0002`);
    expect(next?.spec).toMatchObject({ trigger: "Pinned", actor: "carol", reason: "INC-9 back to the pool", previous: { name: only.metadata.name } });
    const after = await landlord(["audit", "verify", "--tenant", name]);
    expect(after.stdout).toContain(`BROKEN ${name}-0002 links to ${only.metadata.name}, which is missing: it was deleted`);
  });
});
