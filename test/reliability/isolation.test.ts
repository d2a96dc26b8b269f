import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../operator/src/kube/client.ts";
import { KubectlError } from "../../operator/src/local/kubectl.ts";
import { cluster, k, kAsOperator } from "../integration/cluster.ts";
import { connect, tierReason, until, type TenantJson } from "./support/api.ts";
import { launchOperator, type OperatorProcess } from "./support/operatorProcess.ts";

/**
 * Issue #10, fault 5: isolation. Two tenants with admins of their own: each admin may act in its
 * tenant's namespace and nowhere else (a `kubectl auth can-i` matrix, by impersonation), the
 * default-deny NetworkPolicies are in place (and put back when a tenant admin deletes one), and no
 * secret — a Secret's value, a password, a token — appears in anything Landlord writes: its log
 * lines, Events, statuses, decisions and ConfigMaps, scanned in full. The operator is made to handle
 * real secrets meanwhile: its ServiceAccount token, and a Prometheus bearer token it reads from a
 * Secret and sends to a Prometheus stand-in.
 */

interface Matrix {
  verb: string;
  resource: string;
  /** Namespace of the check; undefined for cluster scope. */
  namespace?: string;
  allowed: boolean;
}

/** A JSON Web Token (ServiceAccount tokens are JWTs). */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
const PASSWORD = /passw(or)?d|passwd|secret_?value/i;

