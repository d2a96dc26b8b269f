import { execFile } from "node:child_process";
import { join } from "node:path";
import type { Log } from "./build.ts";
import { ensureGoTool } from "./goTools.ts";
import { HELM_TOOL } from "./helmTool.ts";
import { kubectl, type KubectlTarget } from "./kubectl.ts";
import { projectRoot } from "./paths.ts";

/**
 * The demo's people, by group: the chart's default admission values name these groups, and
 * `landlord dev` binds each to its persona ClusterRole, so `kubectl --as=alice
 * --as-group=landlord-approvers ...` shows what an approver may do on the local cluster.
 */
export const DEMO_BINDINGS = [
  { role: "approver", group: "landlord-approvers" },
  { role: "tenant-requester", group: "landlord-platform-admins" },
  { role: "tenant-requester", group: "product-team" },
  { role: "reporter", group: "landlord-reporters" },
  { role: "viewer", group: "auditors" },
] as const;

function helmTemplate(helm: string, args: string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(helm, ["template", "landlord", join(projectRoot, "charts", "landlord"), ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`helm template failed: ${stderr.trim() || error.message}`));
      else resolveRun(stdout);
    });
  });
}

/**
 * Installs the chart's admission policies and persona ClusterRoles (rendered by the same helm the
 * tests use) on a local control plane, exempting `operatorUser`: in `landlord dev` the operator
 * runs in-process with the admin's credentials, so the admin's own writes are the operator's.
 */
export async function installAdmission(target: KubectlTarget, options: { operatorUser: string; log: Log }): Promise<void> {
  const helm = (await ensureGoTool(HELM_TOOL, { log: options.log })).path.helm as string;
  const rendered = await helmTemplate(helm, [
    "--namespace",
    "landlord-system",
    "--show-only",
    "templates/admission-policies.yaml",
    "--show-only",
    "templates/persona-roles.yaml",
    "--set",
    `admission.operatorUser=${options.operatorUser}`,
  ]);
  await kubectl(target, ["apply", "--server-side", "--field-manager=landlord-dev", "-f", "-"], { input: rendered });
  const bindings = DEMO_BINDINGS.map(({ role, group }) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `landlord-demo-${role}-${group}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `landlord-${role}` },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
  }));
  await kubectl(target, ["apply", "--server-side", "--field-manager=landlord-dev", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: bindings }) });
}
