import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { localDown, localUp } from "../../operator/src/local/controlPlane.ts";
import { ensureGoTool } from "../../operator/src/local/goTools.ts";
import { HELM_TOOL } from "../../operator/src/local/helmTool.ts";
import { PROMETHEUS_TOOL } from "../../operator/src/local/prometheusTool.ts";
import { installCrds, kubectl, type KubectlTarget } from "../../operator/src/local/kubectl.ts";
import { crdsDir, projectRoot } from "../../operator/src/local/paths.ts";
import { TEST_ADMISSION } from "./admissionValues.ts";
import type { ClusterInfo, OperatorIdentity } from "./cluster.ts";
import { writeTokenKubeconfig } from "./tokenKubeconfig.ts";

/**
 * The chart's release the operator's identity comes from: its ServiceAccount, RBAC and admission
 * policy. `tokenSecret` is set so the Role's by-name Secret rule is rendered and can be tested.
 */
const OPERATOR_RELEASE = { release: "landlord", namespace: "landlord-system", tokenSecret: "landlord-prometheus-token" } as const;

/**
 * Starts one real control plane for the whole run in a directory of its own, so a developer's
 * `landlord local up` cluster is never touched, and stops it afterwards.
 *
 * It also installs the Helm chart's ServiceAccount, RBAC and admission policy (rendered by a real
 * helm) and writes a kubeconfig holding a token of that ServiceAccount: every operator a test starts
 * authenticates with it, so a permission the chart lacks fails the test that needs it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "landlord-test-"));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // Built (once) while the control plane starts: all are cached after the first run. Prometheus is
  // only built here so that no test waits minutes for it inside a hook's timeout.
  const [state, helmTool] = await Promise.all([
    localUp({ dir, log, readyTimeoutMs: 180_000 }),
    ensureGoTool(HELM_TOOL, { log }),
    ensureGoTool(PROMETHEUS_TOOL, { log }),
  ]);
  const admin: KubectlTarget = { kubectl: join(state.binDir, "kubectl"), kubeconfig: state.kubeconfig };
  await installCrds(admin, crdsDir);
  const helm = helmTool.path.helm as string;
  const operator = await installOperatorIdentity({ helm, admin, dir });
  const cluster: ClusterInfo = {
    dir,
    kubeconfig: state.kubeconfig,
    kubectl: admin.kubectl,
    binDir: state.binDir,
    server: state.server,
    kubernetesVersion: state.kubernetesVersion ?? "",
    helm,
    operator,
  };
  project.provide("cluster", cluster);
  return async () => {
    // LANDLORD_KEEP_TEST_LOGS=1 keeps the control plane's and operators' logs for a post-mortem.
    await localDown({ dir, keepLogs: process.env.LANDLORD_KEEP_TEST_LOGS === "1" });
    if (process.env.LANDLORD_KEEP_TEST_LOGS === "1") process.stderr.write(`landlord: test logs kept in ${dir}\n`);
  };
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
      else resolveRun(stdout);
    });
  });
}

/**
 * Renders the chart as a user would install it and applies everything but the CRDs (installed above
 * from crds/, which the chart's copy must equal) server-side as the admin: namespace, ServiceAccount,
 * ClusterRoles (the operator's and the personas'), Roles, bindings, the admission policies (the
 * namespace guard, the actor stamp, tenant writes, decisions, reserved labels; values in
 * admissionValues.ts), Service, PDB and the Deployment (stored only: no kubelet runs it). Then asks
 * the TokenRequest API for a token of the ServiceAccount.
 */
async function installOperatorIdentity(options: { helm: string; admin: KubectlTarget; dir: string }): Promise<OperatorIdentity> {
  const { helm, admin, dir } = options;
  const { release, namespace, tokenSecret } = OPERATOR_RELEASE;
  const values = join(dir, "chart-values.yaml");
  writeFileSync(values, stringifyYaml({ admission: TEST_ADMISSION }));
  const manifests = await run(helm, ["template", release, join(projectRoot, "charts", "landlord"), "--namespace", namespace, "--set", `prometheus.tokenSecret=${tokenSecret}`, "-f", values]);
  const rendered = join(dir, "chart-rendered.yaml");
  writeFileSync(rendered, manifests);
  await kubectl(admin, ["create", "namespace", namespace]);
  await kubectl(admin, ["apply", "--server-side", "--field-manager=helm", "-f", rendered]);
  // The ServiceAccount the chart created; its name is what the chart's helpers compute.
  const serviceAccount = (parseYaml(await kubectl(admin, ["get", "serviceaccounts", "-n", namespace, "-l", `app.kubernetes.io/instance=${release}`, "-o", "yaml"])) as { items: { metadata: { name: string } }[] }).items[0]?.metadata.name;
  if (!serviceAccount) throw new Error(`the chart rendered no ServiceAccount in ${namespace}; see ${rendered}`);
  // Long enough for the slowest run; a bound token that outlives the run is useless once the
  // control plane (and its signing key) is gone.
  const token = (await kubectl(admin, ["create", "token", serviceAccount, "-n", namespace, "--duration=12h"])).trim();
  const kubeconfig = join(dir, "operator-kubeconfig");
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  writeTokenKubeconfig(kubeconfig, { adminKubeconfig: admin.kubeconfig, name: serviceAccount, token, namespace });
  // The token must authenticate as the ServiceAccount, not fall back to anything else.
  const whoami = (await kubectl({ kubectl: admin.kubectl, kubeconfig }, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).trim();
  if (whoami !== user) throw new Error(`the operator's kubeconfig authenticates as ${JSON.stringify(whoami)}, expected ${user}`);
  return { kubeconfig, namespace, serviceAccount, user, release, tokenSecret, rendered };
}
