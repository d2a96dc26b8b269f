import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditedWrites } from "../apiserverWrites.ts";
import { auditLogPath } from "../../operator/src/local/controlPlane.ts";
import { cluster, eventually, k, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * Issue 16, item 3: a field removed from a TenantPlacement leaves every object it was on. Each
 * apply carries a hash of what Landlord last applied (landlord.dev/applied-hash), so a removal is a
 * change even though the old object still "contains" the new desired one. The tenant is on the
 * database tier under the plan provisioner, so its namespace, every child, the connection
 * ConfigMap and the planned AWS resources all carry its tags, and must keep agreeing.
 */

interface Labelled {
  kind?: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}
interface Tenant {
  status?: {
    tier?: string;
    phase?: string;
    resources?: Array<{ kind: string; name?: string; planned?: boolean; tags?: Record<string, string> }>;
    conditions?: { type: string; status: string; reason: string }[];
  };
}

const run = `rm${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const POLICY = `${run}-policy`;
const NAME = `${run}-t`;
const NAMESPACE = `tenant-${NAME}`;
const apply = (objects: Record<string, unknown>[]): Promise<string> =>
  k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

const policy = {
  apiVersion: "landlord.dev/v1alpha1",
  kind: "PlacementPolicy",
  metadata: { name: POLICY },
  spec: {
    signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
    tiers: [
      { tier: "namespace" },
      { tier: "database", database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 20 } },
    ],
  },
};

/** The tenant as its platform admin writes it; applying a smaller one removes what it leaves out. */
const tenantManifest = (spec: { tags: Record<string, string>; admins: string[]; quota: Record<string, string | number> }): Record<string, unknown> => ({
  apiVersion: "landlord.dev/v1alpha1",
  kind: "TenantPlacement",
  metadata: { name: NAME, annotations: { "landlord.dev/tier-reason": "removals test: a dedicated database" } },
  spec: {
    tenantId: NAME,
    costCenter: "cc-rm",
    pool: POOL,
    policyRef: POLICY,
    deletionPolicy: "Delete",
    tier: { mode: "Pinned", pinned: "database" },
    tags: spec.tags,
    admins: spec.admins.map((name) => ({ kind: "User", name })),
    quota: spec.quota,
  },
});

/** The namespace and every object Landlord keeps in it, as the API server has them. */
async function tenantObjects(): Promise<Labelled[]> {
  const children = await kJson<{ items: Labelled[] }>(["get", "resourcequota,limitrange,networkpolicy,rolebinding,configmap", "-n", NAMESPACE, "-l", "landlord.dev/managed-by=landlord"]);
  return [{ kind: "Namespace", ...(await kJson<Labelled>(["get", "namespace", NAMESPACE])) }, ...children.items];
}
const tenant = (): Promise<Tenant> => kJson<Tenant>(["get", "tp", NAME]);
const awsResources = (t: Tenant) => (t.status?.resources ?? []).filter((r) => r.kind.startsWith("aws:"));
const OPERATOR_WRITES_HERE = (line: string): boolean => line.includes(`by ${cluster().operator.user} `) && (line.includes(` ${NAMESPACE}/`) || line.includes(`namespaces ${NAMESPACE} `));

describe("a removed field leaves every object (issue 16)", () => {
  let operator: OperatorProcess;

  beforeAll(async () => {
    await apply([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: POOL, capacity: { maxTenants: 5, cpu: "10", memory: "20Gi" } } },
      policy,
    ]);
    operator = await startOperatorProcess(["--provisioner", "plan"]);
    await operator.waitReady();
  }, 120_000);

  afterAll(async () => {
    try {
      await k(["delete", "tp", NAME, "--ignore-not-found", "--timeout=120s"]);
      await k(["delete", "tpool", POOL, "--ignore-not-found"]);
      await k(["delete", "placementpolicy", POLICY, "--ignore-not-found"]);
    } finally {
      await operator?.stop();
    }
  }, 180_000);

  it("removes a removed tag's label from the namespace and every child, and its AWS tag from the plan; a removed admin and quota key go too", async () => {
    await apply([tenantManifest({ tags: { team: "data", project: "p1" }, admins: ["alice", "bob"], quota: { cpu: "0.5", memory: "2Gi", pods: 20 } })]);
    const placed = await eventually(async () => {
      const t = await tenant();
      return t.status?.tier === "database" && t.status.phase === "Active" && awsResources(t).length > 0 ? t : undefined;
    }, { what: "the tenant served from its planned database", timeoutMs: 90_000 });
    for (const item of awsResources(placed)) expect(item.tags, item.kind).toMatchObject({ team: "data", project: "p1" });
    const before = await tenantObjects();
    // Namespace, quota, limits, two network policies, admins, connection: each labelled with both tags.
    expect(before.map((o) => o.kind).sort()).toEqual(["ConfigMap", "LimitRange", "Namespace", "NetworkPolicy", "NetworkPolicy", "ResourceQuota", "RoleBinding"]);
    for (const object of before) {
      expect(object.metadata.labels, `${object.kind} ${object.metadata.name}`).toMatchObject({ "tags.landlord.dev/team": "data", "tags.landlord.dev/project": "p1" });
      expect(object.metadata.annotations?.["landlord.dev/applied-hash"], `${object.kind} ${object.metadata.name}`).toMatch(/^[\w-]{43}$/);
    }

    // The platform admin drops the project tag, bob and the pods limit.
    const removedAt = Date.now();
    await apply([tenantManifest({ tags: { team: "data" }, admins: ["alice"], quota: { cpu: "0.5", memory: "2Gi" } })]);
    const after = await eventually(async () => {
      const objects = await tenantObjects();
      return objects.every((o) => !("tags.landlord.dev/project" in (o.metadata.labels ?? {})) && o.metadata.labels?.["tags.landlord.dev/team"] === "data") ? objects : undefined;
    }, { what: "the removed tag's label gone from the namespace and every child", timeoutMs: 15_000 });
    process.stderr.write(`removals.test: labels converged ${Date.now() - removedAt} ms after the tag was removed\n`);
    expect(after.length).toBe(before.length);

    const binding = await kJson<{ subjects: Array<{ name: string }> }>(["get", "rolebinding", "landlord-tenant-admins", "-n", NAMESPACE]);
    expect(binding.subjects.map((s) => s.name)).toEqual(["alice"]);
    const quota = await kJson<{ spec: { hard: Record<string, string> } }>(["get", "resourcequota", "landlord-quota", "-n", NAMESPACE]);
    // Only the removed key goes; the quantities the API server normalised ("0.5" → "500m") stay.
    expect(quota.spec.hard).toEqual({ "requests.cpu": "500m", "requests.memory": "2Gi" });

    // The plan is made again for the new tags: AWS and Kubernetes agree once more.
    const replanned = await eventually(async () => {
      const t = await tenant();
      const aws = awsResources(t);
      return aws.length > 0 && aws.every((r) => r.tags?.team === "data" && !("project" in (r.tags ?? {}))) ? t : undefined;
    }, { what: "the planned AWS resources without the project tag", timeoutMs: 60_000 });
    expect(replanned.status?.tier).toBe("database");
    expect(replanned.status?.conditions?.find((c) => c.type === "TagsCompliant")?.status).toBe("True");
    for (const item of awsResources(replanned)) expect(item.planned, item.kind).toBe(true);

    // Converged, the operator leaves the namespace alone: unchanged reconciles write nothing.
    await k(["annotate", "tp", NAME, "--overwrite", `it.example.com/nudge=${Date.now()}`]);
    const quietFrom = new Date(Date.now() + 3_000);
    await new Promise((r) => setTimeout(r, 13_000));
    const audited = (since: Date): string[] => auditedWrites(auditLogPath(cluster().dir), since).filter(OPERATOR_WRITES_HERE);
    // The filter sees the operator's writes here at all: the removal's applies are among them.
    expect(audited(new Date(removedAt)).filter((line) => line.startsWith("patch ")).length).toBeGreaterThanOrEqual(before.length);
    expect(audited(quietFrom)).toEqual([]);
  }, 240_000);
});
