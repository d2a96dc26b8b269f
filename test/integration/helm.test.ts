import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify as stringifyYaml } from "yaml";
import { ensureGoTool } from "../../operator/src/local/goTools.ts";
import { helmKubeVersion } from "../../operator/src/local/helmTool.ts";
import { projectRoot, toolsDir } from "../../operator/src/local/paths.ts";
import { PROMETHEUS_TOOL } from "../../operator/src/local/prometheusTool.ts";
import { requiredVersion } from "../../operator/src/local/versions.ts";
import { createMetrics } from "../../operator/src/metrics/metrics.ts";
import { cluster, k, kJson } from "./cluster.ts";

/**
 * The Helm chart, with a real helm (built from its Go module by the global setup): lint, render with
 * default and non-default values, refuse bad values with a message that says what is wrong, install
 * on the real API server, and its alerts checked and unit-tested with a real promtool.
 *
 * The operator's RBAC is exercised elsewhere: every operator process in the integration tests runs
 * as the ServiceAccount this chart installs (globalSetup.ts), and rbac.test.ts lists what it must not do.
 */

const chart = join(projectRoot, "charts", "landlord");
const work = mkdtempSync(join(tmpdir(), "landlord-helm-"));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function helm(args: string[]): Promise<Result> {
  return new Promise((resolveRun) => {
    execFile(
      cluster().helm,
      args,
      {
        maxBuffer: 16 * 1024 * 1024,
        timeout: 60_000,
        // Helm's caches and config (and client-go's discovery cache under HOME/.kube) inside the test's
        // directory, never the developer's; without HOME, client-go would write .kube/ into the cwd.
        env: { PATH: process.env.PATH ?? "", HOME: work, HELM_CACHE_HOME: join(work, "cache"), HELM_CONFIG_HOME: join(work, "config"), HELM_DATA_HOME: join(work, "data") },
      },
      (error, stdout, stderr) => resolveRun({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function helmOk(args: string[]): Promise<string> {
  const result = await helm(args);
  if (result.code !== 0) throw new Error(`helm ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

function valuesFile(name: string, values: Record<string, unknown>): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, stringifyYaml(values));
  return file;
}

// any: rendered manifests are arbitrary Kubernetes objects; the tests read fields by path and let
// expect() check their shape, which a type here could only restate.
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

async function render(args: string[] = []): Promise<Manifest[]> {
  const text = await helmOk(["template", "landlord", chart, "--namespace", "landlord-system", ...args]);
  return parseAllDocuments(text)
    .map((doc) => doc.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const one = (manifests: Manifest[], kind: string, name?: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, rendered ${found.length}`);
  return found[0] as Manifest;
};

/** Non-default values touching every knob a user is likely to set. */
const CUSTOM = {
  image: { repository: "registry.example.com/platform/landlord", digest: `sha256:${"a".repeat(64)}` },
  replicaCount: 3,
  leaderElection: { leaseName: "landlord-custom", leaseDuration: "30s", renewDeadline: "20s", retryPeriod: "4s" },
  operator: { provisioner: "pulumi", logLevel: "debug", concurrency: 16, resyncPeriod: "30m", cacheSyncTimeout: "5m", kubeApiQps: 2.5, kubeApiBurst: 5, extraArgs: ["--provision-timeout=90m"], extraEnv: [{ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" }] },
  pulumi: { backendUrl: "s3://acme-landlord-state/landlord", secretsProvider: "awskms://alias/landlord" },
  aws: { region: "eu-west-1", vpcId: "vpc-0abc12345", subnetIds: ["subnet-0abc12345", "subnet-0def67890"] },
  prometheus: { url: "http://prometheus-operated.monitoring:9090", timeout: "5s", tokenSecret: "prometheus-token" },
  serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/landlord" } },
  resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } },
  nodeSelector: { "kubernetes.io/os": "linux" },
  metrics: {
    serviceMonitor: { enabled: true, interval: "15s", labels: { release: "kube-prometheus-stack" } },
    prometheusRule: { enabled: true, labels: { release: "kube-prometheus-stack" }, stuckMoveFor: "2h" },
  },
  podDisruptionBudget: { maxUnavailable: 2 },
};

/** Exactly what the operator may do cluster-wide; a change here is a change of its privileges. */
const CLUSTER_RULES = [
  { apiGroups: ["landlord.dev"], resources: ["tenantplacements", "tenantpools"], verbs: ["list", "watch", "patch"] },
  { apiGroups: ["landlord.dev"], resources: ["placementdecisions"], verbs: ["list", "watch", "create"] },
  { apiGroups: ["landlord.dev"], resources: ["placementpolicies"], verbs: ["list", "watch"] },
  { apiGroups: ["landlord.dev"], resources: ["tenantplacements/status", "tenantpools/status", "placementpolicies/status", "placementdecisions/status"], verbs: ["patch"] },
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
  { apiGroups: [""], resources: ["resourcequotas", "limitranges"], verbs: ["list", "watch", "create", "patch"] },
  { apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch", "create", "patch", "delete"] },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list", "watch", "create", "patch"] },
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: ["list", "watch", "create", "patch", "delete"] },
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], resourceNames: ["admin"], verbs: ["bind"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["list", "watch", "create", "patch"] },
];

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the Helm chart", () => {
  it("is rendered by the pinned helm, which assumes the Kubernetes its client-go is from when offline", async () => {
    const pinned = requiredVersion(readFileSync(join(toolsDir, "helm", "go.mod"), "utf8"), "helm.sh/helm/v3");
    expect((await helmOk(["version", "--template", "{{ .Version }}"])).trim()).toBe(pinned);
    const { major, minor } = helmKubeVersion(readFileSync(join(toolsDir, "helm", "go.sum"), "utf8"));
    // Without the version ldflags helm claims v1.20, and the chart's kubeVersion (>= 1.30) fails offline.
    expect(Number(major) * 100 + Number(minor)).toBeGreaterThanOrEqual(130);
    // A chart of one template that prints what helm assumes.
    const probe = join(work, "probe");
    mkdirSync(join(probe, "templates"), { recursive: true });
    writeFileSync(join(probe, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.0.1\n");
    writeFileSync(join(probe, "templates", "version.yaml"), "kind: ConfigMap\napiVersion: v1\nmetadata: {name: v}\ndata: {kube: {{ .Capabilities.KubeVersion.Version | quote }}}\n");
    expect(await helmOk(["template", "v", probe])).toContain(`kube: "v${major}.${minor}.0"`);
  });

  it("passes helm lint --strict with the default values and with every optional part on", async () => {
    const plain = await helm(["lint", "--strict", chart]);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const custom = await helm(["lint", "--strict", chart, "-f", valuesFile("custom-lint", CUSTOM)]);
    expect(custom.code, custom.stdout + custom.stderr).toBe(0);
    expect(custom.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  describe("with the default values", () => {
    let manifests: Manifest[];
    beforeAll(async () => {
      manifests = await render();
    });

    it("renders the operator's objects and nothing optional", async () => {
      expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
        [
          "ClusterRole/landlord",
          "ClusterRoleBinding/landlord",
          "Deployment/landlord",
          "Lease/landlord-leader",
          "PodDisruptionBudget/landlord",
          "Role/landlord",
          "Role/landlord-events",
          "RoleBinding/landlord",
          "RoleBinding/landlord-events",
          "Service/landlord-metrics",
          "ServiceAccount/landlord",
          "ValidatingAdmissionPolicy/landlord-namespace-guard",
          "ValidatingAdmissionPolicyBinding/landlord-namespace-guard",
          // admission-policies.yaml: the actor stamp, tenant writes, decisions, reserved labels.
          "MutatingAdmissionPolicy/landlord-stamp-actor",
          "MutatingAdmissionPolicyBinding/landlord-stamp-actor",
          "ValidatingAdmissionPolicy/landlord-tenant-writes",
          "ValidatingAdmissionPolicyBinding/landlord-tenant-writes",
          "ValidatingAdmissionPolicy/landlord-decisions",
          "ValidatingAdmissionPolicyBinding/landlord-decisions",
          "ValidatingAdmissionPolicy/landlord-reserved-labels",
          "ValidatingAdmissionPolicyBinding/landlord-reserved-labels",
          // persona-roles.yaml.
          "ClusterRole/landlord-viewer",
          "ClusterRole/landlord-tenant-requester",
          "ClusterRole/landlord-approver",
          "ClusterRole/landlord-reporter",
        ].sort(),
      );
      // The CRDs come from crds/ (helm installs them first and never deletes them).
      const text = await helmOk(["template", "landlord", chart, "--include-crds"]);
      const crds = parseAllDocuments(text).map((d) => d.toJSON() as Manifest).filter((m) => m?.kind === "CustomResourceDefinition");
      expect(crds.map((c) => c.metadata.name).sort()).toEqual(["costreports.landlord.dev", "placementdecisions.landlord.dev", "placementpolicies.landlord.dev", "tenantplacements.landlord.dev", "tenantpools.landlord.dev"]);
    });

    it("runs two hardened replicas with leader election, probes and a writable /tmp", () => {
      const deployment = one(manifests, "Deployment");
      expect(deployment.spec.replicas).toBe(2);
      const pod = deployment.spec.template.spec;
      expect(pod.serviceAccountName).toBe("landlord");
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
      const [container] = pod.containers;
      expect(container.image).toBe("landlord:0.1.0");
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ["ALL"] } });
      expect(container.args).toEqual([
        "operator",
        "--provisioner=plan",
        "--leader-elect",
        "--lease-name=landlord-leader",
        "--lease-duration=15s",
        "--renew-deadline=10s",
        "--retry-period=2s",
        "--log-level=info",
        "--concurrency=8",
        "--resync-period=10m",
        "--cache-sync-timeout=2m",
        "--kube-api-qps=1000",
        "--kube-api-burst=2000",
        "--metrics-port=8080",
        "--health-port=8081",
        "--pulumi-work-dir=/tmp/landlord-pulumi",
        "--aws-region=us-east-1",
      ]);
      expect(container.env).toContainEqual({ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } });
      expect(container.env).toContainEqual({ name: "LANDLORD_IDENTITY", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } });
      expect(container.ports).toEqual([
        { name: "metrics", containerPort: 8080, protocol: "TCP" },
        { name: "health", containerPort: 8081, protocol: "TCP" },
      ]);
      expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
      expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
      expect(container.resources).toEqual({ requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } });
      expect(container.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
      expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "2Gi" } }]);
      expect(one(manifests, "PodDisruptionBudget").spec.maxUnavailable).toBe(1);
      expect(one(manifests, "Service").spec.ports).toEqual([{ name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" }]);
    });

    it("grants exactly the operator's rules: no wildcards, no Secrets cluster-wide, bind only on admin", () => {
      expect(one(manifests, "ClusterRole", "landlord").rules).toEqual(CLUSTER_RULES);
      for (const role of manifests.filter((m) => m.kind === "ClusterRole" || m.kind === "Role")) {
        for (const rule of role.rules ?? []) {
          for (const field of ["apiGroups", "resources", "verbs", "resourceNames"]) expect(rule[field] ?? [], `${role.kind}/${role.metadata.name}`).not.toContain("*");
          expect(rule.verbs).not.toContain("escalate");
          expect(rule.verbs).not.toContain("impersonate");
          if (rule.resources.includes("secrets")) expect(role.kind === "Role" && rule.resourceNames?.length === 1, "a Secret only by name").toBe(true);
        }
      }
      expect(one(manifests, "Role", "landlord").rules).toEqual([
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["landlord-leader"], verbs: ["get", "update"] },
      ]);
      // The Lease is the release's, so helm uninstall deletes it; its holder fields are left to the operator.
      const lease = one(manifests, "Lease");
      expect(lease.metadata).toMatchObject({ name: "landlord-leader", namespace: "landlord-system" });
      expect(lease.spec).toBeUndefined();
      const events = one(manifests, "Role", "landlord-events");
      expect(events.metadata.namespace).toBe("default");
      expect(events.rules).toEqual([{ apiGroups: [""], resources: ["events"], verbs: ["create"] }]);
      for (const binding of manifests.filter((m) => m.kind.endsWith("Binding") && !m.kind.endsWith("AdmissionPolicyBinding"))) {
        expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "landlord", namespace: "landlord-system" }]);
      }
    });

    it("guards namespaces for the operator's ServiceAccount only", () => {
      const policy = one(manifests, "ValidatingAdmissionPolicy", "landlord-namespace-guard");
      expect(policy.spec.matchConditions).toEqual([{ name: "is-the-landlord-operator", expression: 'request.userInfo.username == "system:serviceaccount:landlord-system:landlord"' }]);
      expect(policy.spec.failurePolicy).toBe("Fail");
      expect(one(manifests, "ValidatingAdmissionPolicyBinding", "landlord-namespace-guard").spec).toEqual({ policyName: "landlord-namespace-guard", validationActions: ["Deny"] });
    });
  });

  describe("with non-default values", () => {
    let manifests: Manifest[];
    beforeAll(async () => {
      manifests = await render(["-f", valuesFile("custom", CUSTOM)]);
    });

    it("passes every setting to the operator as a flag", () => {
      const container = one(manifests, "Deployment").spec.template.spec.containers[0];
      expect(container.image).toBe(`registry.example.com/platform/landlord@sha256:${"a".repeat(64)}`);
      expect(container.args).toEqual([
        "operator",
        "--provisioner=pulumi",
        "--leader-elect",
        "--lease-name=landlord-custom",
        "--lease-duration=30s",
        "--renew-deadline=20s",
        "--retry-period=4s",
        "--log-level=debug",
        "--concurrency=16",
        "--resync-period=30m",
        "--cache-sync-timeout=5m",
        "--kube-api-qps=2.5",
        "--kube-api-burst=5",
        "--metrics-port=8080",
        "--health-port=8081",
        "--pulumi-work-dir=/tmp/landlord-pulumi",
        "--aws-region=eu-west-1",
        "--aws-vpc-id=vpc-0abc12345",
        "--aws-subnet-ids=subnet-0abc12345,subnet-0def67890",
        "--pulumi-backend-url=s3://acme-landlord-state/landlord",
        "--pulumi-secrets-provider=awskms://alias/landlord",
        "--prometheus-url=http://prometheus-operated.monitoring:9090",
        "--prometheus-timeout=5s",
        "--prometheus-token-secret=prometheus-token",
        "--provision-timeout=90m",
      ]);
      expect(container.env).toContainEqual({ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" });
      expect(container.resources).toEqual(CUSTOM.resources);
      const deployment = one(manifests, "Deployment");
      expect(deployment.spec.replicas).toBe(3);
      expect(deployment.spec.template.spec.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    });

    it("annotates the ServiceAccount for IRSA and lets it read exactly the token Secret and its own Lease", () => {
      expect(one(manifests, "ServiceAccount").metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/landlord" });
      expect(one(manifests, "Role", "landlord").rules).toEqual([
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["landlord-custom"], verbs: ["get", "update"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["prometheus-token"], verbs: ["get"] },
      ]);
      expect(one(manifests, "Lease").metadata.name).toBe("landlord-custom");
    });

    it("renders the ServiceMonitor and the PrometheusRule", () => {
      const monitor = one(manifests, "ServiceMonitor");
      expect(monitor.metadata.labels?.release).toBe("kube-prometheus-stack");
      expect(monitor.spec.endpoints).toEqual([{ port: "metrics", path: "/metrics", interval: "15s", scrapeTimeout: "10s" }]);
      const rule = one(manifests, "PrometheusRule");
      expect(rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert)).toEqual(["LandlordReconcileErrors", "LandlordMoveFailed", "LandlordMoveStuck", "LandlordSignalsStale", "LandlordNoLeader"]);
      expect(rule.spec.groups[0].rules.find((r: { alert: string }) => r.alert === "LandlordMoveStuck").for).toBe("2h");
      expect(one(manifests, "PodDisruptionBudget").spec.maxUnavailable).toBe(2);
    });

    it("drops the lease rules with leader election off (one replica), and the guard when asked", async () => {
      const single = await render(["--set", "replicaCount=1", "--set", "leaderElection.enabled=false", "--set", "rbac.namespaceGuard=false"]);
      expect(one(single, "Deployment").spec.template.spec.containers[0].args).not.toContain("--leader-elect");
      expect(one(single, "Role", "landlord").rules).toBeNull();
      expect(single.some((m) => m.kind === "Lease")).toBe(false);
      expect(single.some((m) => m.metadata.name === "landlord-namespace-guard")).toBe(false);
    });

    it("drops the actor stamp for clusters without MutatingAdmissionPolicy, and every admission policy when asked", async () => {
      const noStamp = await render(["--set", "admission.stampActor=false"]);
      expect(noStamp.some((m) => m.kind.startsWith("MutatingAdmissionPolicy"))).toBe(false);
      // The validating policy still refuses a stamp that is not the requester's: clients must state themselves.
      expect(JSON.stringify(one(noStamp, "ValidatingAdmissionPolicy", "landlord-tenant-writes").spec.validations)).toContain("variables.approvedBy == request.userInfo.username");
      const none = await render(["--set", "admission.enabled=false", "--set", "admission.personaRoles=false"]);
      expect(none.filter((m) => m.kind.includes("AdmissionPolicy")).map((m) => m.metadata.name).sort()).toEqual(["landlord-namespace-guard", "landlord-namespace-guard"]);
      expect(none.filter((m) => m.kind === "ClusterRole").map((m) => m.metadata.name)).toEqual(["landlord"]);
    });
  });

  describe("with the scheduled cost run (costs.enabled)", () => {
    const COSTS = {
      costs: {
        enabled: true,
        schedule: "30 5 2 * *",
        timeZone: "Europe/Paris",
        bill: "s3://acme-billing/cur/",
        openCostUrl: "http://opencost.opencost:9003",
        poolCosts: { standard: "12000", eu: "3000.50" },
        period: "2026-11",
        writeRate: 20,
        extraArgs: ["--basis=amortized"],
        serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/landlord-costs" } },
      },
    };
    let manifests: Manifest[];
    beforeAll(async () => {
      manifests = await render(["-f", valuesFile("costs", COSTS)]);
    });

    it("passes helm lint --strict", async () => {
      const result = await helm(["lint", "--strict", chart, "-f", valuesFile("costs-lint", COSTS)]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
    });

    it("adds a CronJob running landlord costs --record as a ServiceAccount of its own, annotated for IRSA", () => {
      const cron = one(manifests, "CronJob", "landlord-costs");
      expect(cron.spec).toMatchObject({ schedule: "30 5 2 * *", timeZone: "Europe/Paris", concurrencyPolicy: "Forbid" });
      const pod = cron.spec.jobTemplate.spec.template.spec;
      expect(pod.serviceAccountName).toBe("landlord-costs");
      expect(pod.restartPolicy).toBe("Never");
      expect(pod.containers[0].args).toEqual([
        "costs",
        "--record",
        "--bill=s3://acme-billing/cur/",
        "--pool-cost=eu=3000.50",
        "--pool-cost=standard=12000",
        "--opencost-url=http://opencost.opencost:9003",
        "--period=2026-11",
        "--cost-signal=monthlyCostUSD",
        "--share-signal=costShare",
        "--margin-signal=marginUSD",
        "--revenue-signal=monthlyRevenueUSD",
        "--write-rate=20",
        "--output=json",
        "--basis=amortized",
      ]);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(one(manifests, "ServiceAccount", "landlord-costs").metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/landlord-costs" });
    });

    it("makes the cost run's ServiceAccount a reporter of exactly the signals it writes, in the admission policy", async () => {
      const unreportable = (list: Manifest[]): string => {
        const policy = list.find((m) => m.kind === "ValidatingAdmissionPolicy" && m.metadata.name === "landlord-tenant-writes") as unknown as { spec: { variables: { name: string; expression: string }[] } } | undefined;
        const expression = policy?.spec.variables.find((v) => v.name === "unreportable")?.expression;
        if (!expression) throw new Error("the chart rendered no unreportable variable in landlord-tenant-writes");
        return expression;
      };
      expect(unreportable(manifests)).toMatch(/\(s in \["monthlyCostUSD","costShare","marginUSD"\] &&\s+request\.userInfo\.username == "system:serviceaccount:landlord-system:landlord-costs"\) \|\|/);
      // Without the cost run, no reporter of it.
      expect(unreportable(await render([]))).not.toContain("landlord-costs");
    });

    it("grants the cost run exactly what --record needs, bound to its ServiceAccount only", () => {
      expect(one(manifests, "ClusterRole", "landlord-costs").rules).toEqual([
        { apiGroups: ["landlord.dev"], resources: ["tenantplacements"], verbs: ["get", "list", "patch"] },
        { apiGroups: ["landlord.dev"], resources: ["tenantpools"], verbs: ["list"] },
        { apiGroups: ["landlord.dev"], resources: ["costreports"], verbs: ["get", "create"] },
      ]);
      expect(one(manifests, "ClusterRoleBinding", "landlord-costs").subjects).toEqual([{ kind: "ServiceAccount", name: "landlord-costs", namespace: "landlord-system" }]);
      // The operator's own grants are unchanged by it.
      expect(one(manifests, "ClusterRole", "landlord").rules).toEqual(CLUSTER_RULES);
    });

    it("passes only the flags that are set", async () => {
      const minimal = await render(["--set", "costs.enabled=true", "--set", "costs.poolCosts.standard=12000"]);
      const args = one(minimal, "CronJob").spec.jobTemplate.spec.template.spec.containers[0].args as string[];
      expect(args.filter((a) => /^--(bill|opencost-url|period)=/.test(a))).toEqual([]);
      expect(args).toContain("--pool-cost=standard=12000");
    });
  });

  describe("refuses bad values with a message naming the value and what is allowed", () => {
    const cases: Array<[string, string[], RegExp]> = [
      ["an unknown provisioner", ["--set", "operator.provisioner=aws"], /at '\/operator\/provisioner': value must be one of 'plan', 'pulumi'/],
      ["an unknown log level", ["--set", "operator.logLevel=verbose"], /at '\/operator\/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'/],
      ["a misspelt key", ["--set", "replicas=3"], /additional properties 'replicas' not allowed/],
      ["a misspelt nested key", ["--set", "operator.loglevel=debug"], /at '\/operator': additional properties 'loglevel' not allowed/],
      ["a duration without a unit", ["--set", "leaderElection.leaseDuration=15"], /at '\/leaderElection\/leaseDuration': got number, want string/],
      ["a malformed duration", ["--set", "operator.resyncPeriod=ten minutes"], /at '\/operator\/resyncPeriod': 'ten minutes' does not match pattern/],
      ["a Prometheus URL without a scheme", ["--set", "prometheus.url=prometheus:9090"], /at '\/prometheus\/url': 'prometheus:9090' does not match pattern/],
      ["one subnet", ["--set", "aws.subnetIds={subnet-0abc12345}"], /at '\/aws\/subnetIds': minItems: got 1, want 2/],
      ["a region that is not one", ["--set", "aws.region=Europe"], /at '\/aws\/region': 'Europe' does not match pattern/],
      ["an extra arg that is not a flag", ["--set", "operator.extraArgs={leader-elect}"], /at '\/operator\/extraArgs\/0': 'leader-elect' does not match pattern/],
      ["an empty image repository", ["--set", "image.repository="], /at '\/image\/repository': minLength: got 0, want 1/],
      ["a zero concurrency", ["--set", "operator.concurrency=0"], /at '\/operator\/concurrency': minimum: got 0, want 1/],
      ["two replicas without leader election", ["--set", "leaderElection.enabled=false"], /replicaCount is 2 but leaderElection\.enabled is false: every replica would reconcile.*Set leaderElection\.enabled=true, or replicaCount=1/],
      ["the pulumi provisioner without a backend", ["--set", "operator.provisioner=pulumi"], /pulumi\.backendUrl is empty.*Set pulumi\.backendUrl \(e\.g\. s3:\/\/my-bucket\/landlord\)/],
      ["one port for metrics and health", ["--set", "metrics.port=8081"], /metrics\.port and health\.port are both 8081/],
      ["a reporter ServiceAccount without its namespace", ["--set-json", 'admission.reporters=[{"signals":["monthlyRevenueUSD"],"serviceAccounts":["billing"]}]'], /at '\/admission\/reporters\/0\/serviceAccounts\/0': 'billing' does not match pattern/],
      ["a group name that would break out of a CEL string", ["--set-json", `admission.approverGroups=["x', 'y"]`], /at '\/admission\/approverGroups\/0': .* does not match pattern/],
      ["a rule duration Prometheus would refuse", ["--set", "metrics.prometheusRule.stuckMoveFor=1.5h"], /at '\/metrics\/prometheusRule\/stuckMoveFor': '1\.5h' does not match pattern/],
      ["a cost run with nothing to charge", ["--set", "costs.enabled=true"], /costs\.enabled is true but there is nothing to charge: set costs\.bill/],
      ["a pool cost that is not an amount", ["--set", "costs.poolCosts.standard=lots"], /at '\/costs\/poolCosts\/standard'/],
      ["a cost signal name that is not one", ["--set", "costs.signals.cost=monthly cost"], /at '\/costs\/signals\/cost': 'monthly cost' does not match pattern/],
      ["an OpenCost URL without a scheme", ["--set", "costs.openCostUrl=opencost:9003"], /at '\/costs\/openCostUrl': 'opencost:9003' does not match pattern/],
    ];
    it.each(cases)("%s", async (_what, args, message) => {
      const result = await helm(["template", "landlord", chart, ...args]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
    });
  });

  describe("on the real API server", () => {
    const release = "helmtest";
    const namespace = `landlord-helmtest-${Date.now().toString(36)}`;

    beforeAll(async () => {
      await k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: PROMETHEUS_OPERATOR_CRD_STUBS }));
      await k(["wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com"]);
    });

    afterAll(async () => {
      await helm(["uninstall", release, "--namespace", namespace, "--kubeconfig", cluster().kubeconfig]);
      await k(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
      await k(["delete", "crd", "servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com", "--ignore-not-found"]);
    });

    it("accepted every object of the default release, server-side (the global setup applied it)", async () => {
      const applied = await kJson<{ items: Manifest[] }>(["get", "-f", cluster().operator.rendered]);
      expect(applied.items.map((m) => m.kind).sort()).toEqual((await render(["--set", `prometheus.tokenSecret=${cluster().operator.tokenSecret}`])).map((m) => m.kind).sort());
    });

    it("installs with helm install and the non-default values, ServiceMonitor and PrometheusRule included", async () => {
      // Without the admission policies: a second release's would exempt only its own ServiceAccount,
      // and refuse the suite's operator (one Landlord per cluster: its CRDs are cluster-wide anyway).
      const out = await helmOk(["install", release, chart, "--namespace", namespace, "--create-namespace", "--kubeconfig", cluster().kubeconfig, "-f", valuesFile("custom-install", CUSTOM), "--set", "admission.enabled=false"]);
      expect(out).toMatch(/STATUS: deployed/);
      expect(out).toMatch(/Landlord 0\.1\.0 is installed in namespace/);
      const installed = await kJson<{ items: Manifest[] }>(["get", "deployment,serviceaccount,role,rolebinding,service,poddisruptionbudget,servicemonitor,prometheusrule", "-n", namespace, "-l", `app.kubernetes.io/instance=${release}`]);
      expect(installed.items.map((m) => m.kind).sort()).toEqual(["Deployment", "PodDisruptionBudget", "PrometheusRule", "Role", "RoleBinding", "Service", "ServiceAccount", "ServiceMonitor"]);
      await k(["get", "clusterrole", `${release}-landlord`]);
      await k(["get", "validatingadmissionpolicy", `${release}-landlord-namespace-guard`]);
      // The stubs prune nothing silently: a field the real CRDs lack would have failed the install.
      const rule = await kJson<Manifest>(["get", "prometheusrule", `${release}-landlord`, "-n", namespace]);
      expect(rule.spec.groups[0].rules[0].expr).toMatch(/landlord_reconcile_errors_total/);
    });

    it("refuses bad values at helm install, before creating anything", async () => {
      const bad = await helm(["install", "helmbad", chart, "--namespace", namespace, "--kubeconfig", cluster().kubeconfig, "--set", "operator.provisioner=aws"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/at '\/operator\/provisioner': value must be one of 'plan', 'pulumi'/);
      expect((await helm(["status", "helmbad", "--namespace", namespace, "--kubeconfig", cluster().kubeconfig])).stderr).toMatch(/not found/);
    });

    it("keeps the leader's fields of its Lease through helm upgrade, and deletes the Lease at helm uninstall", async () => {
      const lease = ["lease", "landlord-custom", "-n", namespace];
      const holder = { holderIdentity: "landlord-7d9c-abcde", leaseDurationSeconds: 30, leaseTransitions: 3, acquireTime: "2026-12-04T10:00:00.000000Z", renewTime: "2026-12-04T10:05:00.000000Z" };
      // What a leader writes (an update of the spec; the chart's manifest has none).
      await k(["patch", ...lease, "--type=merge", "-p", JSON.stringify({ spec: holder })]);
      expect(await helmOk(["upgrade", release, chart, "--namespace", namespace, "--kubeconfig", cluster().kubeconfig, "--reuse-values", "--set", "commonLabels.upgraded=yes"])).toMatch(/STATUS: deployed/);
      // The Lease's manifest changed (a label), and helm's three-way merge left the leader's fields alone.
      const upgraded = await kJson<Manifest>(["get", ...lease]);
      expect(upgraded.metadata.labels?.upgraded).toBe("yes");
      expect(upgraded.spec).toEqual(holder);
      expect(await helmOk(["uninstall", release, "--namespace", namespace, "--kubeconfig", cluster().kubeconfig])).toMatch(/uninstalled/);
      expect(await k(["get", ...lease, "--ignore-not-found", "-o", "name"])).toBe("");
    });
  });

  describe("alerts", () => {
    let rules: { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] };
    // The project's own build (tools/prometheus), never a system promtool.
    let promtool = "";

    beforeAll(async () => {
      promtool = (await ensureGoTool(PROMETHEUS_TOOL)).path.promtool ?? "";
      rules = one(await render(["--set", "metrics.prometheusRule.enabled=true"]), "PrometheusRule").spec;
      writeFileSync(join(work, "rules.yaml"), stringifyYaml(rules));
    });

    it("use only metrics the operator exports", async () => {
      const exported = new Set((await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name));
      const used = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => r.expr.match(/\blandlord_[a-z_]+/g) ?? [])));
      expect(used.size).toBeGreaterThan(0);
      for (const name of used) expect(exported, name).toContain(name);
    });

    it("are valid rules for a real Prometheus (promtool check rules)", async () => {
      const result = await run(promtool, ["check", "rules", join(work, "rules.yaml")]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/SUCCESS: 5 rules found/);
    });

    it("fire when they should and stay quiet otherwise (promtool test rules)", async () => {
      const sel = 'job="landlord-metrics",namespace="landlord-system"';
      const annotations = (alert: string, labels: Record<string, string>): Record<string, string> => {
        const rule = rules.groups[0]?.rules.find((r) => r.alert === alert);
        return Object.fromEntries(Object.entries(rule?.annotations ?? {}).map(([key, text]) => [key, text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, label: string) => labels[label] ?? "")]));
      };
      const expected = (alert: string, labels: Record<string, string>) => ({ exp_labels: labels, exp_annotations: annotations(alert, labels) });
      const tests = {
        rule_files: ["rules.yaml"],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: [
              // Failing reconciles of the tenant controller for 40 minutes; the pool controller is fine.
              { series: `landlord_reconcile_errors_total{${sel},controller="tenant",pod="a"}`, values: "0+1x40" },
              { series: `landlord_reconcile_errors_total{${sel},controller="pool",pod="a"}`, values: "0+0x40" },
              // One failed move at minute 5.
              { series: `landlord_moves_total{${sel},from="pooled",to="namespace",outcome="Failed",pod="a"}`, values: "0 0 0 0 0 1+0x35" },
              // A replica that leads, then nobody from minute 20.
              { series: `landlord_leader{${sel},pod="a"}`, values: "1+0x19 0+0x20" },
              // Three tenants' reported revenue goes stale at minute 10 and stays so; nothing unavailable.
              { series: `landlord_tenants_signal_problems{${sel},problem="stale",pod="a"}`, values: "0+0x9 3+0x90" },
              { series: `landlord_tenants_signal_problems{${sel},problem="unavailable",pod="a"}`, values: "0+0x100" },
            ],
            alert_rule_test: [
              { eval_time: "10m", alertname: "LandlordReconcileErrors", exp_alerts: [] },
              { eval_time: "25m", alertname: "LandlordReconcileErrors", exp_alerts: [expected("LandlordReconcileErrors", { severity: "warning", namespace: "landlord-system", controller: "tenant" })] },
              { eval_time: "10m", alertname: "LandlordMoveFailed", exp_alerts: [expected("LandlordMoveFailed", { severity: "warning", namespace: "landlord-system", from: "pooled", to: "namespace", outcome: "Failed" })] },
              { eval_time: "15m", alertname: "LandlordNoLeader", exp_alerts: [] },
              { eval_time: "30m", alertname: "LandlordNoLeader", exp_alerts: [expected("LandlordNoLeader", { severity: "critical", namespace: "landlord-system" })] },
              { eval_time: "60m", alertname: "LandlordSignalsStale", exp_alerts: [] },
              { eval_time: "80m", alertname: "LandlordSignalsStale", exp_alerts: [{ ...expected("LandlordSignalsStale", { severity: "warning", namespace: "landlord-system", problem: "stale" }), exp_annotations: { ...annotations("LandlordSignalsStale", { problem: "stale" }), summary: "3 tenants have stale policy signals" } }] },
            ],
          },
          {
            // A move starts polling (requeue_after every 5 s) and never finishes: quiet while it may
            // still be working (a Pulumi RDS takes minutes), stuck once it has polled for stuckMoveFor.
            interval: "1m",
            input_series: [
              { series: `landlord_reconcile_total{${sel},controller="tenant",result="requeue_after",pod="a"}`, values: "0+12x180" },
              { series: `landlord_moves_total{${sel},from="pooled",to="database",outcome="Succeeded",pod="a"}`, values: "3+0x180" },
            ],
            alert_rule_test: [
              { eval_time: "50m", alertname: "LandlordMoveStuck", exp_alerts: [] },
              { eval_time: "90m", alertname: "LandlordMoveStuck", exp_alerts: [expected("LandlordMoveStuck", { severity: "warning", namespace: "landlord-system" })] },
            ],
          },
          {
            // Tenants poll just as much, but moves keep finishing (a rate limit at work): not stuck.
            interval: "1m",
            input_series: [
              { series: `landlord_reconcile_total{${sel},controller="tenant",result="requeue_after",pod="a"}`, values: "0+12x180" },
              { series: `landlord_moves_total{${sel},from="pooled",to="namespace",outcome="Succeeded",pod="a"}`, values: "0+0.05x180" },
            ],
            alert_rule_test: [{ eval_time: "150m", alertname: "LandlordMoveStuck", exp_alerts: [] }],
          },
        ],
      };
      writeFileSync(join(work, "rules.test.yaml"), stringifyYaml(tests));
      const result = await run(promtool, ["test", "rules", join(work, "rules.test.yaml")]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
    });
  });
});

