import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { localUp, removeNode } from "../../operator/src/local/controlPlane.ts";
import { importImage } from "../../operator/src/local/node.ts";
import { BRIDGE } from "../../operator/src/local/nodeConfig.ts";
import { hostFacts, preflightProblems } from "../../operator/src/local/nodeHost.ts";
import { buildJobImage } from "../../operator/src/local/operatorImage.ts";
import { projectRoot } from "../../operator/src/local/paths.ts";
import { cluster, eventually, k, kJson } from "./cluster.ts";

/**
 * Migration Jobs in the integration tests. Where this machine can host the local node (Linux,
 * root, containerd; see `landlord local up --node`) the suite's control plane gets one for the
 * file's duration and the Jobs really run, in pods, the script of test/e2e/migrate-check.sh; where
 * it cannot, the test plays the kubelet and the Job controller by writing the Job's status, and
 * `unavailable` says why (with CI=true that is a failure: CI must run them for real).
 *
 * One node per machine (its bridge, pod range and iptables chain are fixed names): the integration
 * and e2e projects never overlap in one vitest run (their groupOrder runs them one after the
 * other), but another checkout's run on the same machine may hold the node; then this falls back.
 */
export interface MigrationJobs {
  /** Why the Jobs do not run for real here; undefined when they do. */
  unavailable: string | undefined;
  /** The container of the policy's migration jobTemplate. */
  container: Record<string, unknown>;
  /** Real: waits for the Job to finish on its own and checks how. Otherwise writes that outcome. */
  finish(namespace: string, name: string, outcome: "Complete" | "Failed"): Promise<void>;
  /** What the Job's pod printed (real Jobs only; "" otherwise). */
  logs(namespace: string, name: string): Promise<string>;
  /** Seconds spent starting the node and loading the image (0 without a node). */
  setupSeconds: number;
  stop(): Promise<void>;
}

/** The script every migration Job of the tests runs (comments dropped: they are for readers of the file). */
export function migrationScript(): string {
  return readFileSync(join(projectRoot, "test/e2e/migrate-check.sh"), "utf8")
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n");
}

/**
 * A migration container that never finishes on its own, on a node or not (no such image, and Pod
 * Security restricted refuses its pod): for tests that decide the Job's outcome themselves.
 */
export const INERT_CONTAINER = { name: "migrate", image: "example.com/migrate:1", args: ["--tenant={{tenantId}}", "--from={{from}}", "--to={{to}}"] };

export async function migrationJobs(log: (line: string) => void): Promise<MigrationJobs> {
  const problems = preflightProblems(hostFacts());
  if (problems.length === 0 && existsSync(`/sys/class/net/${BRIDGE}`)) problems.push(`another local node runs on this machine (the bridge ${BRIDGE} exists)`);
  if (problems.length > 0) {
    return { unavailable: problems.join("; "), container: INERT_CONTAINER, finish: writeJobStatus, logs: async () => "", setupSeconds: 0, stop: async () => undefined };
  }
  const started = Date.now();
  const { dir } = cluster();
  const state = await localUp({ dir, node: true, log, readyTimeoutMs: 180_000 });
  try {
    const image = await buildJobImage({ log });
    await importImage(state.node?.socket as string, image.archive);
    const container = {
      name: "migrate",
      image: image.ref,
      imagePullPolicy: "IfNotPresent",
      command: ["/bin/sh", "-c"],
      args: [migrationScript()],
      // Pod Security restricted, which every tenant namespace enforces.
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
    };
    return {
      unavailable: undefined,
      container,
      finish: waitForJob,
      logs: (namespace, name) => k(["logs", `job/${name}`, "-n", namespace]),
      setupSeconds: (Date.now() - started) / 1000,
      stop: () => removeNode({ dir, log }),
    };
  } catch (error) {
    await removeNode({ dir, log });
    throw error;
  }
}

interface JobStatus {
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Waits until the Job controller marks the Job finished, and fails when it finished the other way. */
async function waitForJob(namespace: string, name: string, outcome: "Complete" | "Failed"): Promise<void> {
  const finished = await eventually(async () => {
    const conditions = (await kJson<JobStatus>(["get", "job", name, "-n", namespace])).status?.conditions ?? [];
    return conditions.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")?.type;
  }, { what: `job ${namespace}/${name} to finish in its pod`, timeoutMs: 120_000 });
  if (finished !== outcome) throw new Error(`job ${namespace}/${name} ended ${finished}, expected ${outcome}; its pod said:\n${await k(["logs", `job/${name}`, "-n", namespace]).catch(String)}`);
}

/** Plays the kubelet and the Job controller: marks the Job finished the way the API server accepts. */
export async function writeJobStatus(namespace: string, name: string, outcome: "Complete" | "Failed"): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const at = { lastTransitionTime: now, lastProbeTime: now };
  const status =
    outcome === "Complete"
      ? { startTime: now, completionTime: now, succeeded: 1, conditions: [{ type: "SuccessCriteriaMet", status: "True", ...at }, { type: "Complete", status: "True", ...at }] }
      : {
          startTime: now,
          failed: 1,
          conditions: [
            { type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded", message: "copy failed: relation orders is locked", ...at },
            { type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "copy failed: relation orders is locked", ...at },
          ],
        };
  await k(["patch", "job", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}
