import type { Logger } from "pino";
import type { PlacementPolicySpec } from "../api/v1alpha1/index.ts";
import { parseDuration } from "../config.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ObjectStore } from "../kube/store.ts";
import type { SignalReading } from "./engine.ts";
import { renderQuery, type PrometheusClient } from "./prometheus.ts";

export interface PrometheusSignals {
  /** The reading of the last evaluation, if one ran; reconciles read only this cache. */
  reading(tenantId: string, signal: string): SignalReading | undefined;
  start(): void;
  stop(): void;
}

type PolicyObject = KubeObject & { spec?: PlacementPolicySpec };
type TenantObject = KubeObject & { spec?: { policyRef?: string } };

const TICK_MS = 1_000;
const DEFAULT_INTERVAL_MS = 5 * 60_000;

/**
 * Evaluates every policy's Prometheus signals for its tenants once per evaluationInterval, with
 * bounded concurrency, and caches the results: a reconcile never waits on Prometheus, and one
 * evaluation's values are used consistently (including for pool totals). Tenants whose readings
 * changed are woken.
 */
export function createPrometheusSignals(options: {
  client: PrometheusClient | undefined;
  store: ObjectStore;
  log: Logger;
  enqueue: (tenantId: string) => void;
  now?: () => number;
  concurrency?: number;
}): PrometheusSignals {
  const now = options.now ?? Date.now;
  const cache = new Map<string, SignalReading>();
  const lastRun = new Map<string, number>();
  const running = new Set<string>();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;

  const key = (tenantId: string, signal: string): string => `${tenantId}\u0000${signal}`;

  async function evaluatePolicy(policyName: string, spec: PlacementPolicySpec): Promise<void> {
    const signals = (spec.signals ?? []).filter((s) => s.source.prometheus);
    const tenants = options.store.list<TenantObject>("TenantPlacement").filter((t) => (t.spec?.policyRef ?? "default") === policyName);
    const jobs = tenants.flatMap((t) => signals.map((s) => ({ tenantId: t.metadata.name, signal: s.name, query: s.source.prometheus?.query ?? "" })));
    const changed = new Set<string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length && !abort.signal.aborted) {
        const job = jobs[next++];
        if (!job) break;
        let reading: SignalReading;
        if (!options.client) {
          reading = { problem: "Unavailable", message: "no Prometheus is configured: start the operator with --prometheus-url" };
        } else {
          try {
            const sample = await options.client.query(renderQuery(job.query, { tenantId: job.tenantId }), { signal: abort.signal });
            reading = sample ? { value: sample.value, observedAt: sample.at } : { problem: "Unavailable", message: `the ${job.signal} query returned no data for ${job.tenantId}` };
          } catch (error) {
            reading = { problem: "Unavailable", message: `the ${job.signal} query failed: ${error instanceof Error ? error.message : String(error)}` };
          }
        }
        const k = key(job.tenantId, job.signal);
        if (JSON.stringify(cache.get(k)) !== JSON.stringify(reading)) changed.add(job.tenantId);
        cache.set(k, reading);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, Math.max(jobs.length, 1)) }, worker));
    for (const tenantId of changed) options.enqueue(tenantId);
    options.log.debug({ policy: policyName, queries: jobs.length, changed: changed.size }, "Evaluated Prometheus signals");
  }

  function tick(): void {
    for (const policy of options.store.list<PolicyObject>("PlacementPolicy")) {
      const spec = policy.spec;
      const name = policy.metadata.name;
      if (!spec?.signals?.some((s) => s.source.prometheus) || running.has(name)) continue;
      let interval = DEFAULT_INTERVAL_MS;
      try {
        interval = parseDuration(spec.evaluationInterval ?? "5m");
      } catch {
        // The API server validates durations; an object that bypassed validation keeps the default.
      }
      if (now() - (lastRun.get(name) ?? -Infinity) < interval) continue;
      lastRun.set(name, now());
      running.add(name);
      evaluatePolicy(name, spec)
        .catch((error: unknown) => options.log.warn({ policy: name, err: String(error) }, "Prometheus evaluation failed"))
        .finally(() => running.delete(name));
    }
  }

  return {
    reading: (tenantId, signal) => cache.get(key(tenantId, signal)),
    start() {
      tick();
      timer = setInterval(tick, TICK_MS);
    },
    stop() {
      if (timer) clearInterval(timer);
      abort.abort();
    },
  };
}
