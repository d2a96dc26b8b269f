import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectl, KubectlError } from "../../operator/src/local/kubectl.ts";
import { cluster, eventually, k, kAsOperator, kAsOperatorFails, kJson } from "./cluster.ts";
import { costsIdentity, type CostsIdentity } from "./costsIdentity.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";

/**
 * What the chart's ServiceAccount must NOT be able to do, asked of the real API server in two ways:
 * `kubectl auth can-i --as=<the ServiceAccount>` (impersonated by the admin) and `kubectl auth can-i`
 * with the ServiceAccount's own token (which also carries its groups, system:serviceaccounts and
 * system:authenticated). Then what RBAC cannot express, enforced by the chart's
 * ValidatingAdmissionPolicy and tried for real with the token: touching namespaces Landlord does not
 * manage. Last, the grants whose absence the operator would only log (events, the token Secret).
 */

const run = `rb${Date.now().toString(36)}`;

async function canI(args: string[], how: "impersonated" | "token"): Promise<boolean> {
  const ask = how === "token" ? kAsOperator : k;
  const extra = how === "token" ? [] : [`--as=${cluster().operator.user}`];
  try {
    return (await ask(["auth", "can-i", ...args, ...extra])).trim() === "yes";
  } catch (error) {
    // can-i exits 1 for "no".
    if (error instanceof KubectlError && error.stdout.trim() === "no") return false;
    throw error;
  }
}

const labelsManaged = { "landlord.dev/managed-by": "landlord" };
/** A spec.tier other than the default needs its reason (the chart's admission policy). */
const reason = (text: string): Record<string, string> => ({ "landlord.dev/tier-reason": text });

