import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, eventually, k, kAsOperator, kJson } from "./cluster.ts";
import { auditedWrites, writeDelta } from "../apiserverWrites.ts";
import { auditLogPath } from "../../operator/src/local/controlPlane.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

interface Tenant {
  metadata: { name: string };
  status?: {
    tier?: string;
    phase?: string;
    namespace?: string;
    pool?: string;
    targetTier?: string;
    lastDecision?: string;
    conditions?: { type: string; status: string; reason: string }[];
  };
}
interface Decision {
  metadata: { name: string };
  spec: { from?: string; to: string; trigger: string };
  status?: { outcome?: string };
}

const POOL = "itpool";
const OPERATOR_USER = "system:serviceaccount:landlord-system:landlord";
const fileStartedAt = new Date();
// The audit log names the writer, so kube-controller-manager's own writes (quota usage, namespace
// finalization) cannot blur a count, and a failure says which object was written.
const byOperator = (since: Date): string[] => auditedWrites(auditLogPath(cluster().dir), since).filter((w) => w.includes(`by ${OPERATOR_USER} `));
const run = `r${Date.now().toString(36)}`;
const id = (n: string): string => `${run}-${n}`;

function tenantManifest(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    // A tier other than the default is a manual choice: the admission policy wants its reason.
    metadata: { name, ...(extra.tier ? { annotations: { "landlord.dev/tier-reason": `test ${name}` } } : {}) },
    spec: { tenantId: name, costCenter: "cc-7", pool: POOL, tags: { team: "it" }, ...extra },
  };
}

/** A spec.tier change as a person makes it: with the reason the chart's admission policy requires. */
const tierPatch = (tier: Record<string, unknown>, reason: string): string =>
  JSON.stringify({ metadata: { annotations: { "landlord.dev/tier-reason": reason } }, spec: { tier } });

const apply = (objects: Record<string, unknown>[]): Promise<string> =>
  k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

const tenant = (name: string): Promise<Tenant> => kJson<Tenant>(["get", "tp", name]);

async function waitFor(name: string, want: (t: Tenant) => boolean, what: string, timeoutMs = 30_000): Promise<Tenant> {
  return eventually(async () => {
    const t = await tenant(name);
    return want(t) ? t : undefined;
  }, { what: `${name}: ${what}`, timeoutMs });
}

const decisionsOf = async (name: string): Promise<Decision[]> =>
  (await kJson<{ items: Decision[] }>(["get", "pdec", "-l", `landlord.dev/tenant=${name}`])).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

async function registry(namespace: string): Promise<Record<string, string>> {
  const cm = await kJson<{ data?: Record<string, string> }>(["get", "configmap", "landlord-tenants", "-n", namespace]);
  return cm.data ?? {};
}


