import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import { namespaceTierObjects, shardObjects } from "../../../operator/src/controller/children.ts";
import { jobTemplateProblems, migrationJob, migrationJobName } from "../../../operator/src/controller/migration.ts";
import { foreignOwner, ownerOfDesired } from "../../../operator/src/controller/ownership.ts";
import type { ControllerContext } from "../../../operator/src/controller/context.ts";
import { findSeat, trustedRegistry } from "../../../operator/src/controller/poolRegistry.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";

const tenant = { tenantId: "acme", costCenter: "cc-1", tags: { team: "growth" } };

describe("owner UIDs (issue 15)", () => {
  const objects = namespaceTierObjects({ tenant, quota: { cpu: "1" }, owner: "uid-acme", admins: [{ kind: "Group", name: "acme-admins" }] });

  it("are recorded on everything a tenant's namespace tier writes", () => {
    for (const object of objects) expect(object.metadata.annotations?.["landlord.dev/owner-uid"], object.kind).toBe("uid-acme");
    const shard = shardObjects({ pool: "standard", index: 1, namespace: "pool-standard-1", quota: {}, members: [], owner: "uid-pool" });
    for (const object of shard) expect(object.metadata.annotations?.["landlord.dev/owner-uid"], object.kind).toBe("uid-pool");
  });

  it("refuse an object recorded for another owner, even under the same tenant label", () => {
    const namespace = objects[0] as KubeObject;
    const victim: KubeObject = { ...namespace, metadata: { ...namespace.metadata, annotations: { "landlord.dev/owner-uid": "uid-victim" } } };
    expect(foreignOwner(victim, ownerOfDesired(namespace))).toMatch(/belongs to another owner \(landlord\.dev\/owner-uid uid-victim, not uid-acme\)/);
    expect(foreignOwner(namespace, ownerOfDesired(namespace))).toBeUndefined();
  });

  it("decide by the identity label for objects written before UIDs, and refuse what Landlord did not create", () => {
    const namespace = objects[0] as KubeObject;
    const legacy: KubeObject = { ...namespace, metadata: { name: namespace.metadata.name, labels: { ...namespace.metadata.labels } } };
    expect(foreignOwner(legacy, ownerOfDesired(namespace))).toBeUndefined();
    const otherTenant: KubeObject = { ...legacy, metadata: { ...legacy.metadata, labels: { ...legacy.metadata.labels, "landlord.dev/tenant": "victim" } } };
    expect(foreignOwner(otherTenant, ownerOfDesired(namespace))).toMatch(/landlord\.dev\/tenant=victim, not acme/);
    const handMade: KubeObject = { kind: "Namespace", apiVersion: "v1", metadata: { name: "tenant-acme" } };
    expect(foreignOwner(handMade, ownerOfDesired(namespace))).toMatch(/was not created by Landlord/);
  });
});

