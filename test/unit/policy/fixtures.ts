import { placementPolicySpec, type PlacementPolicySpec, type Tier } from "../../../operator/src/api/v1alpha1/index.ts";
import type { EngineInput, SignalReading } from "../../../operator/src/policy/engine.ts";

export const HOUR = 3_600_000;
export const NOW = Date.parse("2025-06-01T00:00:00.000Z");
export const iso = (ms: number): string => new Date(ms).toISOString();

const DATABASE = { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 } as const;
const ACCOUNT = { organizationalUnitId: "ou-ab12-cdef3456", emailTemplate: "aws+{{tenantId}}@example.com" };

/**
 * The design's example policy (examples/policy-default.yaml's thresholds, with a Prometheus
 * request signal and without hipaa), parsed through the real schema (so defaults apply), with every
 * window 0 and both approvals Automatic: tests opt into hysteresis and approval explicitly.
 */
export function policy(overrides: Record<string, unknown> = {}): PlacementPolicySpec {
  return placementPolicySpec.parse({
    signals: [
      { name: "monthlyRevenueUSD", source: { reported: {} } },
      { name: "requestsPerDay", source: { prometheus: { query: 'sum(increase(http_requests_total{tenant="{{tenantId}}"}[1d]))' } } },
      { name: "cpuCores", source: { kubernetes: { resource: "requests.cpu" } } },
    ],
    tiers: [
      {
        tier: "namespace",
        promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }, { signal: "requestsPerDay", share: true, gte: 0.05 }] },
        demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }] },
      },
      {
        tier: "database",
        promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] },
        demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 35000 }] },
        database: DATABASE,
      },
      { tier: "account", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 250000 }] }, account: ACCOUNT },
    ],
    stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
    approval: { promotion: "Automatic", demotion: "Automatic" },
    maxSignalAge: "48h",
    ...overrides,
  });
}

export const tierSettings = { database: DATABASE, account: ACCOUNT };

export const fresh = (value: number, ageMs = 0): SignalReading => ({ value, observedAt: NOW - ageMs });

export interface TenantOptions {
  served?: Tier | undefined;
  mode?: "Auto" | "Pinned";
  pinned?: Tier;
  floor?: Tier;
  ceiling?: Tier;
  approval?: string;
  previous?: { tier: Tier; since: number | string; reason?: string };
  lastMoveAt?: number;
  revenue?: number;
  signals?: Record<string, SignalReading>;
  poolTotals?: Record<string, number>;
  now?: number;
  policy?: PlacementPolicySpec | undefined;
}

/** One tenant's engine input: acme, served pooled, revenue 1000, 0.01% of its pool's requests, unless told otherwise. */
export function input(options: TenantOptions = {}): EngineInput {
  const signals: Record<string, SignalReading> = { monthlyRevenueUSD: fresh(options.revenue ?? 1000), requestsPerDay: fresh(100), ...options.signals };
  const previous = options.previous;
  return {
    now: options.now ?? NOW,
    policy: "policy" in options ? options.policy : policy(),
    tenant: {
      tenantId: "acme",
      tier: {
        mode: options.mode ?? "Auto",
        ...(options.pinned ? { pinned: options.pinned } : {}),
        floor: options.floor ?? "pooled",
        ceiling: options.ceiling ?? "account",
      },
      served: "served" in options ? options.served : "pooled",
      ...(options.approval !== undefined ? { approval: options.approval } : {}),
      ...(previous
        ? {
            previousRecommendation: {
              tier: previous.tier,
              reason: previous.reason ?? "earlier",
              since: typeof previous.since === "number" ? iso(previous.since) : previous.since,
            },
          }
        : {}),
      ...(options.lastMoveAt !== undefined ? { lastMoveAt: options.lastMoveAt } : {}),
    },
    signals,
    ...("poolTotals" in options ? (options.poolTotals ? { poolTotals: options.poolTotals } : {}) : { poolTotals: { requestsPerDay: 1_000_000 } }),
  };
}