function run(file: string, args: string[]): Promise<Result> {
  return new Promise((resolveRun) => {
    execFile(file, args, { cwd: work, timeout: 60_000 }, (error, stdout, stderr) =>
      resolveRun({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr: error && typeof error.code !== "number" ? `${stderr}${error.message}` : stderr }),
    );
  });
}

/**
 * The prometheus-operator CRDs are not installed here (no Prometheus operator runs), so the test
 * installs stand-ins: the real group, versions, kinds and scope, with the parts of the real
 * openAPIV3Schema (prometheus-operator 0.8x) that the chart's objects use — types, required fields
 * and duration patterns copied from upstream — and nothing else. Unknown fields are rejected by the
 * API server's strict field validation (helm and kubectl both ask for it), so a misspelt or invented
 * field fails the install instead of being pruned.
 */
const PROM_DURATION = "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$";
const stringMap = { type: "object", additionalProperties: { type: "string" } };
const crdStub = (plural: string, kind: string, spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.monitoring.coreos.com` },
  spec: {
    group: "monitoring.coreos.com",
    names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
    scope: "Namespaced",
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", required: ["spec"], properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec } } } }],
  },
});
const PROMETHEUS_OPERATOR_CRD_STUBS = [
  crdStub("servicemonitors", "ServiceMonitor", {
    type: "object",
    required: ["endpoints", "selector"],
    properties: {
      selector: { type: "object", "x-kubernetes-map-type": "atomic", properties: { matchLabels: stringMap } },
      namespaceSelector: { type: "object", properties: { any: { type: "boolean" }, matchNames: { type: "array", items: { type: "string" } } } },
      endpoints: {
        type: "array",
        items: {
          type: "object",
          properties: {
            port: { type: "string" },
            path: { type: "string" },
            interval: { type: "string", pattern: PROM_DURATION },
            scrapeTimeout: { type: "string", pattern: PROM_DURATION },
          },
        },
      },
    },
  }),
  crdStub("prometheusrules", "PrometheusRule", {
    type: "object",
    properties: {
      groups: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: {
          type: "object",
          required: ["name"],
          properties: {
            name: { type: "string", minLength: 1 },
            interval: { type: "string", pattern: PROM_DURATION },
            rules: {
              type: "array",
              items: {
                type: "object",
                required: ["expr"],
                properties: {
                  alert: { type: "string" },
                  record: { type: "string" },
                  expr: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
                  for: { type: "string", pattern: PROM_DURATION },
                  labels: stringMap,
                  annotations: stringMap,
                },
              },
            },
          },
        },
      },
    },
  }),
];
