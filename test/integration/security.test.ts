import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, k, kAsOperator, kAsOperatorFails, kFails, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * Issue 15: tenant input must never escalate. Each test performs an attack the way its attacker
 * would — a tenant admin impersonated with `--as`, a TenantPlacement author through the CRD, the
 * operator's own token against the chart's admission policy — on the real API server, with the
 * chart's policies installed by the global setup, and checks that it gets nothing.
 */

interface Tenant {
  metadata: { name: string; uid: string };
  status?: { tier?: string; phase?: string; namespace?: string; conditions?: { type: string; status: string; reason: string; message: string }[] };
}
interface Labelled {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

const run = `sec${Date.now().toString(36)}`;
const id = (n: string): string => `${run}-${n}`;
const POOL = id("pool");
const apply = (objects: Record<string, unknown>[]): Promise<string> =>
  k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
let tierChanges = 0;
/** A tenant as its platform admin writes it: a spec.tier comes with the reason admission asks for (a new one each time). */
const tenantManifest = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: "landlord.dev/v1alpha1",
  kind: "TenantPlacement",
  metadata: { name, ...(spec.tier === undefined ? {} : { annotations: { "landlord.dev/tier-reason": `security test, change ${++tierChanges}` } }) },
  spec: { tenantId: name, costCenter: "cc-sec", pool: POOL, ...spec },
});
const pinned = (tier: string) => ({ tier: { mode: "Pinned", pinned: tier } });
const tenant = (name: string): Promise<Tenant> => kJson<Tenant>(["get", "tp", name]);
async function waitFor(name: string, want: (t: Tenant) => boolean, what: string, timeoutMs = 45_000): Promise<Tenant> {
  return eventually(async () => {
    const t = await tenant(name);
    return want(t) ? t : undefined;
  }, { what: `${name}: ${what}`, timeoutMs });
}
const condition = (t: Tenant, type: string) => t.status?.conditions?.find((c) => c.type === type);

