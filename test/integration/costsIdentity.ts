import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { projectRoot } from "../../operator/src/local/paths.ts";
import { TEST_ADMISSION } from "./admissionValues.ts";
import { cluster, k } from "./cluster.ts";
import { writeTokenKubeconfig } from "./tokenKubeconfig.ts";

/**
 * The scheduled cost run's identity, as the chart installs it with costs.enabled: its
 * ServiceAccount, ClusterRole and binding (and the CronJob, stored only: no kubelet runs it), and
 * the admission policies as that release renders them (the suite's values, admissionValues.ts, plus
 * the cost run as the reporter of its three signals), rendered by the real helm and applied as the admin, plus a kubeconfig holding a TokenRequest
 * token of that ServiceAccount. `landlord costs --record` run with it proves the chart grants
 * exactly enough. Idempotent: every file that needs it calls it.
 */

export interface CostsIdentity {
  kubeconfig: string;
  serviceAccount: string;
  user: string;
  clusterRole: string;
  /** The chart's CronJob as rendered. */
  cronJob: { spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } } } } } };
}

let identity: Promise<CostsIdentity> | undefined;

function helm(args: string[]): Promise<string> {
  return new Promise((done, reject) => {
    execFile(cluster().helm, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? "", HOME: cluster().dir } }, (error, stdout, stderr) =>
      error ? reject(new Error(`helm ${args.join(" ")}: ${stderr}`)) : done(stdout),
    );
  });
}

async function install(): Promise<CostsIdentity> {
  const { release, namespace } = cluster().operator;
  const values = join(cluster().dir, "costs-values.yaml");
  writeFileSync(values, stringify({ admission: TEST_ADMISSION, costs: { enabled: true, bill: "s3://acme-billing/cur/", poolCosts: { standard: "12000" } } }));
  const text = await helm([
    "template", release, join(projectRoot, "charts", "landlord"), "--namespace", namespace, "-f", values,
    "--show-only", "templates/costs.yaml", "--show-only", "templates/admission-policies.yaml",
  ]);
  const manifests = parseAllDocuments(text).map((d) => d.toJSON() as { kind: string; metadata: { name: string } } | null).filter((m) => m !== null);
  const find = (kind: string) => {
    const found = manifests.find((m) => m.kind === kind);
    if (!found) throw new Error(`the chart rendered no ${kind} with costs.enabled`);
    return found;
  };
  await k(["apply", "--server-side", "--field-manager=helm", "-f", "-"], text);
  const serviceAccount = find("ServiceAccount").metadata.name;
  const token = (await k(["create", "token", serviceAccount, "-n", namespace, "--duration=12h"])).trim();
  const kubeconfig = join(cluster().dir, "costs-kubeconfig");
  writeTokenKubeconfig(kubeconfig, { adminKubeconfig: cluster().kubeconfig, name: serviceAccount, token });
  return {
    kubeconfig,
    serviceAccount,
    user: `system:serviceaccount:${namespace}:${serviceAccount}`,
    clusterRole: find("ClusterRole").metadata.name,
    cronJob: find("CronJob") as unknown as CostsIdentity["cronJob"],
  };
}

export function costsIdentity(): Promise<CostsIdentity> {
  identity ??= install();
  return identity;
}
