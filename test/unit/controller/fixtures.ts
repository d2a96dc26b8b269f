import { placementPolicySpec, tenantPlacementSpec, tenantPoolSpec } from "../../../operator/src/api/v1alpha1/index.ts";
import type { TenantPlacementStatus } from "../../../operator/src/api/v1alpha1/index.ts";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import type { ReconcileResult } from "../../../operator/src/kube/queue.ts";
import { reconcilePool } from "../../../operator/src/controller/tenantPool.ts";
import { reconcileTenant, type TenantObject } from "../../../operator/src/controller/tenantPlacement.ts";
import type { MemoryCluster } from "./memoryCluster.ts";

const API_VERSION = "landlord.dev/v1alpha1";

/** The pool, policy and tenants of the reconciler unit tests; each spec is checked against its schema. */
export const poolObject = (capacity = 200): KubeObject => ({
  apiVersion: API_VERSION,
  kind: "TenantPool",
  metadata: { name: "standard" },
  spec: tenantPoolSpec.parse({ namespacePrefix: "pool-standard", capacity: { maxTenants: capacity, cpu: "64", memory: "256Gi" }, tenantDefaults: {} }),
});

export const policyObject = (): KubeObject => ({
  apiVersion: API_VERSION,
  kind: "PlacementPolicy",
  metadata: { name: "default" },
  spec: placementPolicySpec.parse({
    signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
    tiers: [
      { tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }] }, quota: { cpu: "4", memory: "8Gi", storage: "50Gi", pods: 50 } },
      {
        tier: "database",
        promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] },
        database: { engine: "postgres", engineVersion: "16.4", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 },
      },
    ],
  }),
});

type TierSettings = { mode?: "Auto" | "Pinned"; pinned?: string; floor?: string; ceiling?: string };

export const tenantObject = (name: string, spec: { tier?: TierSettings; admins?: unknown[]; costCenter?: unknown; quota?: Record<string, string> } = {}): KubeObject => ({
  apiVersion: API_VERSION,
  kind: "TenantPlacement",
  metadata: { name },
  spec: { tenantId: name, costCenter: "cc-1234", ...spec },
});

/** Asserts the fixture is a valid spec, so a test never passes on a tenant the reconciler would refuse. */
export function validTenant(name: string, spec: Parameters<typeof tenantObject>[1] = {}): KubeObject {
  const object = tenantObject(name, spec);
  tenantPlacementSpec.parse(object.spec);
  return object;
}

export const tenantOf = (cluster: MemoryCluster, name: string): TenantObject => {
  const tenant = cluster.store.get<TenantObject>("TenantPlacement", name);
  if (!tenant) throw new Error(`TenantPlacement ${name} is not in the store`);
  return tenant;
};

export const statusOf = (cluster: MemoryCluster, name: string): TenantPlacementStatus => tenantOf(cluster, name).status ?? {};

export const conditionOf = (cluster: MemoryCluster, name: string, type: string) => statusOf(cluster, name).conditions?.find((c) => c.type === type);

/** Runs the reconcile a queue key names. */
export function reconcileKey(cluster: MemoryCluster, key: string): Promise<ReconcileResult> {
  const [kind, name] = key.split("/") as [string, string];
  return kind === "tenant" ? reconcileTenant(cluster.ctx, name) : reconcilePool(cluster.ctx, name);
}

/**
 * Plays the work queue: reconciles `first`, then whatever the reconciles enqueued or requeued, until nothing is
 * left (bounded, so a reconcile that keeps waking itself fails the test instead of hanging it).
 */
export async function converge(cluster: MemoryCluster, first: string[], rounds = 20): Promise<void> {
  const queue = [...first];
  for (let i = 0; i < rounds && queue.length > 0; i++) {
    const key = queue.shift() as string;
    cluster.enqueued.length = 0;
    const result = await reconcileKey(cluster, key);
    // A requeue comes back behind what is queued, as the work queue's back lane does.
    for (const next of [...cluster.enqueued, ...(result.kind === "requeue" ? [key] : [])]) if (!queue.includes(next)) queue.push(next);
  }
  cluster.enqueued.length = 0;
  if (queue.length > 0) throw new Error(`still queued after ${rounds} reconciles: ${queue.join(", ")}`);
}