describe("tenant input never escalates (issue 15)", () => {
  let operator: OperatorProcess;
  const created: string[] = [];

  beforeAll(async () => {
    await apply([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: `${run}-pool`, capacity: { maxTenants: 5, cpu: "10", memory: "20Gi" } } },
    ]);
    operator = await startOperatorProcess();
    await operator.waitReady();
  });

  afterAll(async () => {
    try {
      if (created.length > 0) await k(["delete", "tp", ...created, "--ignore-not-found", "--timeout=120s"]);
      await k(["delete", "tpool", POOL, id("twin"), "--ignore-not-found"]);
    } finally {
      await operator?.stop();
    }
  });

  const admitted = async (name: string, spec: Record<string, unknown>, user: string): Promise<Tenant> => {
    created.push(name);
    await apply([tenantManifest(name, { ...pinned("namespace"), admins: [{ kind: "User", name: user }], ...spec })]);
    return waitFor(name, (t) => t.status?.tier === "namespace" && t.status.phase === "Active", "served from its namespace");
  };

  it("1. records the owner's UID on everything it writes, and a second pool with the same prefix cannot take over the first's shard", async () => {
    const name = id("own");
    const t = await admitted(name, {}, `${name}-admin`);
    for (const [kind, object] of [["namespace", name], ["resourcequota", "landlord-quota"], ["networkpolicy", "landlord-default-deny"], ["rolebinding", "landlord-tenant-admins"]] as const) {
      const got = await kJson<Labelled>(kind === "namespace" ? ["get", "namespace", `tenant-${object}`] : ["get", kind, object, "-n", `tenant-${name}`]);
      expect(got.metadata.annotations?.["landlord.dev/owner-uid"], kind).toBe(t.metadata.uid);
    }

    // A tenant seated in the pool, then a second pool whose prefix names the same shards.
    const seated = id("seated");
    created.push(seated);
    await apply([tenantManifest(seated, pinned("pooled"))]);
    await waitFor(seated, (x) => x.status?.tier === "pooled" && x.status.phase === "Active", "pooled");
    const shard = `${run}-pool-1`;
    const before = await kJson<{ data?: Record<string, string> }>(["get", "configmap", "landlord-tenants", "-n", shard]);
    expect(Object.keys(before.data ?? {})).toContain(seated);
    const twin = id("twin");
    const intruder = id("intruder");
    created.push(intruder);
    await apply([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: twin }, spec: { namespacePrefix: `${run}-pool`, capacity: { maxTenants: 5, cpu: "10", memory: "20Gi" } } },
      tenantManifest(intruder, { pool: twin, ...pinned("pooled") }),
    ]);
    const refused = await eventually(async () => {
      const pool = await kJson<{ status?: { conditions?: { type: string; reason: string; message: string }[] } }>(["get", "tpool", twin]);
      return pool.status?.conditions?.find((c) => c.type === "Ready" && c.reason === "OwnerConflict");
    }, { what: "the twin pool to be refused the shard", timeoutMs: 30_000 });
    expect(refused.message).toContain("belongs to another owner");
    // The first pool's registry is untouched: its tenant keeps its seat, the intruder has none.
    const after = await kJson<Labelled & { data?: Record<string, string> }>(["get", "configmap", "landlord-tenants", "-n", shard]);
    expect(Object.keys(after.data ?? {})).toContain(seated);
    expect(Object.keys(after.data ?? {})).not.toContain(intruder);
    expect(after.metadata.labels?.["landlord.dev/pool"]).toBe(POOL);
    expect((await tenant(intruder)).status?.tier).toBeUndefined();
    await k(["delete", "tp", intruder, "--timeout=60s"]);
    await k(["delete", "tpool", twin]);
  });

  it("1. neither writes to nor deletes a namespace recorded for another owner; the tenant stays served and is told", async () => {
    const name = id("taken");
    const namespace = `tenant-${name}`;
    await admitted(name, { quota: { cpu: "1" } }, `${name}-admin`);
    // As if another TenantPlacement's reconcile had created it (what a name collision amounted to).
    await k(["annotate", "namespace", namespace, "--overwrite", "landlord.dev/owner-uid=00000000-0000-0000-0000-00000000beef"]);
    await apply([tenantManifest(name, { ...pinned("namespace"), admins: [{ kind: "User", name: `${name}-admin` }], quota: { cpu: "3" } })]);
    const refused = await waitFor(name, (t) => condition(t, "Degraded")?.reason === "NamespaceConflict", "the conflict reported");
    expect(condition(refused, "Degraded")?.message).toMatch(/belongs to another owner \(landlord\.dev\/owner-uid 00000000-0000-0000-0000-00000000beef/);
    expect(condition(refused, "Ready")?.status).toBe("True");
    expect(refused.status?.tier).toBe("namespace");
    const quota = await kJson<{ spec: { hard: Record<string, string> } }>(["get", "resourcequota", "landlord-quota", "-n", namespace]);
    expect(quota.spec.hard["requests.cpu"]).toBe("1");
    const events = await kJson<{ items: Array<{ reason: string }> }>(["get", "events", "-A", "--field-selector", `involvedObject.name=${name}`]);
    expect(events.items.map((e) => e.reason)).toContain("NamespaceConflict");
    // Deleting the tenant leaves the other owner's namespace alone.
    await k(["delete", "tp", name, "--timeout=60s"]);
    const ns = await kJson<{ metadata: { deletionTimestamp?: string } }>(["get", "namespace", namespace]);
    expect(ns.metadata.deletionTimestamp).toBeUndefined();
    await k(["delete", "namespace", namespace, "--wait=false"]);
  });

  it("1. refuses tenant ids and pool prefixes that could name someone else's namespace or RDS instance", async () => {
    const long = "a".repeat(55);
    expect(await kFails(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(tenantManifest(long)))).toMatch(/may not be more than 54/);
    expect(await kFails(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(tenantManifest(`${run}--x`)))).toMatch(/must not contain '--'/);
    const pool = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: id("tp") }, spec: { namespacePrefix: "tenant-x", capacity: { maxTenants: 5, cpu: "1", memory: "1Gi" } } };
    expect(await kFails(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(pool))).toMatch(/must not be tenant or start with tenant-/);
  });

  it("2. labels tags under tags.landlord.dev/, enforces Pod Security, and removes a removed tag's label everywhere", async () => {
    const name = id("psa");
    const admin = `${name}-admin`;
    const namespace = `tenant-${name}`;
    // The attack of the issue: a tag that would switch Pod Security off.
    const lifted = tenantManifest(id("lift"), { tags: { "pod-security.kubernetes.io/enforce": "privileged" } });
    expect(await kFails(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify(lifted))).toMatch(/tags\.landlord\.dev\/<key>/);

    await admitted(name, { tags: { team: "sec", project: "x1" } }, admin);
    const ns = await kJson<Labelled>(["get", "namespace", namespace]);
    expect(ns.metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted", "tags.landlord.dev/team": "sec", "tags.landlord.dev/project": "x1" });
    expect(ns.metadata.labels).not.toHaveProperty("team");

    // The tenant admin holds `admin` in the namespace: a privileged pod is still refused.
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "root", namespace }, spec: { hostNetwork: true, containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] } };
    expect(await kFails(["apply", "-f", "-", "--as", admin], JSON.stringify(pod))).toMatch(/violates PodSecurity "restricted:latest"/);

    // Removing a tag removes its label from the namespace and every child, within seconds.
    await apply([tenantManifest(name, { ...pinned("namespace"), admins: [{ kind: "User", name: admin }], tags: { team: "sec" } })]);
    await eventually(async () => {
      const objects = [
        await kJson<Labelled>(["get", "namespace", namespace]),
        ...(await Promise.all(["resourcequota/landlord-quota", "limitrange/landlord-defaults", "networkpolicy/landlord-default-deny", "rolebinding/landlord-tenant-admins"].map((o) => kJson<Labelled>(["get", o, "-n", namespace])))),
      ];
      return objects.every((o) => !("tags.landlord.dev/project" in (o.metadata.labels ?? {})) && o.metadata.labels?.["tags.landlord.dev/team"] === "sec") ? true : undefined;
    }, { what: "the removed tag's label gone from the namespace and every child", timeoutMs: 15_000 });
  });

  it("2. the namespace guard refuses a namespace without Pod Security, and one set to privileged", async () => {
    const managed = { "landlord.dev/managed-by": "landlord" };
    const bare = { apiVersion: "v1", kind: "Namespace", metadata: { name: id("bare"), labels: managed } };
    expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(bare))).toMatch(/must carry the label pod-security\.kubernetes\.io\/enforce/);
    const privileged = { ...bare, metadata: { ...bare.metadata, labels: { ...managed, "pod-security.kubernetes.io/enforce": "privileged" } } };
    expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(privileged))).toMatch(/restricted or baseline/);
  });

  it("4. refuses a tenant admin a forged landlord-tenants ConfigMap in a namespace it controls, and ignores one that got in", async () => {
    const attacker = id("forger");
    const admin = `${attacker}-admin`;
    await admitted(attacker, {}, admin);
    // The victim waits for a pool that does not exist: it has no seat anywhere.
    const victim = id("victim");
    const missingPool = id("nopool");
    created.push(victim);
    await apply([tenantManifest(victim, { pool: missingPool })]);
    await waitFor(victim, (t) => condition(t, "Degraded")?.reason === "PoolNotFound", "waiting for its pool");
    const forged = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "landlord-tenants", namespace: `tenant-${attacker}`, labels: { "landlord.dev/pool": missingPool, "landlord.dev/managed-by": "landlord", "landlord.dev/shard": "1" } },
      data: { [victim]: JSON.stringify({ tenantId: victim, costCenter: "cc-sec", quota: {}, tier: "pooled" }) },
    };
    // Admission refuses the tenant admin the operator's labels (the reserved-labels policy)…
    expect(await kFails(["apply", "-f", "-", "--as", admin], JSON.stringify(forged))).toMatch(/labels under landlord\.dev\/ are reserved to the Landlord operator/);
    expect(await k(["get", "configmap", "landlord-tenants", "-n", `tenant-${attacker}`, "--ignore-not-found", "-o", "name"])).toBe("");
    // …so the forgery that gets in all the same (a cluster without the admission policies; here
    // written with the operator's token, which that policy exempts) must be ignored by the operator itself.
    await kAsOperator(["create", "-f", "-"], JSON.stringify(forged));
    // Long enough for several reconciles of the victim (the ConfigMap event wakes it at once).
    await new Promise((r) => setTimeout(r, 5_000));
    const t = await tenant(victim);
    expect(t.status?.tier).toBeUndefined();
    expect(t.status?.namespace).toBeUndefined();
    expect(condition(t, "Ready")?.status).toBe("False");
  });

  it("5. refuses system: users and groups and other namespaces' ServiceAccounts as tenant admins, and says so", async () => {
    const name = id("anon");
    created.push(name);
    await apply([tenantManifest(name, { ...pinned("namespace"), admins: [{ kind: "Group", name: "system:unauthenticated" }] })]);
    const t = await waitFor(name, (x) => condition(x, "Degraded")?.reason === "ChildRejected", "the binding refused");
    expect(condition(t, "Degraded")?.message).toMatch(/may not include a system: user or group/);
    expect(await k(["get", "rolebindings", "-n", `tenant-${name}`, "-o", "name"])).toBe("");

    const subjects: Record<string, string>[] = [
      { kind: "User", name: "system:anonymous" },
      { kind: "Group", name: "system:unauthenticated" },
      { kind: "Group", name: "system:masters" },
      { kind: "ServiceAccount", name: "default", namespace: "kube-system" },
    ];
    for (const subject of subjects) {
      const binding = {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "landlord-tenant-admins", namespace: `tenant-${name}`, labels: { "landlord.dev/managed-by": "landlord" } },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
        subjects: [subject.kind === "ServiceAccount" ? subject : { ...subject, apiGroup: "rbac.authorization.k8s.io" }],
      };
      const stderr = await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(binding));
      expect(stderr, JSON.stringify(subject)).toMatch(subject.kind === "ServiceAccount" ? /only include ServiceAccounts of the tenant's own namespace/ : /may not include a system: user or group/);
    }
  });

  it("6. the namespace guard refuses a Job that would escalate, even from the operator", async () => {
    const name = id("own");
    const job = (podSpec: Record<string, unknown>) => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "landlord-migrate-x", namespace: `tenant-${name}`, labels: { "landlord.dev/managed-by": "landlord" } },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "busybox" }], ...podSpec } } },
    });
    for (const podSpec of [
      { hostNetwork: true },
      { volumes: [{ name: "root", hostPath: { path: "/" } }] },
      { volumes: [{ name: "s", secret: { secretName: "db" } }] },
      { containers: [{ name: "m", image: "busybox", securityContext: { privileged: true } }] },
      { containers: [{ name: "m", image: "busybox", env: [{ name: "P", valueFrom: { secretKeyRef: { name: "db", key: "p" } } }] }] },
    ]) {
      const stderr = await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(job(podSpec)));
      expect(stderr, JSON.stringify(podSpec)).toMatch(/may not use host namespaces, hostPath or Secret volumes/);
    }
  });
});
