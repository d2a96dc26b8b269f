import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { cluster, k, kJson, listOf } from "./cluster.ts";
import { writeTokenKubeconfig } from "./tokenKubeconfig.ts";

const BIN = join(import.meta.dirname, "../../bin/landlord.mjs");
const run = `sync-${Date.now().toString(36)}`;
const serviceAccount = `${run}-nowatch`;
const lease = `${run}-lease`;
const dir = mkdtempSync(join(tmpdir(), "landlord-cachesync-"));

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** The chart's ClusterRole rules, but tenantpools may be listed and not watched. */
function withoutWatchOnTenantPools(rules: Rule[]): Rule[] {
  return rules.flatMap((rule) => {
    if (!rule.resources?.includes("tenantpools")) return [rule];
    const others = rule.resources.filter((r) => r !== "tenantpools");
    return [
      ...(others.length ? [{ ...rule, resources: others }] : []),
      { ...rule, resources: ["tenantpools"], verbs: rule.verbs.filter((v) => v !== "watch") },
    ];
  });
}

/** Runs `landlord operator` to its exit; resolves its code and everything it printed. */
function runOperator(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const inherited = { ...process.env };
  delete inherited.KUBECONFIG;
  delete inherited.LANDLORD_KUBECONFIG;
  const child = spawn(process.execPath, [BIN, "operator", ...args], { env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveRun) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

describe("an operator whose identity may not watch one of the kinds it caches", () => {
  const { namespace, release } = cluster().operator;

  beforeAll(async () => {
    const chartRole = await kJson<{ rules: Rule[] }>(["get", "clusterrole", release]);
    await k(
      ["apply", "-f", "-"],
      listOf([
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: serviceAccount, namespace } },
        { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: serviceAccount }, rules: withoutWatchOnTenantPools(chartRole.rules) },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: serviceAccount },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: serviceAccount },
          subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
        },
        // Its own Lease, as the chart's Role grants the chart's.
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: serviceAccount, namespace },
          rules: [
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [lease], verbs: ["get", "update"] },
          ],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: serviceAccount, namespace },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: serviceAccount },
          subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
        },
      ]),
    );
    const token = (await k(["create", "token", serviceAccount, "-n", namespace, "--duration=1h"])).trim();
    writeTokenKubeconfig(join(dir, "credentials"), { adminKubeconfig: cluster().kubeconfig, name: serviceAccount, token });
  });

  afterAll(async () => {
    await k(["delete", "clusterrolebinding,clusterrole", serviceAccount, "--ignore-not-found"]);
    await k(["delete", "rolebinding,role,serviceaccount", serviceAccount, "-n", namespace, "--ignore-not-found"]);
    await k(["delete", "lease", lease, "-n", namespace, "--ignore-not-found"]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 1 after --cache-sync-timeout naming the kind, the verb and the resource, and releases the Lease it won", async () => {
    // A KUBECONFIG list, as kubectl reads it: a missing file (skipped), one that picks the context
    // (its current-context wins), and the one with the cluster and the ServiceAccount's token.
    const chooser = join(dir, "context");
    writeFileSync(chooser, stringifyYaml({ apiVersion: "v1", kind: "Config", contexts: [{ name: "picked", context: { cluster: "landlord", user: serviceAccount } }], "current-context": "picked" }));
    const kubeconfig = [join(dir, "absent"), chooser, join(dir, "credentials")].join(":");
    const started = Date.now();
    const { code, output } = await runOperator(
      ["--leader-elect", `--lease-name=${lease}`, "--cache-sync-timeout=5s", "--metrics-port=0", "--health-port=0", "--bind-address=127.0.0.1"],
      { KUBECONFIG: kubeconfig, POD_NAMESPACE: namespace },
      90_000,
    );
    expect(code, output).toBe(1);
    // The timeout, not the test's kill, ended it: a few seconds after the sync began.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(output).toContain("Acquired the leader Lease");
    const stderrLine = output.split("\n").find((line) => line.startsWith("landlord operator: "));
    expect(stderrLine).toMatch(
      /^landlord operator: the informers did not sync within 5s: TenantPool: the API server refused to watch tenantpools\.landlord\.dev \(403 Forbidden: .*cannot watch resource \\?"tenantpools\\?" in API group \\?"landlord\.dev\\?".*\); grant the operator's identity the watch verb on tenantpools\.landlord\.dev$/,
    );
    // Only the kind it may not watch is named: everything else synced.
    expect(stderrLine).not.toMatch(/TenantPlacement|PlacementPolicy|Namespace/);
    // It let go of the Lease on the way out, so a replica with the right permissions takes over at once.
    const held = await kJson<{ spec: { holderIdentity?: string; leaseDurationSeconds?: number } }>(["get", "lease", lease, "-n", namespace]);
    expect(held.spec.holderIdentity ?? "").toBe("");
    expect(held.spec.leaseDurationSeconds).toBe(1);
  });
});