describe("tenant isolation", () => {
  const api = connect(cluster().kubeconfig);
  const run = `i${Date.now().toString(36)}`;
  const alice = { user: `alice-${run}`, tenant: `${run}-alice` };
  const bob = { user: `bob-${run}`, group: `bob-admins-${run}`, tenant: `${run}-bob` };
  const pool = `${run}-pool`;
  const policy = `${run}-policy`;
  const promToken = `prom-${randomBytes(12).toString("hex")}`;
  const tenantPassword = `hunter2-${randomBytes(8).toString("hex")}`;
  const seenAuthorization: string[] = [];
  let prometheus: Server;
  let operator: OperatorProcess;

  const canI = async (as: string[], check: Matrix): Promise<boolean> => {
    try {
      const out = await k(["auth", "can-i", check.verb, check.resource, ...(check.namespace ? ["-n", check.namespace] : []), ...as]);
      return out.trim() === "yes";
    } catch (error) {
      if (error instanceof KubectlError && error.stdout.trim() === "no") return false;
      throw error;
    }
  };

  beforeAll(async () => {
    const { dir, operator: identity } = cluster();
    prometheus = createServer((req, res) => {
      seenAuthorization.push(req.headers.authorization ?? "");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [Date.now() / 1000, "1200"] }] } }));
    });
    await new Promise<void>((resolveListen) => prometheus.listen(0, "127.0.0.1", resolveListen));
    const port = (prometheus.address() as AddressInfo).port;
    await api.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: identity.tokenSecret, namespace: identity.namespace }, type: "Opaque", stringData: { token: promToken } });
    await api.apply({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: pool }, spec: { namespacePrefix: `${run}-s`, capacity: { maxTenants: 10, cpu: "10", memory: "20Gi" } } });
    await api.apply({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "PlacementPolicy",
      metadata: { name: policy },
      spec: {
        signals: [{ name: "requestsPerDay", source: { prometheus: { query: 'sum(increase(http_requests_total{tenant="{{tenantId}}"}[1d]))' } } }],
        tiers: [
          { tier: "namespace", promoteWhen: { any: [{ signal: "requestsPerDay", gte: 1e12 }] } },
          { tier: "database", database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 20 } },
        ],
        evaluationInterval: "2s",
      },
    });
    const tenant = (name: string, tier: string, admins: unknown[], extra: Record<string, unknown> = {}) => ({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPlacement",
      metadata: { name, annotations: tierReason(`isolation: ${name} pinned to ${tier}`) },
      spec: { tenantId: name, costCenter: "cc-iso", pool, policyRef: policy, admins, tier: { mode: "Pinned", pinned: tier }, ...extra },
    });
    await api.apply(tenant(alice.tenant, "namespace", [{ kind: "User", name: alice.user }]));
    await api.apply(tenant(bob.tenant, "database", [{ kind: "Group", name: bob.group }]));
    await api.apply(tenant(`${run}-carol`, "pooled", []));
    operator = await launchOperator({ kubeconfig: identity.kubeconfig, namespace: identity.namespace, logDir: dir }, [
      "--provisioner", "plan", "--log-level", "debug",
      "--prometheus-url", `http://127.0.0.1:${port}`, "--prometheus-token-secret", identity.tokenSecret,
    ]);
    await operator.waitReady();
    await until(async () => {
      const tenants = (await api.list<TenantJson>("TenantPlacement")).filter((t) => t.metadata.name.startsWith(run));
      return tenants.length === 3 && tenants.every((t) => t.status?.phase === "Active" && t.status.tier === t.spec.tier?.pinned) ? true : undefined;
    }, { timeoutMs: 90_000, what: "the three tenants served" });
    await until(async () => (seenAuthorization.length > 0 ? true : undefined), { timeoutMs: 30_000, what: "a Prometheus query" });
  }, 180_000);

  afterAll(async () => {
    for (const name of [alice.tenant, bob.tenant, `${run}-carol`]) await api.resources.delete("TenantPlacement", name);
    await until(async () => ((await api.list("TenantPlacement")).some((t) => t.metadata.name.startsWith(run)) ? undefined : true), { timeoutMs: 90_000, what: "the tenants to be gone" }).catch(() => undefined);
    await api.resources.delete("TenantPool", pool);
    await api.resources.delete("PlacementPolicy", policy);
    await api.resources.delete("Secret", cluster().operator.tokenSecret, cluster().operator.namespace);
    await operator?.stop();
    await new Promise((resolveClose) => prometheus?.close(resolveClose));
  }, 120_000);

  it("lets each tenant admin act in its own namespace and nowhere else", async () => {
    const own = { alice: `tenant-${alice.tenant}`, bob: `tenant-${bob.tenant}` };
    const asAlice = ["--as", alice.user];
    const asBob = ["--as", `${bob.user}`, "--as-group", bob.group];
    const inNamespace = (namespace: string, allowed: boolean): Matrix[] => [
      { verb: "create", resource: "deployments.apps", namespace, allowed },
      { verb: "get", resource: "secrets", namespace, allowed },
      { verb: "create", resource: "secrets", namespace, allowed },
      { verb: "delete", resource: "pods", namespace, allowed },
      { verb: "create", resource: "rolebindings.rbac.authorization.k8s.io", namespace, allowed },
      { verb: "get", resource: "configmaps", namespace, allowed },
    ];
    // Never, anywhere: Landlord's own guard rails and anything cluster-wide.
    const never = (namespace: string): Matrix[] => [
      { verb: "update", resource: "resourcequotas", namespace, allowed: false },
      { verb: "delete", resource: "resourcequotas", namespace, allowed: false },
      { verb: "update", resource: `namespaces/${namespace}`, allowed: false },
      { verb: "delete", resource: `namespaces/${namespace}`, allowed: false },
    ];
    const cluster: Matrix[] = [
      { verb: "list", resource: "namespaces", allowed: false },
      { verb: "create", resource: "namespaces", allowed: false },
      { verb: "get", resource: "tenantplacements.landlord.dev", allowed: false },
      { verb: "patch", resource: "tenantplacements.landlord.dev", allowed: false },
      { verb: "list", resource: "secrets", allowed: false },
      { verb: "get", resource: "secrets", namespace: cluster_().operator.namespace, allowed: false },
      { verb: "list", resource: "configmaps", namespace: "default", allowed: false },
    ];
    const shard = `${run}-s-1`;
    const matrix: Array<[string[], Matrix]> = [
      ...inNamespace(own.alice, true).map((m): [string[], Matrix] => [asAlice, m]),
      ...inNamespace(own.bob, false).map((m): [string[], Matrix] => [asAlice, m]),
      ...inNamespace(shard, false).map((m): [string[], Matrix] => [asAlice, m]),
      ...never(own.alice).map((m): [string[], Matrix] => [asAlice, m]),
      ...cluster.map((m): [string[], Matrix] => [asAlice, m]),
      ...inNamespace(own.bob, true).map((m): [string[], Matrix] => [asBob, m]),
      ...inNamespace(own.alice, false).map((m): [string[], Matrix] => [asBob, m]),
      ...inNamespace(shard, false).map((m): [string[], Matrix] => [asBob, m]),
      ...never(own.bob).map((m): [string[], Matrix] => [asBob, m]),
      ...cluster.map((m): [string[], Matrix] => [asBob, m]),
    ];
    const wrong: string[] = [];
    for (const [as, check] of matrix) {
      const answer = await canI(as, check);
      if (answer !== check.allowed) wrong.push(`${as[1]} ${check.verb} ${check.resource}${check.namespace ? ` -n ${check.namespace}` : ""}: ${answer ? "yes" : "no"}, want ${check.allowed ? "yes" : "no"}`);
    }
    expect(wrong).toEqual([]);
    expect(matrix.length).toBeGreaterThan(50);
  });

  it("keeps the default-deny NetworkPolicies in place, putting back one a tenant admin deleted", async () => {
    // The pool's label is on its shards only: a dedicated tenant's namespace is no pool member.
    const shards = (await api.list("Namespace", { labelSelector: `landlord.dev/pool=${pool}` })).map((n) => n.metadata.name);
    expect(shards).toEqual([`${run}-s-1`]);
    const namespaces = [`tenant-${alice.tenant}`, `tenant-${bob.tenant}`, ...shards];
    for (const namespace of namespaces) {
      const policy = await api.resources.get<KubeObject & { spec: Record<string, unknown> }>("NetworkPolicy", "landlord-default-deny", namespace);
      expect(policy?.spec, namespace).toEqual({
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { "landlord.dev/ingress": "true" } } }] }],
      });
      // Egress too (issue 15): own pods and the cluster DNS, nothing else (no --egress-allow here).
      const egress = await api.resources.get<KubeObject & { spec: Record<string, unknown> }>("NetworkPolicy", "landlord-egress", namespace);
      expect(egress?.spec, `${namespace} egress`).toEqual({
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          { to: [{ podSelector: {} }] },
          {
            to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
            ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
          },
        ],
      });
    }
    // Alice may delete NetworkPolicies in her namespace (the admin role allows it); Landlord's comes back.
    const before = await api.resources.get("NetworkPolicy", "landlord-default-deny", `tenant-${alice.tenant}`);
    await k(["delete", "networkpolicy", "landlord-default-deny", "-n", `tenant-${alice.tenant}`, "--as", alice.user]);
    const back = await until(async () => {
      const now = await api.resources.get("NetworkPolicy", "landlord-default-deny", `tenant-${alice.tenant}`);
      return now && now.metadata.uid !== before?.metadata.uid ? now : undefined;
    }, { timeoutMs: 30_000, what: "the default-deny policy to be put back" });
    expect(back.metadata.labels?.["landlord.dev/managed-by"]).toBe("landlord");
  });

  it("isolates the pooled tier as far as it can: Pod Security, owner UIDs, and no tenant admin in a shard (issue 15)", async () => {
    const shard = `${run}-s-1`;
    const namespace = await api.resources.get("Namespace", shard);
    const poolObject = await api.resources.get("TenantPool", pool);
    expect(namespace?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(namespace?.metadata.annotations?.["landlord.dev/owner-uid"]).toBe(poolObject?.metadata.uid);
    const registry = await api.resources.get<KubeObject & { data?: Record<string, string> }>("ConfigMap", "landlord-tenants", shard);
    expect(Object.keys(registry?.data ?? {})).toEqual([`${run}-carol`]);
    expect(registry?.metadata.annotations?.["landlord.dev/owner-uid"]).toBe(poolObject?.metadata.uid);
    // Neither tenant admin may read or rewrite the shard's registry, nor run a privileged pod anywhere.
    for (const as of [["--as", alice.user], ["--as", bob.user, "--as-group", bob.group]]) {
      for (const verb of ["get", "update", "delete"]) {
        expect(await canI(as, { verb, resource: "configmaps", namespace: shard, allowed: false }), `${as[1]} ${verb} configmaps -n ${shard}`).toBe(false);
      }
    }
    const privileged = { apiVersion: "v1", kind: "Pod", metadata: { name: "escape", namespace: `tenant-${alice.tenant}` }, spec: { hostPID: true, containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] } };
    await expect(k(["apply", "-f", "-", "--as", alice.user], JSON.stringify(privileged))).rejects.toThrow(/violates PodSecurity "restricted:latest"/);
    // A forged registry in alice's own namespace claims carol's seat. Admission stops alice at the
    // door (landlord.dev/ labels are the operator's alone)…
    const forged = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "landlord-tenants", namespace: `tenant-${alice.tenant}`, labels: { "landlord.dev/pool": pool, "landlord.dev/managed-by": "landlord", "landlord.dev/shard": "1" } },
      data: { [`${run}-carol`]: JSON.stringify({ tenantId: `${run}-carol`, costCenter: "cc-iso", quota: {}, tier: "pooled" }) },
    };
    await expect(k(["apply", "-f", "-", "--as", alice.user], JSON.stringify(forged))).rejects.toThrow(/labels under landlord\.dev\/ are reserved to the Landlord operator/);
    expect(await api.resources.get("ConfigMap", "landlord-tenants", `tenant-${alice.tenant}`)).toBeUndefined();
    // …and one that got in all the same (a cluster without the admission policies; here written
    // with the operator's own token, which the policy exempts) still moves nobody: the operator
    // reads a pool's registry only in that pool's own shards. carol stays where the pool put her.
    await kAsOperator(["create", "-f", "-"], JSON.stringify(forged));
    await new Promise((r) => setTimeout(r, 3_000));
    const carol = await api.resources.get<TenantJson>("TenantPlacement", `${run}-carol`);
    expect(carol?.status?.namespace).toBe(shard);
    await k(["delete", "configmap", "landlord-tenants", "-n", `tenant-${alice.tenant}`, "--as", alice.user]);
  });

  it("writes no secret, password or token into its logs, Events, statuses, decisions or ConfigMaps", async () => {
    // Secrets exist and were used: the Prometheus token went out as a bearer token; alice keeps a password.
    expect(seenAuthorization).toContain(`Bearer ${promToken}`);
    await k(["create", "secret", "generic", "db", "-n", `tenant-${alice.tenant}`, `--from-literal=password=${tenantPassword}`, "--as", alice.user]);
    // Bob's database connection, before he goes back to the shared database and it is removed.
    const connection = await api.resources.get("ConfigMap", "landlord-connection", `tenant-${bob.tenant}`);
    expect(connection?.data).toMatchObject({ tier: "database", port: "5432" });
    await k(["patch", "tp", bob.tenant, "--type=merge", "-p", JSON.stringify({ metadata: { annotations: tierReason("isolation: bob back to the shared database") }, spec: { tier: { mode: "Pinned", pinned: "namespace" } } })]);
    await until(async () => ((await api.resources.get<TenantJson>("TenantPlacement", bob.tenant))?.status?.tier === "namespace" ? true : undefined), { timeoutMs: 60_000, what: "bob back on the shared database" });

    // Every secret value in the cluster, and the operator's own token.
    const kubeconfig = parseYaml(readFileSync(cluster_().operator.kubeconfig, "utf8")) as { users: Array<{ user: { token?: string } }> };
    const secrets = new Set<string>([promToken, tenantPassword, kubeconfig.users[0]?.user.token ?? ""]);
    for (const secret of await api.list<KubeObject & { data?: Record<string, string> }>("Secret")) {
      for (const value of Object.values(secret.data ?? {})) {
        const text = Buffer.from(value, "base64").toString("utf8");
        if (text.length >= 8) secrets.add(text);
      }
    }
    secrets.delete("");

    // Everything Landlord wrote: its log, its Events, the status of every object it reconciles,
    // its decisions, every ConfigMap it manages.
    const written: Array<[string, string]> = [["operator log", operator.logs()], ["ConfigMap landlord-connection (before its removal)", JSON.stringify(connection?.data ?? {})]];
    for (const event of await api.list<KubeObject & { source?: { component?: string }; reportingComponent?: string }>("Event")) {
      if (event.source?.component === "landlord" || event.reportingComponent === "landlord.dev/operator") written.push([`Event ${event.metadata.namespace}/${event.metadata.name}`, JSON.stringify(event)]);
    }
    for (const kind of ["TenantPlacement", "TenantPool", "PlacementPolicy"] as const) {
      for (const object of await api.list(kind)) written.push([`${kind} ${object.metadata.name} status`, JSON.stringify(object.status ?? {})]);
    }
    for (const decision of await api.list("PlacementDecision")) written.push([`PlacementDecision ${decision.metadata.name}`, JSON.stringify(decision)]);
    for (const configMap of await api.list("ConfigMap", { labelSelector: "landlord.dev/managed-by=landlord" })) written.push([`ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name}`, JSON.stringify(configMap.data ?? {})]);
    expect(written.length).toBeGreaterThan(20);
    expect(written.some(([what]) => what.includes("landlord-connection"))).toBe(true);

    const leaks: string[] = [];
    for (const [what, text] of written) {
      for (const secret of secrets) if (text.includes(secret)) leaks.push(`${what} contains a secret value (${secret.slice(0, 4)}…)`);
      if (JWT.test(text)) leaks.push(`${what} contains a JSON Web Token`);
      const password = PASSWORD.exec(text);
      if (password) leaks.push(`${what} mentions "${password[0]}": …${text.slice(Math.max(0, password.index - 60), password.index + 60)}…`);
    }
    expect(leaks).toEqual([]);
    process.stderr.write(`isolation: scanned ${written.length} objects and ${operator.logs().split("\n").length} log lines for ${secrets.size} secret values\n`);
  });
});

/** The cluster info, under a name the matrix's own `cluster` list does not shadow. */
const cluster_ = cluster;