describe("the placement operator", () => {
  let operator: OperatorProcess;

  beforeAll(async () => {
    await apply([
      {
        apiVersion: "landlord.dev/v1alpha1",
        kind: "TenantPool",
        metadata: { name: POOL },
        spec: { namespacePrefix: `${run}-pool`, capacity: { maxTenants: 3, cpu: "10", memory: "20Gi" }, tenantDefaults: { cpu: "250m", memory: "512Mi", storage: "5Gi", pods: 5 } },
      },
    ]);
    operator = await startOperatorProcess();
    await operator.waitReady();
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("seats tenants applied all at once without overfilling a shard or opening an extra one", async () => {
    const names = ["a", "b", "c", "d", "e", "f", "g"].map(id);
    await apply(names.map((name) => tenantManifest(name)));
    for (const name of names) await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "pooled and Active");

    const shards = [1, 2, 3].map((i) => `${run}-pool-${i}`);
    const members = await Promise.all(shards.map(registry));
    expect(members.map((m) => Object.keys(m).length)).toEqual([3, 3, 1]);
    expect(Object.keys(Object.assign({}, ...members)).sort()).toEqual(names);
    await expect(k(["get", "namespace", `${run}-pool-4`])).rejects.toThrow(/NotFound|not found/);

    // Each entry says what the gateway must enforce for that tenant.
    const entry = JSON.parse(Object.values(members[0]!)[0]!) as { costCenter: string; quota: { cpu: string } };
    expect(entry.costCenter).toBe("cc-7");
    expect(entry.quota.cpu).toBe("250m");

    // The shard quota is the sum of its members' quotas.
    const quota = await kJson<{ spec: { hard: Record<string, string> } }>(["get", "resourcequota", "landlord-quota", "-n", shards[0]!]);
    expect(quota.spec.hard["requests.cpu"]).toBe("750m");
    expect(quota.spec.hard["requests.memory"]).toBe("1536Mi");
    expect(quota.spec.hard.pods).toBe("15");
    await k(["get", "networkpolicy", "landlord-default-deny", "-n", shards[0]!]);
    await k(["get", "limitrange", "landlord-defaults", "-n", shards[0]!]);

    const pool = await kJson<{ status: { tenants: number; shards: { namespace: string; tenants: number }[] } }>(["get", "tpool", POOL]);
    expect(pool.status.tenants).toBe(7);
    expect(pool.status.shards.map((s) => s.tenants)).toEqual([3, 3, 1]);

    const status = (await tenant(names[0]!)).status;
    expect(status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    // The initial placement is itself an audited decision.
    const decisions = await decisionsOf(names[0]!);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.spec).toMatchObject({ to: "pooled", trigger: "Policy" });
    expect(decisions[0]?.status?.outcome).toBe("Succeeded");
  });

  it("moves a pinned tenant to its own namespace only after the namespace is ready, and back", async () => {
    const name = id("pin");
    await apply([tenantManifest(name, { admins: [{ kind: "Group", name: "pin-admins" }] })]);
    await waitFor(name, (t) => t.status?.tier === "pooled", "pooled");

    await k(["patch", "tp", name, "--type=merge", "-p", tierPatch({ mode: "Pinned", pinned: "namespace" }, "pin 1 to namespace")]);
    const moved = await waitFor(name, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "served from its namespace");
    const namespace = `tenant-${name}`;
    expect(moved.status?.namespace).toBe(namespace);
    expect(moved.status?.targetTier).toBeUndefined();

    const ns = await kJson<{ metadata: { labels: Record<string, string> } }>(["get", "namespace", namespace]);
    expect(ns.metadata.labels).toMatchObject({
      "landlord.dev/tenant": name,
      "landlord.dev/tier": "namespace",
      "landlord.dev/cost-center": "cc-7",
      "landlord.dev/managed-by": "landlord",
      "tags.landlord.dev/team": "it",
    });
    const binding = await kJson<{ roleRef: { name: string }; subjects: { kind: string; name: string }[] }>(["get", "rolebinding", "landlord-tenant-admins", "-n", namespace]);
    expect(binding.roleRef.name).toBe("admin");
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: "Group", name: "pin-admins" })]);
    const policy = await kJson<{ spec: { ingress: unknown[] } }>(["get", "networkpolicy", "landlord-default-deny", "-n", namespace]);
    expect(JSON.stringify(policy.spec.ingress)).toContain("landlord.dev/ingress");

    // The seat in the pool is released once the namespace serves the tenant.
    await eventually(async () => {
      const all = await kJson<{ items: { data?: Record<string, string> }[] }>(["get", "configmap", "-A", "-l", `landlord.dev/pool=${POOL}`]);
      return all.items.some((cm) => cm.data && name in cm.data) ? undefined : true;
    }, { what: "the pool seat to be released" });

    let decisions = await decisionsOf(name);
    expect(decisions.map((d) => [d.spec.from, d.spec.to, d.spec.trigger, d.status?.outcome])).toEqual([
      [undefined, "pooled", "Policy", "Succeeded"],
      ["pooled", "namespace", "Pinned", "Succeeded"],
    ]);
    const events = await k(["get", "events", "-n", "default", "--field-selector", `involvedObject.name=${name}`, "-o", "jsonpath={.items[*].reason}"]);
    expect(events).toContain("Promoting");

    // And back to the pool: seated first, then the namespace is deleted.
    await k(["patch", "tp", name, "--type=merge", "-p", tierPatch({ mode: "Pinned", pinned: "pooled" }, "pin 2 to pooled")]);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "back in the pool");
    await eventually(async () => ((await k(["get", "namespace", namespace, "--ignore-not-found", "-o", "name"])).trim() === "" ? true : undefined), {
      what: `namespace ${namespace} to be deleted`,
      timeoutMs: 60_000,
    });
    decisions = await decisionsOf(name);
    expect(decisions.map((d) => [d.spec.from, d.spec.to, d.spec.trigger, d.status?.outcome])).toEqual([
      [undefined, "pooled", "Policy", "Succeeded"],
      ["pooled", "namespace", "Pinned", "Succeeded"],
      ["namespace", "pooled", "Pinned", "Succeeded"],
    ]);
  });

  it("honours the floor: an Auto tenant below it is raised", async () => {
    const name = id("floor");
    await apply([tenantManifest(name, { tier: { mode: "Auto", floor: "namespace" } })]);
    await waitFor(name, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "placed at its floor");
    const decisions = await decisionsOf(name);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.spec).toMatchObject({ to: "namespace", trigger: "Floor" });
  });

  it("repairs drift: a deleted quota, an edited cost label and a deleted registry entry come back", async () => {
    const name = id("drift");
    await apply([tenantManifest(name, { tier: { mode: "Pinned", pinned: "namespace" } })]);
    await waitFor(name, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "in its namespace");
    const namespace = `tenant-${name}`;

    await k(["delete", "resourcequota", "landlord-quota", "-n", namespace]);
    await eventually(async () => ((await k(["get", "resourcequota", "landlord-quota", "-n", namespace, "-o", "name"])).trim() || undefined), { what: "the quota to be restored" });

    // Only the operator's own identity may write landlord.dev/ labels (the reserved-labels policy):
    // the drift is a write as it, the way a second, misconfigured process would make one.
    await kAsOperator(["label", "namespace", namespace, "--overwrite", "landlord.dev/cost-center=stolen"]);
    await eventually(async () => ((await k(["get", "namespace", namespace, "-o", "jsonpath={.metadata.labels.landlord\\.dev/cost-center}"])) === "cc-7" ? true : undefined), {
      what: "the cost label to be restored",
    });

    const pooled = id("a");
    const seat = (await tenant(pooled)).status?.namespace ?? "";
    await k(["patch", "configmap", "landlord-tenants", "-n", seat, "--type=json", "-p", JSON.stringify([{ op: "remove", path: `/data/${pooled}` }])]);
    await eventually(async () => ((await registry(seat))[pooled] ? true : undefined), { what: "the registry entry to be restored in the same shard" });
  });

  it("never adopts a namespace it did not create", async () => {
    const name = id("foreign");
    await k(["create", "namespace", `tenant-${name}`]);
    await apply([tenantManifest(name)]);
    await waitFor(name, (x) => x.status?.tier === "pooled", "pooled");
    // The move to a namespace that someone else owns fails, and the tenant stays served where it was.
    await k(["patch", "tp", name, "--type=merge", "-p", tierPatch({ mode: "Pinned", pinned: "namespace" }, "pin 3 to namespace")]);
    const t = await waitFor(name, (x) => x.status?.conditions?.some((c) => c.type === "Degraded" && c.reason === "NamespaceConflict") ?? false, "a NamespaceConflict condition");
    expect(t.status?.tier).toBe("pooled");
    const ns = await kJson<{ metadata: { labels?: Record<string, string> } }>(["get", "namespace", `tenant-${name}`]);
    expect(ns.metadata.labels?.["landlord.dev/managed-by"]).toBeUndefined();
    await k(["patch", "tp", name, "--type=merge", "-p", tierPatch({ mode: "Pinned", pinned: "pooled" }, "pin 4 to pooled")]);
    await waitFor(name, (x) => x.status?.phase === "Active", "active in the pool again");
    await k(["delete", "namespace", `tenant-${name}`, "--wait=true", "--timeout=60s"]);
  });

  it("releases everything when a tenant is deleted", async () => {
    const dedicated = id("floor");
    const pooled = id("g");
    const seat = (await tenant(pooled)).status?.namespace ?? "";
    await k(["delete", "tp", dedicated, pooled, "--wait=true", "--timeout=90s"]);
    expect((await k(["get", "tp", dedicated, pooled, "--ignore-not-found", "-o", "name"])).trim()).toBe("");
    expect(await registry(seat)).not.toHaveProperty(pooled);
    await eventually(async () => ((await k(["get", "namespace", `tenant-${dedicated}`, "--ignore-not-found", "-o", "name"])).trim() === "" ? true : undefined), {
      what: "the dedicated namespace to be deleted",
      timeoutMs: 60_000,
    });
  });

  it("serves Prometheus metrics and health endpoints", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/landlord_reconcile_total\{[^}]*\} \d+/);
    expect(metrics).toContain("landlord_reconcile_duration_seconds_bucket");
    expect(metrics).toMatch(/landlord_tenants\{tier="pooled"\} \d+/);
    expect(metrics).toMatch(/landlord_moves_total\{[^}]*from="pooled"[^}]*to="namespace"/);
    expect((await fetch(`http://127.0.0.1:${operator.healthPort}/healthz`)).status).toBe(200);
  });

  it("after a restart, records no new decision and writes nothing while idle", async () => {
    const quiet = (): Promise<true> =>
      eventually(async () => (byOperator(new Date(Date.now() - 5_000)).length === 0 ? true : undefined), { what: "the operator to have written nothing for 5 s", timeoutMs: 60_000 });
    // A first restart finishes whatever the old process still had pending (a delayed retry, a
    // requeue) when it was stopped; what it writes is printed, not judged. The second restart over
    // the cluster it left must then write nothing at all: a restart is idempotent.
    await quiet();
    await operator.stop();
    const firstAt = new Date();
    operator = await startOperatorProcess();
    await operator.waitReady();
    await new Promise((r) => setTimeout(r, 3_000));
    await quiet();
    const pending = byOperator(firstAt);
    if (pending.length > 0) process.stderr.write(`operator.test: the first restart finished ${pending.length} write(s) left pending:\n${pending.join("\n")}\n`);
    await operator.stop();

    const before = await kJson<{ items: unknown[] }>(["get", "pdec"]);
    // Counted from before the start: the restart's own full reconcile must write nothing either.
    const startText = await k(["get", "--raw", "/metrics"]);
    const startedAt = new Date();
    operator = await startOperatorProcess();
    await operator.waitReady();
    await new Promise((r) => setTimeout(r, 30_000));
    const endText = await k(["get", "--raw", "/metrics"]);
    expect(byOperator(fileStartedAt).length, "the audit log records the operator's writes at all").toBeGreaterThan(0);
    expect(byOperator(startedAt), writeDelta(startText, endText)).toEqual([]);
    const after = await kJson<{ items: unknown[] }>(["get", "pdec"]);
    expect(after.items.length).toBe(before.items.length);
  }, 240_000);
});
