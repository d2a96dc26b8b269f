/**
 * A local control plane for one measurement (kube-apiserver + etcd + kube-controller-manager from
 * operator/src/local, in a temporary directory), and what the benchmark reads from it and from
 * processes: the API server's own request counters, CPU time and resident memory from /proc.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { createKubeClient, type KubeClient } from "../../operator/src/kube/client.ts";
import { loadClusterAccess } from "../../operator/src/kube/kubeconfig.ts";
import { localDown, localUp, type LocalState } from "../../operator/src/local/controlPlane.ts";
import { installCrds } from "../../operator/src/local/kubectl.ts";
import { crdsDir } from "../../operator/src/local/paths.ts";
import { diffCounts, formatCounts, requestCounts, WRITE_VERBS } from "../apiserverWrites.ts";

export { diffCounts, formatCounts };

export interface BenchCluster {
  state: LocalState;
  kubeConfig: k8s.KubeConfig;
  client: KubeClient;
  /** ms from the start of localUp to /readyz ok and the CRDs established. */
  startMs: number;
  /** performance.now() when it was ready. */
  readyAt: number;
  down(): Promise<void>;
}

export async function startCluster(log: (line: string) => void): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), "landlord-bench-"));
  const started = performance.now();
  const state = await localUp({ dir, log });
  try {
    await installCrds({ kubectl: join(state.binDir, "kubectl"), kubeconfig: state.kubeconfig }, crdsDir);
  } catch (error) {
    await localDown({ dir });
    throw error;
  }
  const startMs = performance.now() - started;
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfig);
  return {
    state,
    kubeConfig,
    client: createKubeClient(loadClusterAccess(state.kubeconfig)),
    startMs,
    readyAt: started + startMs,
    async down() {
      await localDown({ dir });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The API server's write requests so far, by "resource[/subresource] VERB", from its own
 * apiserver_request_total. Counted by the server, so nothing the client side forgets is missed;
 * it includes every client (kube-controller-manager too), which the callers keep in mind.
 */
export async function apiserverWrites(client: KubeClient): Promise<Map<string, number>> {
  return apiserverRequests(client, (verb) => WRITE_VERBS.has(verb));
}

/** Like apiserverWrites, for the verbs `want` accepts (e.g. reads: GET, LIST, WATCH). */
export async function apiserverRequests(client: KubeClient, want: (verb: string) => boolean): Promise<Map<string, number>> {
  return requestCounts(await client.request<string>({ method: "GET", path: "/metrics" }), want);
}

export const sumCounts = (counts: Map<string, number>, filter: (key: string) => boolean = () => true): number =>
  [...counts].filter(([key]) => filter(key)).reduce((sum, [, value]) => sum + value, 0);

/**
 * Writes a Landlord operator makes: every write to a resource it writes, except what
 * kube-controller-manager writes on its own for the floor and the operator alike (ResourceQuota
 * usage, namespace finalization, the kube-root-ca.crt ConfigMap it creates and updates, which
 * Landlord never does: it only applies ConfigMaps). The API server's own Lease renewals and
 * kube-controller-manager's ServiceAccounts fall outside the list.
 */
const LANDLORD_RESOURCES = new Set([
  "tenantplacements",
  "tenantplacements/status",
  "tenantpools",
  "tenantpools/status",
  "placementpolicies",
  "placementpolicies/status",
  "placementdecisions",
  "placementdecisions/status",
  "namespaces",
  "resourcequotas",
  "limitranges",
  "networkpolicies",
  "configmaps",
  "rolebindings",
  "events",
  "jobs",
]);
export function byLandlord(key: string): boolean {
  const [resource = "", verb = ""] = key.split(" ");
  if (resource === "configmaps" && (verb === "POST" || verb === "PUT")) return false;
  return LANDLORD_RESOURCES.has(resource);
}


// USER_HZ: 100 on every Linux architecture Node runs on; /proc/<pid>/stat times are in these ticks.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; NaN when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes (VmRSS; VmHWM: its peak so far), NaN when it cannot be read. */
export function rssBytes(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1];
    return kb ? Number(kb) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds of the control plane's processes, to see where a run's time went. */
export function controlPlaneCpu(state: LocalState): { apiserver: number; etcd: number; controllerManager: number } {
  return { apiserver: cpuSeconds(state.pids.apiserver), etcd: cpuSeconds(state.pids.etcd), controllerManager: cpuSeconds(state.pids.controllerManager) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}