describe("Pod Security labels", () => {
  it("enforce restricted by default and baseline when chosen, on tenant namespaces and shards", () => {
    const ns = namespaceTierObjects({ tenant, quota: {} })[0] as KubeObject;
    expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const shard = shardObjects({ pool: "p", index: 1, namespace: "p-1", quota: {}, members: [], podSecurity: "baseline" })[0] as KubeObject;
    expect(shard.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("baseline");
    expect(ns.metadata.labels?.["tags.landlord.dev/team"]).toBe("growth");
    expect(ns.metadata.labels).not.toHaveProperty("team");
  });
});

describe("migration Jobs", () => {
  const template = { spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "migrate:1" }] } } } };

  it("are named from the move's UID, which tenant admins cannot read, so they cannot pre-create one", () => {
    expect(migrationJobName("uid-1", 1)).toMatch(/^landlord-migrate-[0-9a-f]{20}$/);
    expect(migrationJobName("uid-1", 1)).not.toBe(migrationJobName("uid-1", 2));
    expect(migrationJobName("uid-1", 1)).not.toContain("acme");
  });

  it("run as the policy's ServiceAccount, or default without a token; never the template's", () => {
    const input = { tenantId: "acme", owner: "uid-acme", costCenter: "cc", decision: "acme-0001", decisionUid: "d", attempt: 1, from: "pooled", to: "database", template } as const;
    const pod = (job: KubeObject) => (job.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(pod(migrationJob(input))).toMatchObject({ serviceAccountName: "default", automountServiceAccountToken: false });
    expect(pod(migrationJob({ ...input, serviceAccountName: "migrator" }))).toMatchObject({ serviceAccountName: "migrator" });
    expect(migrationJob(input).metadata.annotations?.["landlord.dev/owner-uid"]).toBe("uid-acme");
  });

  it("fill in what Pod Security restricted requires and the template leaves unsaid, keeping what it says", () => {
    const input = { tenantId: "acme", owner: "u", costCenter: "cc", decision: "d", decisionUid: "d", attempt: 1, from: "pooled", to: "database" } as const;
    const pod = (job: KubeObject) => (job.spec as { template: { spec: { securityContext: unknown; containers: Array<{ securityContext: unknown }> } } }).template.spec;
    const plain = pod(migrationJob({ ...input, template }));
    expect(plain.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(plain.containers[0]?.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    const own = { spec: { template: { spec: { securityContext: { runAsUser: 1000 }, containers: [{ name: "m", securityContext: { readOnlyRootFilesystem: true } }] } } } };
    const kept = pod(migrationJob({ ...input, template: own }));
    expect(kept.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
    expect(kept.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it("refuse templates that would escalate", () => {
    expect(jobTemplateProblems(template)).toEqual([]);
    const bad = {
      spec: {
        template: {
          spec: {
            serviceAccountName: "tenant-admin-sa",
            hostNetwork: true,
            volumes: [{ name: "root", hostPath: { path: "/" } }, { name: "s", secret: { secretName: "db" } }],
            containers: [{ name: "m", securityContext: { privileged: true, capabilities: { add: ["SYS_ADMIN"] } }, env: [{ name: "P", valueFrom: { secretKeyRef: { name: "db", key: "p" } } }] }],
          },
        },
      },
    };
    expect(jobTemplateProblems(bad)).toEqual([
      "sets serviceAccountName (the policy's migration.serviceAccountName names it)",
      "sets hostNetwork",
      "mounts a hostPath volume (root)",
      "mounts a Secret volume (s): the Job reads its credentials by ARN",
      "container m is privileged",
      "container m adds capabilities",
      "container m reads a Kubernetes Secret",
    ]);
  });
});

describe("registry seats (issue 15, item 4)", () => {
  const store = new ObjectStore();
  const ctx = { store } as unknown as ControllerContext;
  store.upsert("TenantPool", { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: "standard", uid: "uid-pool" }, spec: { namespacePrefix: "pool-standard" } });
  const [namespace, , , , , registry] = shardObjects({ pool: "standard", index: 1, namespace: "pool-standard-1", quota: {}, members: [{ tenantId: "acme", costCenter: "cc", quota: {}, tier: "pooled" }], owner: "uid-pool" }) as KubeObject[];
  store.upsert("Namespace", namespace as KubeObject);
  store.upsert("ConfigMap", registry as KubeObject);
  const forgedIn = (ns: string, uid = "uid-pool"): KubeObject => ({ ...(registry as KubeObject), metadata: { ...(registry as KubeObject).metadata, namespace: ns, annotations: { "landlord.dev/owner-uid": uid } } });

  it("are read from the pool's own shard registry", () => {
    expect(trustedRegistry(ctx, "standard", registry as KubeObject)).toBe(true);
    expect(findSeat(ctx, "standard", "acme")?.namespace).toBe("pool-standard-1");
  });

  it("are never read from a look-alike ConfigMap elsewhere, even one claiming the pool's UID", () => {
    store.upsert("Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "tenant-mallory", labels: { "landlord.dev/tenant": "mallory", "landlord.dev/managed-by": "landlord" } } });
    expect(trustedRegistry(ctx, "standard", forgedIn("tenant-mallory"))).toBe(false);
    // A namespace named like a shard but created for another owner.
    store.upsert("Namespace", { ...(namespace as KubeObject), metadata: { ...(namespace as KubeObject).metadata, name: "pool-standard-2", annotations: { "landlord.dev/owner-uid": "uid-other" } } });
    expect(trustedRegistry(ctx, "standard", forgedIn("pool-standard-2"))).toBe(false);
    expect(trustedRegistry(ctx, "nonexistent", registry as KubeObject)).toBe(false);
  });
});
