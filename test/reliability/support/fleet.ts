import { ApiError } from "../../../operator/src/kube/client.ts";
import { sleep, takeSnapshot, tierReason, type Api, type Snapshot, type TenantJson } from "./api.ts";
import { checkAlways, checkConverged, type Scope, type Violation } from "./invariants.ts";

/**
 * A run's tenants, their pool and policy, and what each was asked to be: the moving parts the
 * fault tests share. Tenants are Pinned, so every move is a re-pin the test chooses; the policy only
 * supplies the database tier's settings (the plan provisioner records the stack).
 */

export const FLEET_TIERS = ["pooled", "namespace", "database"] as const;
export const POOL_CAPACITY = { maxTenants: 40, cpu: "100", memory: "400Gi" };

export interface CheckStats {
  snapshots: number;
  checks: number;
  violations: Violation[];
}

export interface Checker {
  stats: CheckStats;
  /** The newest snapshot judged, if any since the last invalidate(). */
  latest(): Snapshot | undefined;
  invalidate(): void;
  stop(): Promise<CheckStats>;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

export class Fleet {
  readonly prefix: string;
  readonly pool: string;
  readonly policy: string;
  readonly names: string[];
  readonly requested = new Map<string, string[]>();
  readonly scope: Scope;

  constructor(
    private readonly api: Api,
    readonly run: string,
    tenants: number,
  ) {
    this.prefix = `${run}-`;
    this.pool = `${run}-pool`;
    this.policy = `${run}-policy`;
    this.names = Array.from({ length: tenants }, (_, i) => `${run}-t${i}`);
    this.scope = { owns: (id) => id.startsWith(this.prefix), requested: this.requested, pool: this.pool };
  }

  /** Applies the pool, the policy and every tenant, pinned to `initialTier(name)`. */
  async create(initialTier: (name: string, index: number) => string): Promise<void> {
    await this.api.apply({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPool",
      metadata: { name: this.pool },
      spec: { namespacePrefix: `${this.run}-s`, capacity: POOL_CAPACITY },
    });
    await this.api.apply({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "PlacementPolicy",
      metadata: { name: this.policy },
      spec: {
        signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
        tiers: [
          { tier: "namespace", quota: { cpu: "2", memory: "4Gi", storage: "20Gi", pods: 20 } },
          { tier: "database", database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 20 } },
        ],
        rateLimit: { maxConcurrentMoves: 1000, maxMovesPerHour: 10000 },
      },
    });
    const manifests = this.names.map((name, i) => {
      const tier = initialTier(name, i);
      this.requested.set(name, [tier]);
      return {
        apiVersion: "landlord.dev/v1alpha1",
        kind: "TenantPlacement",
        metadata: { name, annotations: tierReason(`reliability run ${this.run}: starts ${tier}`) },
        spec: { tenantId: name, costCenter: "cc-reliability", pool: this.pool, policyRef: this.policy, tags: { suite: "reliability" }, tier: { mode: "Pinned", pinned: tier } },
      };
    });
    await inBatches(manifests, 16, (manifest) => this.api.apply(manifest));
  }

  /** Re-pins a tenant; the move is counted before the patch, so no decision can precede its request. */
  async repin(name: string, tier: string): Promise<boolean> {
    const history = this.requested.get(name);
    if (!history) throw new Error(`${name} is not a tenant of run ${this.run}`);
    history.push(tier);
    try {
      await this.api.merge("TenantPlacement", name, { metadata: { annotations: tierReason(`reliability run ${this.run}: re-pin to ${tier}`) }, spec: { tier: { mode: "Pinned", pinned: tier } } });
      return true;
    } catch (error) {
      history.pop();
      // A refusal (admission, validation, RBAC) is the test's own mistake and would only show up
      // later as moves that never happened: fail here. A server away (restart, kill) is the fault under test.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && ![404, 409, 429].includes(error.status)) throw error;
      return false;
    }
  }

  /** Tenants served where they were last asked to be, with the latest spec seen and no move open. */
  settled(snapshot: Snapshot): TenantJson[] {
    const open = new Set(snapshot.decisions.filter((d) => !d.status?.outcome).map((d) => d.spec.tenant));
    return snapshot.tenants.filter((tenant) => {
      const status = tenant.status;
      const want = this.requested.get(tenant.metadata.name)?.at(-1);
      return (
        want !== undefined &&
        status?.tier === want &&
        status.targetTier === undefined &&
        status.phase === "Active" &&
        status.observedGeneration === tenant.metadata.generation &&
        !open.has(tenant.metadata.name)
      );
    });
  }

  /**
   * Judges snapshot after snapshot against the invariants until stopped. A failed read (the API
   * server is down in one test) is retried, not counted: there is nothing to judge.
   */
  startChecker(options: { everyMs?: number; onViolation?: (v: Violation) => void } = {}): Checker {
    const stats: CheckStats = { snapshots: 0, checks: 0, violations: [] };
    let latest: Snapshot | undefined;
    let running = true;
    const loop = (async () => {
      while (running) {
        let snapshot: Snapshot;
        try {
          snapshot = await takeSnapshot(this.api);
        } catch {
          await sleep(250);
          continue;
        }
        const result = checkAlways(snapshot, this.scope);
        stats.snapshots++;
        stats.checks += result.checks;
        for (const v of result.violations) {
          stats.violations.push(v);
          options.onViolation?.(v);
        }
        latest = snapshot;
        await sleep(options.everyMs ?? 100);
      }
    })();
    return {
      stats,
      latest: () => latest,
      invalidate: () => (latest = undefined),
      async stop() {
        running = false;
        await loop;
        return stats;
      },
    };
  }

  /**
   * Waits until every tenant has converged (checkConverged and checkAlways both clean). Returns the
   * checks of the converged snapshot, or the problems still open at the deadline.
   */
  async waitConverged(timeoutMs: number, healthy?: () => void): Promise<{ converged: boolean; checks: number; pending: Violation[] }> {
    const deadline = Date.now() + timeoutMs;
    let pending: Violation[] = [];
    while (Date.now() < deadline) {
      healthy?.();
      let snapshot: Snapshot;
      try {
        snapshot = await takeSnapshot(this.api);
      } catch {
        await sleep(500);
        continue;
      }
      const converged = checkConverged(snapshot, this.scope, POOL_CAPACITY);
      pending = [...checkAlways(snapshot, this.scope).violations, ...converged.violations];
      if (pending.length === 0) return { converged: true, checks: converged.checks, pending };
      await sleep(500);
    }
    return { converged: false, checks: 0, pending };
  }

  /** Deletes the tenants while an operator still runs (it holds their finalizers), then pool and policy. */
  async cleanup(log: (line: string) => void = () => undefined, timeoutMs = 120_000): Promise<void> {
    await inBatches(this.names, 16, (name) => this.api.resources.delete("TenantPlacement", name));
    const own = new Set(this.names);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = (await this.api.list("TenantPlacement")).filter((t) => own.has(t.metadata.name)).length;
      if (left === 0) break;
      if (Date.now() > deadline) {
        log(`cleanup of ${this.run}: ${left} tenant(s) still present after ${timeoutMs / 1000}s`);
        break;
      }
      await sleep(500);
    }
    await this.api.resources.delete("TenantPool", this.pool);
    await this.api.resources.delete("PlacementPolicy", this.policy);
  }
}
