/**
 * One side of the store's churn figure (store.ts runs it as a child, so each side starts from a
 * clean heap): `node --expose-gc --import tsx test/bench/storeChurn.ts <cycles> <ttl ms | forever> [store module]`.
 * Creates and deletes `cycles` migration-Job-sized objects through the ObjectStore, one a second
 * on a simulated clock, and prints JSON: RSS and V8 heap after a full collection, before and after,
 * and the tombstones left.
 */
import { pathToFileURL } from "node:url";
import type { KubeObject } from "../../operator/src/kube/client.ts";
import type { StoreOptions } from "../../operator/src/kube/store.ts";

const [cyclesArg = "10000", ttlArg = "default", storeModule = "../../operator/src/kube/store.ts"] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("storeChurn.ts needs node --expose-gc");

interface StoreLike {
  upsert(kind: "Job", object: KubeObject): void;
  remove(kind: "Job", object: KubeObject): void;
  tombstoneCount?(): number;
}
const imported = (await import(storeModule.startsWith(".") ? new URL(storeModule, import.meta.url).href : pathToFileURL(storeModule).href)) as {
  ObjectStore: new (options?: StoreOptions) => StoreLike;
};

let now = Date.UTC(2026, 0, 1);
const store = new imported.ObjectStore({ clock: { now: () => now }, ...(ttlArg === "forever" ? { tombstoneTtlMs: Number.POSITIVE_INFINITY } : {}) });

/** About what a migration Job looks like in the cache (managedFields already trimmed by the store). */
function job(i: number, resourceVersion: number): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: `landlord-migrate-${i.toString(16).padStart(20, "0")}`,
      namespace: `tenant-bench-${i % 500}`,
      uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
      resourceVersion: String(resourceVersion),
      labels: { "landlord.dev/tenant": `bench-${i % 500}`, "landlord.dev/managed-by": "landlord", "landlord.dev/decision": `bench-${i}` },
      annotations: { "landlord.dev/owner-uid": `owner-${i % 500}` },
    },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "example.com/migrate:1", args: [`--tenant=bench-${i % 500}`] }] } } },
  };
}

const measure = (): { rssMiB: number; heapMiB: number } => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20 };
};

const cycles = Number(cyclesArg);
// Warm up: the same churn through a store that is then dropped, so the heap has grown its spaces
// for this work before the baseline (otherwise RSS grows by them on either side, retained or not).
(function warmUp(): void {
  const warm = new imported.ObjectStore({ clock: { now: () => now }, tombstoneTtlMs: 0 });
  for (let i = 0; i < Number(cyclesArg); i++) {
    warm.upsert("Job", job(i, 2 * i + 1));
    warm.remove("Job", job(i, 2 * i + 2));
  }
})();
const before = measure();
let version = 1_000;
for (let i = 0; i < cycles; i++) {
  store.upsert("Job", job(i, ++version));
  store.remove("Job", job(i, ++version));
  now += 1_000;
}
const after = measure();
process.stdout.write(`${JSON.stringify({ cycles, ttl: ttlArg, before, after, tombstones: store.tombstoneCount?.() })}\n`);
