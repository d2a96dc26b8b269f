import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { localDown, localUp } from "../../operator/src/local/controlPlane.ts";
import { installCrds } from "../../operator/src/local/kubectl.ts";
import { crdsDir } from "../../operator/src/local/paths.ts";
import type { ClusterInfo } from "./cluster.ts";

/**
 * Starts one real control plane for the whole run in a directory of its own, so a developer's
 * `landlord local up` cluster is never touched, and stops it afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "landlord-test-"));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const state = await localUp({ dir, log, readyTimeoutMs: 180_000 });
  const cluster: ClusterInfo = {
    dir,
    kubeconfig: state.kubeconfig,
    kubectl: join(state.binDir, "kubectl"),
    binDir: state.binDir,
    server: state.server,
    kubernetesVersion: state.kubernetesVersion ?? "",
  };
  await installCrds(cluster, crdsDir);
  project.provide("cluster", cluster);
  return async () => {
    // LANDLORD_KEEP_TEST_LOGS=1 keeps the control plane's and operators' logs for a post-mortem.
    await localDown({ dir, keepLogs: process.env.LANDLORD_KEEP_TEST_LOGS === "1" });
    if (process.env.LANDLORD_KEEP_TEST_LOGS === "1") process.stderr.write(`landlord: test logs kept in ${dir}\n`);
  };
}