describe("the chart's ServiceAccount", () => {
  const foreign = `${run}-foreign`;
  const tenantNs = `${run}-tenantns`;

  beforeAll(async () => {
    // A namespace someone else owns, and one Landlord manages (with a Secret a tenant keeps there).
    await k(["create", "namespace", foreign]);
    // landlord.dev/ labels are the operator's to write (the reserved-labels admission policy), and
    // the namespace guard lets it create only namespaces under Pod Security, as the operator does.
    await kAsOperator(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: tenantNs, labels: { ...labelsManaged, "pod-security.kubernetes.io/enforce": "restricted" } } }));
    await k(["create", "secret", "generic", "db-password", "-n", tenantNs, "--from-literal=password=hunter2"]);
  });

  afterAll(async () => {
    await k(["delete", "namespace", foreign, tenantNs, "--ignore-not-found", "--wait=false"]);
  });

  describe("is denied by RBAC", () => {
    const { namespace } = cluster().operator;
    const denied: Array<[string, string[]]> = [
      ["reading Secrets in a tenant namespace", ["get", "secrets", "-n", tenantNs]],
      ["reading one tenant Secret by name", ["get", `secrets/db-password`, "-n", tenantNs]],
      ["listing Secrets cluster-wide", ["list", "secrets", "--all-namespaces"]],
      ["watching Secrets cluster-wide", ["watch", "secrets", "--all-namespaces"]],
      ["reading Secrets in kube-system", ["get", "secrets", "-n", "kube-system"]],
      ["listing Secrets in its own namespace", ["list", "secrets", "-n", namespace]],
      ["reading another Secret in its own namespace", ["get", "secrets/other", "-n", namespace]],
      ["creating a ClusterRole", ["create", "clusterroles"]],
      ["creating a ClusterRoleBinding", ["create", "clusterrolebindings"]],
      ["creating a Role", ["create", "roles", "-n", tenantNs]],
      ["escalating a ClusterRole", ["escalate", "clusterroles"]],
      ["binding cluster-admin", ["bind", "clusterroles/cluster-admin"]],
      ["binding edit", ["bind", "clusterroles/edit"]],
      ["binding its own ClusterRole", ["bind", `clusterroles/${cluster().operator.release}`]],
      ["impersonating users", ["impersonate", "users"]],
      ["impersonating service accounts", ["impersonate", "serviceaccounts"]],
      ["minting ServiceAccount tokens", ["create", "serviceaccounts/token", "-n", tenantNs]],
      ["creating pods", ["create", "pods", "-n", tenantNs]],
      ["exec into pods", ["create", "pods/exec", "-n", tenantNs]],
      ["creating Deployments", ["create", "deployments.apps", "-n", tenantNs]],
      ["rewriting a PlacementDecision (the audit trail)", ["patch", "placementdecisions.landlord.dev"]],
      ["updating a PlacementDecision", ["update", "placementdecisions.landlord.dev"]],
      ["deleting a PlacementDecision", ["delete", "placementdecisions.landlord.dev"]],
      ["deleting a TenantPlacement", ["delete", "tenantplacements.landlord.dev"]],
      ["changing a PlacementPolicy", ["patch", "placementpolicies.landlord.dev"]],
      ["deleting CRDs", ["delete", "customresourcedefinitions.apiextensions.k8s.io"]],
      ["deleting its own admission policy", ["delete", "validatingadmissionpolicies.admissionregistration.k8s.io"]],
      ["deleting its admission policy binding", ["delete", "validatingadmissionpolicybindings.admissionregistration.k8s.io"]],
      ["creating webhooks", ["create", "mutatingwebhookconfigurations.admissionregistration.k8s.io"]],
      ["taking another component's Lease", ["update", "leases.coordination.k8s.io/kube-controller-manager", "-n", "kube-system"]],
      ["creating Leases outside its namespace", ["create", "leases.coordination.k8s.io", "-n", tenantNs]],
      // The chart creates its Lease: a replica shutting down after helm uninstall cannot recreate it.
      ["creating Leases in its own namespace", ["create", "leases.coordination.k8s.io", "-n", namespace]],
      ["updating a Lease of another name in its namespace", ["update", "leases.coordination.k8s.io/other", "-n", namespace]],
      ["recording events outside `default`", ["create", "events", "-n", tenantNs]],
      ["touching nodes", ["patch", "nodes"]],
      ["anything on anything", ["*", "*"]],
    ];
    for (const how of ["impersonated", "token"] as const) {
      it.each(denied)(`${how}: %s`, async (_what, args) => {
        expect(await canI(args, how)).toBe(false);
      });
    }

    it("and allowed what it needs (a control for the checks above)", async () => {
      for (const args of [
        ["bind", "clusterroles/admin"],
        ["get", `secrets/${cluster().operator.tokenSecret}`, "-n", cluster().operator.namespace],
        ["update", "leases.coordination.k8s.io/landlord-leader", "-n", cluster().operator.namespace],
        ["delete", "namespaces"],
        ["create", "events", "-n", "default"],
        // A policy's status (tenants following it, its problems), never its spec (denied above).
        ["patch", "placementpolicies.landlord.dev", "--subresource=status"],
      ]) {
        expect(await canI(args, "token"), args.join(" ")).toBe(true);
        expect(await canI(args, "impersonated"), args.join(" ")).toBe(true);
      }
    });

    it("reading a tenant's Secret with its token is Forbidden", async () => {
      expect(await kAsOperatorFails(["get", "secret", "db-password", "-n", tenantNs])).toMatch(/forbidden/i);
      expect(await kAsOperatorFails(["get", "secrets", "--all-namespaces"])).toMatch(/forbidden/i);
    });
  });

  describe("is confined to namespaces Landlord manages by the admission policy", () => {
    const guard = /is not managed by Landlord \(it lacks the label landlord\.dev\/managed-by=landlord\)/;

    it("cannot delete a namespace Landlord does not manage", async () => {
      const stderr = await kAsOperatorFails(["delete", "namespace", foreign, "--wait=false"]);
      expect(stderr).toMatch(guard);
      expect(stderr).toMatch(/may not delete it/);
      expect(stderr).toMatch(/landlord-namespace-guard/);
      await k(["get", "namespace", foreign]);
    });

    it("cannot relabel it, nor adopt it by adding Landlord's label", async () => {
      expect(await kAsOperatorFails(["label", "namespace", foreign, "team=stolen"])).toMatch(/may not change or relabel it/);
      expect(await kAsOperatorFails(["label", "namespace", foreign, "landlord.dev/managed-by=landlord"])).toMatch(guard);
      // The way the operator itself writes: a server-side apply.
      const adopt = { apiVersion: "v1", kind: "Namespace", metadata: { name: foreign, labels: labelsManaged } };
      expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "--force-conflicts", "-f", "-"], JSON.stringify(adopt))).toMatch(guard);
      const labels = (await kJson<{ metadata: { labels?: Record<string, string> } }>(["get", "namespace", foreign])).metadata.labels ?? {};
      expect(labels).not.toHaveProperty("team");
      expect(labels).not.toHaveProperty("landlord.dev/managed-by");
    });

    it("cannot create a namespace without Landlord's label", async () => {
      expect(await kAsOperatorFails(["create", "namespace", `${run}-unlabelled`])).toMatch(/may only create namespaces labelled landlord\.dev\/managed-by=landlord/);
    });

    it("cannot write quotas, ConfigMaps, role bindings or Jobs into a namespace it does not manage", async () => {
      for (const namespace of [foreign, "kube-system"]) {
        const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "landlord-tenants", namespace }, data: { x: "y" } };
        expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(cm))).toMatch(/may not write configmaps there/);
      }
      const quota = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "landlord-quota", namespace: foreign }, spec: { hard: { pods: "0" } } };
      expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(quota))).toMatch(/may not write resourcequotas there/);
      const job = {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "migrate", namespace: "kube-system" },
        spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "busybox" }] } } },
      };
      expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(job))).toMatch(/may not write jobs there/);
      const binding = adminBinding(foreign, [{ kind: "Group", name: "someone" }]);
      expect(await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(binding))).toMatch(/may not write rolebindings there/);
    });

    it("cannot make itself a tenant's admin (which would open the tenant's Secrets to it)", async () => {
      const { serviceAccount, namespace } = cluster().operator;
      const subjects: Record<string, string>[] = [
        { kind: "ServiceAccount", name: serviceAccount, namespace },
        { kind: "Group", name: `system:serviceaccounts:${namespace}` },
        { kind: "Group", name: "system:authenticated" },
      ];
      for (const subject of subjects) {
        const stderr = await kAsOperatorFails(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(adminBinding(tenantNs, [subject])));
        expect(stderr, JSON.stringify(subject)).toMatch(/may not include the Landlord operator itself/);
      }
    });

    it("can still create, label and delete a namespace it manages, and bind admin to a tenant's admins there", async () => {
      const own = `${run}-own`;
      // With Pod Security, as every namespace Landlord creates (the guard refuses one without).
      const labels = { ...labelsManaged, "pod-security.kubernetes.io/enforce": "restricted" };
      await kAsOperator(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: own, labels } }));
      await kAsOperator(["apply", "--server-side", "--field-manager=landlord", "-f", "-"], JSON.stringify(adminBinding(own, [{ kind: "Group", name: `${run}-admins` }])));
      await kAsOperator(["label", "namespace", own, "landlord.dev/tier=namespace"]);
      // ...but not strip Landlord's label (it would lose track of the namespace).
      expect(await kAsOperatorFails(["label", "namespace", own, "landlord.dev/managed-by-"])).toMatch(/may not remove the label landlord\.dev\/managed-by=landlord/);
      await kAsOperator(["delete", "namespace", own, "--wait=false"]);
      const phase = (await kJson<{ status: { phase: string } }>(["get", "namespace", own]).catch(() => ({ status: { phase: "Gone" } }))).status.phase;
      expect(["Terminating", "Gone"]).toContain(phase);
    });

    it("leaves everyone else alone: the admin may still relabel and delete any namespace", async () => {
      const other = `${run}-other`;
      await k(["create", "namespace", other]);
      await k(["label", "namespace", other, "team=x"]);
      await k(["delete", "namespace", other, "--wait=false"]);
    });
  });

  describe("running as the operator", () => {
    let operator: OperatorProcess;
    let prometheus: Server;
    const seen: string[] = [];
    const pool = `${run}-pool`;
    const policy = `${run}-prom`;
    const tenant = `${run}-t`;
    const token = `token-${run}`;

    beforeAll(async () => {
      // A stand-in for Prometheus that records the bearer token of each query and answers 1.
      prometheus = createServer((req, res) => {
        seen.push(req.headers.authorization ?? "");
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [Date.now() / 1000, "1"] }] } }));
      });
      await new Promise<void>((resolveListen) => prometheus.listen(0, "127.0.0.1", resolveListen));
      const { namespace, tokenSecret } = cluster().operator;
      await k(["create", "secret", "generic", tokenSecret, "-n", namespace, `--from-literal=token=${token}`]);
      const objects = [
        { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: pool }, spec: { namespacePrefix: pool, capacity: { maxTenants: 10, cpu: "10", memory: "20Gi" } } },
        {
          apiVersion: "landlord.dev/v1alpha1",
          kind: "PlacementPolicy",
          metadata: { name: policy },
          spec: {
            signals: [{ name: "requestsPerDay", source: { prometheus: { query: 'sum(requests{tenant="{{tenantId}}"})' } } }],
            tiers: [{ tier: "namespace", promoteWhen: { any: [{ signal: "requestsPerDay", gte: 1e9 }] } }],
            evaluationInterval: "1s",
          },
        },
        { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: tenant }, spec: { tenantId: tenant, costCenter: "cc-rbac", pool, policyRef: policy } },
        {
          apiVersion: "landlord.dev/v1alpha1",
          kind: "PlacementPolicy",
          metadata: { name: `${run}-db` },
          spec: {
            signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
            tiers: [{ tier: "database", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 1e9 }] }, database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 20 } }],
          },
        },
      ];
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
      const url = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
      operator = await startOperatorProcess(["--provisioner", "plan", "--prometheus-url", url, "--prometheus-token-secret", tokenSecret]);
      await operator.waitReady();
    });

    afterAll(async () => {
      try {
        // While the operator still runs: its finalizer releases the tenants' seats and namespaces, so
        // the next file's operator finds nothing left to do (operator.test.ts counts idle writes).
        await k(["delete", "tp", tenant, `${run}-selfish`, "--ignore-not-found", "--timeout=120s"]);
      } finally {
        await operator?.stop();
        await new Promise((resolveClose) => prometheus?.close(resolveClose));
        await k(["delete", "secret", cluster().operator.tokenSecret, "-n", cluster().operator.namespace, "--ignore-not-found"]);
      }
    });

    it("reads the Prometheus token from the one Secret it may read", async () => {
      await eventually(async () => (seen.includes(`Bearer ${token}`) ? true : undefined), { what: "a query with the token from the Secret", timeoutMs: 30_000 });
      expect(operator.logs()).not.toMatch(/forbidden/i);
    });

    it("records events about the tenant in `default` (an event it may not write is only logged)", async () => {
      await eventually(async () => {
        const events = await kJson<{ items: { reason: string; involvedObject: { name: string } }[] }>(["get", "events", "-n", "default", "--field-selector", `involvedObject.name=${tenant}`]);
        return events.items.length > 0 ? true : undefined;
      }, { what: `an event about ${tenant}`, timeoutMs: 30_000 });
      expect(operator.logs()).not.toMatch(/Could not record an event/);
    });

    it("binds a tenant's admins to `admin` in its namespace, and removes the binding when they are dropped", async () => {
      const admins = `${run}-adm`;
      const namespace = `tenant-${admins}`;
      const spec = { tenantId: admins, costCenter: "cc-rbac", pool, tier: { mode: "Pinned", pinned: "namespace" }, admins: [{ kind: "Group", name: `${admins}-team` }] };
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: admins, annotations: reason("admins test") }, spec }));
      const bindingName = async (): Promise<string> => (await k(["get", "rolebindings", "-n", namespace, "-o", "name", "--ignore-not-found"])).trim();
      await eventually(async () => ((await bindingName()) === "rolebinding.rbac.authorization.k8s.io/landlord-tenant-admins" ? true : undefined), { what: "the admin binding", timeoutMs: 30_000 });
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: admins, annotations: reason("admins test") }, spec: { ...spec, admins: undefined } }));
      await eventually(async () => ((await bindingName()) === "" ? true : undefined), { what: "the admin binding to be removed", timeoutMs: 30_000 });
      await k(["delete", "tp", admins, "--timeout=60s"]);
    });

    it("writes a dedicated database's connection ConfigMap and deletes it when the tenant goes back to its namespace", async () => {
      const db = `${run}-db`;
      const namespace = `tenant-${db}`;
      const placement = (pinned: string): string =>
        JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: db, annotations: reason(`pinned to ${pinned}`) }, spec: { tenantId: db, costCenter: "cc-rbac", pool, policyRef: db, tier: { mode: "Pinned", pinned } } });
      const connection = async (): Promise<string> => (await k(["get", "configmap", "landlord-connection", "-n", namespace, "-o", "name", "--ignore-not-found"])).trim();
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], placement("database"));
      await eventually(async () => ((await connection()) !== "" ? true : undefined), { what: "the connection ConfigMap (plan provisioner)", timeoutMs: 60_000 });
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], placement("namespace"));
      await eventually(async () => ((await connection()) === "" ? true : undefined), { what: "the connection ConfigMap to be deleted", timeoutMs: 60_000 });
      await k(["delete", "tp", db, "--timeout=60s"]);
    });

    it("refuses to bind a tenant's admin role to itself, and says why", async () => {
      const selfish = `${run}-selfish`;
      const { serviceAccount, namespace } = cluster().operator;
      const spec = { tenantId: selfish, costCenter: "cc-rbac", pool, tier: { mode: "Pinned", pinned: "namespace" }, admins: [{ kind: "ServiceAccount", name: serviceAccount, namespace }] };
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: selfish, annotations: reason("selfish test") }, spec }));
      await eventually(async () => (/may not include the Landlord operator itself/.test(operator.logs()) ? true : undefined), { what: "the operator to be refused the binding", timeoutMs: 30_000 });
      expect(await k(["get", "rolebindings", "-n", `tenant-${selfish}`, "-o", "name"])).toBe("");
    });
  });
});

