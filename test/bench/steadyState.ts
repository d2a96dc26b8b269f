/**
 * What a converged operator costs when nothing happens: write requests while idle (from the API
 * server's own metrics), resident memory and V8 heap (from /proc and the operator's /metrics),
 * and a restart: how long until its caches are synced and it is idle again, and that it writes
 * nothing on the way.
 */
import { apiserverWrites, byLandlord, diffCounts, formatCounts, sleep, sumCounts, type BenchCluster } from "./cluster.ts";
import { metricSum, startOperatorProcess, waitReady, type OperatorOptions, type OperatorProcess } from "./operator.ts";

export async function idleWrites(cluster: BenchCluster, seconds: number): Promise<{ writes: number; detail: string }> {
  const before = await apiserverWrites(cluster.client);
  await sleep(seconds * 1000);
  const writes = new Map([...diffCounts(before, await apiserverWrites(cluster.client))].filter(([key]) => byLandlord(key)));
  return { writes: sumCounts(writes), detail: formatCounts(writes) };
}

export async function memory(operator: OperatorProcess): Promise<{ rssMiB: number; peakRssMiB: number; heapUsedMiB: number; heapTotalMiB: number }> {
  const metrics = await operator.metrics();
  return {
    rssMiB: operator.rssBytes() / 2 ** 20,
    peakRssMiB: operator.peakRssBytes() / 2 ** 20,
    heapUsedMiB: (metrics.get("nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20,
    heapTotalMiB: (metrics.get("nodejs_heap_size_total_bytes") ?? NaN) / 2 ** 20,
  };
}

/**
 * Waits until the operator has had one full second with nothing queued and no reconcile finishing;
 * returns performance.now() at the start of that second.
 */
export async function firstIdleSecond(operator: OperatorProcess, timeoutMs = 300_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let quietSince: number | undefined;
  let lastCount = -1;
  while (performance.now() < deadline) {
    const metrics = await operator.metrics();
    const count = metricSum(metrics, "landlord_reconcile_total");
    const depth = metricSum(metrics, "landlord_workqueue_depth");
    const now = performance.now();
    if (count !== lastCount || depth > 0) {
      quietSince = undefined;
      lastCount = count;
    } else {
      quietSince ??= now;
      if (now - quietSince >= 1_000) return quietSince;
    }
    await sleep(100);
  }
  throw new Error(`the operator was not idle within ${timeoutMs} ms`);
}

export interface RestartResult {
  operator: OperatorProcess;
  toSyncedMs: number;
  toIdleMs: number;
  writes: number;
  detail: string;
}

/** Stops `previous`, starts a new operator process and times it back to idle. */
export async function restart(cluster: BenchCluster, previous: OperatorProcess, options: OperatorOptions): Promise<RestartResult> {
  await previous.stop();
  const before = await apiserverWrites(cluster.client);
  const operator = await startOperatorProcess(options);
  const synced = await waitReady(operator);
  const idle = await firstIdleSecond(operator);
  // The idle second itself is part of the window: a write then would count too.
  await sleep(1_000);
  const writes = new Map([...diffCounts(before, await apiserverWrites(cluster.client))].filter(([key]) => byLandlord(key)));
  return { operator, toSyncedMs: synced - operator.spawnedAt, toIdleMs: idle - operator.spawnedAt, writes: sumCounts(writes), detail: formatCounts(writes) };
}
