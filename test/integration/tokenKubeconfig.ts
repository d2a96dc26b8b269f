import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

/**
 * Writes a kubeconfig that reaches the admin's cluster with a ServiceAccount's bearer token instead
 * of the admin's certificate: how a test acts as a workload of the chart would.
 */
export function writeTokenKubeconfig(file: string, options: { adminKubeconfig: string; name: string; token: string; namespace?: string }): void {
  const admin = parseYaml(readFileSync(options.adminKubeconfig, "utf8")) as { clusters: { cluster: Record<string, string> }[] };
  const server = admin.clusters[0]?.cluster;
  if (!server) throw new Error(`${options.adminKubeconfig} has no cluster entry`);
  const { name, token, namespace } = options;
  writeFileSync(
    file,
    stringifyYaml({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "landlord", cluster: { server: server.server, "certificate-authority-data": server["certificate-authority-data"] } }],
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: "landlord", user: name, ...(namespace ? { namespace } : {}) } }],
      "current-context": name,
    }),
    { mode: 0o600 },
  );
}
