/**
 * Convergence: N pooled tenants applied at once, timed until every one is Ready (seen on a watch),
 * for the operator and for the floor (floor.ts), with the writes the API server counted and the
 * CPU each process used meanwhile.
 */
import { apiserverRequests, apiserverWrites, byLandlord, controlPlaneCpu, diffCounts, inParallel, sumCounts, type BenchCluster } from "./cluster.ts";
import { runFloor } from "./floor.ts";
import type { OperatorProcess } from "./operator.ts";
import { readyTracker, watchCollection } from "./watch.ts";
import { apply, APPLY_CONCURRENCY, tenantName, tenantObject, tenantPath, TENANTS_PATH } from "./workload.ts";

export interface ConvergenceRun {
  ms: number;
  /** Landlord's writes (kube-controller-manager's left out), by resource and verb, user applies included. */
  writes: Map<string, number>;
  totalWrites: number;
  /** Reads (GET, LIST, WATCH) of every client during the run, the benchmark's own watch included. */
  reads: Map<string, number>;
  /**
   * CPU seconds used during the run: this process (the user's applies and the watch; for the floor
   * also its writes), the operator process, and the control plane's.
   */
  cpu: { bench: number; operator: number; apiserver: number; etcd: number; controllerManager: number };
  totalCpu: number;
}

const benchCpu = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

async function timed(cluster: BenchCluster, n: number, operatorCpu: () => number, drive: () => Promise<void>): Promise<ConvergenceRun> {
  const tracker = readyTracker(Array.from({ length: n }, (_, i) => tenantName(i)), "pooled");
  const watcher = await watchCollection(cluster.kubeConfig, cluster.client, TENANTS_PATH, tracker.onEvent);
  try {
    const isRead = (verb: string): boolean => verb === "GET" || verb === "LIST" || verb === "WATCH";
    const readsBefore = await apiserverRequests(cluster.client, isRead);
    const writesBefore = await apiserverWrites(cluster.client);
    const cpuBefore = { bench: benchCpu(), operator: operatorCpu(), ...controlPlaneCpu(cluster.state) };
    const started = performance.now();
    const progress = setInterval(() => process.stderr.write(`bench:   ${n - tracker.pending()}/${n} Ready after ${Math.round((performance.now() - started) / 1000)} s\n`), 15_000);
    let finished: number;
    try {
      await drive();
      finished = await tracker.done;
    } finally {
      clearInterval(progress);
    }
    const cpuAfter = { bench: benchCpu(), operator: operatorCpu(), ...controlPlaneCpu(cluster.state) };
    const writes = new Map([...diffCounts(writesBefore, await apiserverWrites(cluster.client))].filter(([key]) => byLandlord(key)));
    const reads = diffCounts(readsBefore, await apiserverRequests(cluster.client, isRead));
    const cpu = {
      bench: cpuAfter.bench - cpuBefore.bench,
      operator: cpuAfter.operator - cpuBefore.operator,
      apiserver: cpuAfter.apiserver - cpuBefore.apiserver,
      etcd: cpuAfter.etcd - cpuBefore.etcd,
      controllerManager: cpuAfter.controllerManager - cpuBefore.controllerManager,
    };
    return { ms: finished - started, writes, totalWrites: sumCounts(writes), reads, cpu, totalCpu: cpu.bench + cpu.operator + cpu.apiserver + cpu.etcd + cpu.controllerManager };
  } finally {
    watcher.stop();
  }
}

/** The floor: the minimal client's writes with `concurrency` workers, from this process. */
export function floorConvergence(cluster: BenchCluster, n: number, concurrency: number): Promise<ConvergenceRun> {
  return timed(cluster, n, () => 0, async () => {
    await runFloor(cluster.client, n, concurrency);
  });
}

/** The operator (already running and synced): the user applies N tenants, 16 in flight. */
export async function operatorConvergence(cluster: BenchCluster, operator: OperatorProcess, n: number): Promise<ConvergenceRun & { reconciles: string }> {
  const reconciles = async (): Promise<Map<string, number>> => new Map([...(await operator.metrics())].filter(([key]) => key.startsWith("landlord_reconcile_total{")));
  const before = await reconciles();
  const run = await timed(cluster, n, () => operator.cpuSeconds(), () =>
    inParallel(Array.from({ length: n }, (_, i) => i), APPLY_CONCURRENCY, async (i) => {
      const object = tenantObject(i);
      await apply(cluster.client, tenantPath(object.metadata.name), object);
    }),
  );
  // How the operator got there: reconciles by controller and result (requeue_after: a move waiting).
  const counts = diffCounts(before, await reconciles());
  const label = (key: string): string => `${/controller="([^"]*)"/.exec(key)?.[1] ?? "?"} ${/result="([^"]*)"/.exec(key)?.[1] ?? "?"}`;
  return { ...run, reconciles: [...counts].map(([key, value]) => `${label(key)} ${value}`).sort().join(", ") };
}
