/**
 * One watch on a collection, from "now" on: how the benchmark sees tenants become Ready and
 * decisions appear, at the moment any other watcher (the operator's informers) would. Polling a
 * list instead would load the API server in proportion to N and skew what is being measured.
 */
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { KubeClient, KubeObject } from "../../operator/src/kube/client.ts";

export type WatchEvent = "ADDED" | "MODIFIED" | "DELETED";

export interface Watcher {
  stop(): void;
}

export async function watchCollection(
  kubeConfig: KubeConfig,
  client: KubeClient,
  path: string,
  onEvent: (type: WatchEvent, object: KubeObject, atMs: number) => void,
): Promise<Watcher> {
  // A one-item list only for its resourceVersion: the watch starts after it, without replaying
  // every existing object as ADDED.
  const list = await client.request<{ metadata: { resourceVersion: string } }>({ method: "GET", path, query: { limit: 1 } });
  let resourceVersion = list.metadata.resourceVersion;
  let stopped = false;
  let controller: AbortController | undefined;
  const watch = new Watch(kubeConfig);

  const start = async (): Promise<void> => {
    controller = await watch.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true },
      (type: string, object: KubeObject) => {
        const at = performance.now();
        if (object?.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") onEvent(type, object, at);
      },
      (error: unknown) => {
        if (stopped) return;
        // The API server ends watches after a while; carry on from the last version seen.
        if (error) process.stderr.write(`bench: watch on ${path} ended (${String(error)}); restarting\n`);
        setTimeout(() => void start().catch((e: unknown) => process.stderr.write(`bench: watch restart failed: ${String(e)}\n`)), 100);
      },
    );
  };
  await start();
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

interface Condition {
  type: string;
  status: string;
}
export interface TenantView {
  metadata: { name: string };
  spec?: { reportedSignals?: Record<string, number> };
  status?: { tier?: string; phase?: string; conditions?: Condition[] };
}

/** Served from `tier`, phase Active and the Ready condition True: what "Ready" means in every scenario. */
export function readyIn(tenant: TenantView, tier: string): boolean {
  const status = tenant.status;
  return status?.tier === tier && status.phase === "Active" && status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/**
 * Resolves with the time (performance.now()) at which every name in `names` was first seen Ready
 * in `tier`; `firstReady` has each one's own time.
 */
export function readyTracker(names: Iterable<string>, tier: string): { onEvent: (type: WatchEvent, object: KubeObject, atMs: number) => void; done: Promise<number>; firstReady: Map<string, number>; pending: () => number } {
  const waiting = new Set(names);
  const firstReady = new Map<string, number>();
  let resolveDone: (at: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));
  if (waiting.size === 0) resolveDone(performance.now());
  return {
    firstReady,
    done,
    pending: () => waiting.size,
    onEvent(type, object, at) {
      const name = object.metadata.name;
      if (type === "DELETED" || !waiting.has(name) || !readyIn(object as TenantView, tier)) return;
      waiting.delete(name);
      firstReady.set(name, at);
      if (waiting.size === 0) resolveDone(at);
    },
  };
}
