/**
 * What every cluster scenario applies: one TenantPool, one PlacementPolicy and N pooled tenants.
 *
 * The policy is examples/policy-default.yaml with stabilization 0 and rate limits out of the way
 * (the moves scenario moves 100 tenants at once and asks how fast, not how paced). Its
 * `requestsPerDay` share rule is kept so every evaluation computes its pool's totals, the cost that
 * grows with N; the tenants report revenue and `hipaa` but not requestsPerDay: a share measured
 * while the pool is still filling would promote the first arrivals (1 of 3 tenants is 33% of the
 * requests), which is the share rule working, not something to benchmark. So each tenant carries
 * SignalsUnavailable for requestsPerDay, and stays pooled because its revenue is below $14k.
 */
import { API_VERSION } from "../../operator/src/api/v1alpha1/index.ts";
import type { KubeClient, KubeObject } from "../../operator/src/kube/client.ts";

export const POOL = "bench";
export const POLICY = "bench";
/** Applied with this field manager, the way a user's `kubectl apply --server-side` would. */
export const USER_MANAGER = "bench";
/** Reported signals are patched by this one, the way a billing system would. */
export const BILLING_MANAGER = "billing";
/** In flight at once while the "user" applies the N tenants (both for the operator and the floor). */
export const APPLY_CONCURRENCY = 16;

export const tenantName = (i: number): string => `t-${String(i).padStart(5, "0")}`;

export function poolObject(): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: "TenantPool",
    metadata: { name: POOL },
    spec: { namespacePrefix: POOL, capacity: { maxTenants: 200, cpu: "64", memory: "256Gi" } },
  };
}

export function policyObject(): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: "PlacementPolicy",
    metadata: { name: POLICY },
    spec: {
      signals: [
        { name: "monthlyRevenueUSD", source: { reported: {} } },
        { name: "hipaa", source: { reported: {} } },
        { name: "requestsPerDay", source: { reported: {} } },
        { name: "cpuCores", source: { kubernetes: { resource: "requests.cpu" } } },
      ],
      tiers: [
        {
          tier: "namespace",
          promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", share: true, gte: 0.05 }] },
          demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }, { signal: "requestsPerDay", share: true, lt: 0.03 }] },
          quota: { cpu: "4", memory: "8Gi", storage: "50Gi", pods: 50 },
        },
        {
          tier: "database",
          promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] },
          demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 35000 }] },
          database: { engine: "postgres", engineVersion: "16.4", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 },
        },
        {
          tier: "account",
          promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 250000 }, { signal: "hipaa", gte: 1 }] },
          database: { engine: "postgres", engineVersion: "16.4", instanceClass: "db.m7g.large", allocatedStorageGB: 200 },
          account: { organizationalUnitId: "ou-ab12-cdef3456", emailTemplate: "aws+{{tenantId}}@example.com" },
        },
      ],
      stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
      approval: { promotion: "Automatic", demotion: "Manual" },
      rateLimit: { maxConcurrentMoves: 1000, maxMovesPerHour: 10000 },
      maxSignalAge: "48h",
    },
  };
}

export function tenantObject(i: number): KubeObject {
  const name = tenantName(i);
  return {
    apiVersion: API_VERSION,
    kind: "TenantPlacement",
    metadata: { name },
    spec: {
      tenantId: name,
      displayName: `Bench tenant ${i}`,
      costCenter: `cc-${1000 + (i % 97)}`,
      tags: { team: `team-${i % 13}` },
      pool: POOL,
      policyRef: POLICY,
      // $1,000–$13,999: pooled, and below every demotion threshold of the namespace tier too.
      reportedSignals: { monthlyRevenueUSD: 1000 + ((i * 7919) % 13000), hipaa: 0 },
    },
  };
}

/** Server-side apply as `manager`, the way `kubectl apply --server-side` does. */
export function apply(client: KubeClient, path: string, object: KubeObject, manager = USER_MANAGER): Promise<KubeObject> {
  return client.request<KubeObject>({ method: "PATCH", path, query: { fieldManager: manager, force: true }, body: object, contentType: "application/apply-patch+yaml" });
}

export const tenantPath = (name: string): string => `/apis/landlord.dev/v1alpha1/tenantplacements/${name}`;
export const TENANTS_PATH = "/apis/landlord.dev/v1alpha1/tenantplacements";
export const DECISIONS_PATH = "/apis/landlord.dev/v1alpha1/placementdecisions";

export async function applySetup(client: KubeClient): Promise<void> {
  await apply(client, "/apis/landlord.dev/v1alpha1/placementpolicies/bench", policyObject());
  await apply(client, "/apis/landlord.dev/v1alpha1/tenantpools/bench", poolObject());
}