describe("the scheduled cost run's ServiceAccount (costs.enabled), with the CronJob's own token", () => {
  let identity: CostsIdentity;
  beforeAll(async () => {
    identity = await costsIdentity();
  });
  const asCosts = async (args: string[]): Promise<boolean> => {
    try {
      return (await kubectl({ kubectl: cluster().kubectl, kubeconfig: identity.kubeconfig }, ["auth", "can-i", ...args])).trim() === "yes";
    } catch (error) {
      if (error instanceof KubectlError && error.stdout.trim() === "no") return false;
      throw error;
    }
  };

  it("is the ServiceAccount the CronJob runs as, and the token authenticates as it", async () => {
    expect(identity.cronJob.spec.jobTemplate.spec.template.spec.serviceAccountName).toBe(identity.serviceAccount);
    expect(identity.cronJob.spec.jobTemplate.spec.template.spec.containers[0]?.args.slice(0, 2)).toEqual(["costs", "--record"]);
    const whoami = await kubectl({ kubectl: cluster().kubectl, kubeconfig: identity.kubeconfig }, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    expect(whoami.trim()).toBe(identity.user);
  });

  it.each([
    ["list tenants", ["list", "tenantplacements.landlord.dev"]],
    ["read a tenant", ["get", "tenantplacements.landlord.dev"]],
    ["list the pools (how their cost is split)", ["list", "tenantpools.landlord.dev"]],
    ["apply the cost signals", ["patch", "tenantplacements.landlord.dev"]],
    ["look for a report of the same run", ["get", "costreports.landlord.dev"]],
    ["create the CostReport", ["create", "costreports.landlord.dev"]],
    ["ask who it is", ["create", "selfsubjectreviews.authentication.k8s.io"]],
  ])("may %s", async (_what, args) => {
    expect(await asCosts(args)).toBe(true);
  });

  it.each([
    ["change a CostReport", ["patch", "costreports.landlord.dev"]],
    ["update a CostReport", ["update", "costreports.landlord.dev"]],
    ["delete a CostReport", ["delete", "costreports.landlord.dev"]],
    ["list CostReports", ["list", "costreports.landlord.dev"]],
    ["create a tenant", ["create", "tenantplacements.landlord.dev"]],
    ["delete a tenant", ["delete", "tenantplacements.landlord.dev"]],
    ["update a tenant (replace it whole)", ["update", "tenantplacements.landlord.dev"]],
    ["write a tenant's status", ["patch", "tenantplacements.landlord.dev", "--subresource=status"]],
    ["watch tenants", ["watch", "tenantplacements.landlord.dev"]],
    ["write a PlacementDecision", ["create", "placementdecisions.landlord.dev"]],
    ["change a PlacementPolicy", ["patch", "placementpolicies.landlord.dev"]],
    ["read Secrets in its namespace", ["get", "secrets", "-n", cluster().operator.namespace]],
    ["list Secrets anywhere", ["list", "secrets", "--all-namespaces"]],
    ["create pods", ["create", "pods", "-n", cluster().operator.namespace]],
    ["touch namespaces", ["create", "namespaces"]],
    ["anything on anything", ["*", "*"]],
  ])("may not %s", async (_what, args) => {
    expect(await asCosts(args)).toBe(false);
  });

  it("is refused a CostReport edit for real, not only by can-i", async () => {
    const error = await kubectl({ kubectl: cluster().kubectl, kubeconfig: identity.kubeconfig }, ["delete", "costreport", "any-report"]).then(
      () => "",
      (e: unknown) => (e instanceof KubectlError ? e.stderr : String(e)),
    );
    expect(error).toMatch(/forbidden/i);
  });
});

function adminBinding(namespace: string, subjects: Record<string, string>[]): Record<string, unknown> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "landlord-tenant-admins", namespace, labels: labelsManaged },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
    subjects: subjects.map((s) => (s.kind === "ServiceAccount" ? s : { ...s, apiGroup: "rbac.authorization.k8s.io" })),
  };
}
