import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ReconcileResult } from "../kube/queue.ts";

export interface MetricsOptions {
  /** Read at every scrape, so the gauge never drifts from the store it describes. */
  tenantsByTier?: () => Record<string, number>;
  /** Keys waiting for a worker, by controller (each has a work queue of its own). */
  queueDepth?: () => Record<string, number>;
  /** Stack operations running or queued in the provisioner. */
  provisionerActive?: () => number;
  /** Tenants whose policy signals are stale or unavailable right now, by problem. */
  signalProblems?: () => Record<string, number>;
  /** Node process metrics (CPU, memory, event loop lag, GC); default true. */
  defaultMetrics?: boolean;
}

export type ReconcileOutcome = "success" | "requeue_after" | "error" | "terminal_error";
/** "success", or the kind of ProvisionError (ConcurrentUpdate, ProgramError, Timeout, Cancelled). */
export type ProvisionerResult = string;

export interface Metrics {
  /** Its own registry rather than prom-client's global one, so tests can create several. */
  registry: Registry;
  reconciles: Counter<"controller" | "result">;
  reconcileErrors: Counter<"controller">;
  reconcileDuration: Histogram<"controller">;
  moves: Counter<"from" | "to" | "outcome">;
  provisionerOperations: Counter<"operation" | "result">;
  provisionerDuration: Histogram<"operation">;
  /** 1 while this replica holds the leader Lease (or runs without leader election). */
  leader: Gauge;
  /** Records one reconcile: its outcome, error count and duration. Shaped for WorkQueue's onResult. */
  observeReconcile(controller: string, result: ReconcileResult, durationMs: number): void;
}

export const reconcileOutcome = (result: ReconcileResult): ReconcileOutcome =>
  // A requeue is a pass that succeeded and has more to do at once: a success, not a wait.
  result.kind === "done" || result.kind === "requeue" ? "success" : result.kind === "requeueAfter" ? "requeue_after" : result.terminal ? "terminal_error" : "error";

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const reconciles = new Counter({
    name: "landlord_reconcile_total",
    help: "Reconciles by controller and result (success, requeue_after, error, terminal_error).",
    labelNames: ["controller", "result"] as const,
    registers,
  });
  const reconcileErrors = new Counter({
    name: "landlord_reconcile_errors_total",
    help: "Reconciles that ended in an error, retried or terminal.",
    labelNames: ["controller"] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: "landlord_reconcile_duration_seconds",
    help: "Time spent in one reconcile.",
    labelNames: ["controller"] as const,
    // controller-runtime's buckets: reconciles are mostly milliseconds, with a long tail for API calls.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  // Registered for their collect callbacks only: nothing sets them between scrapes.
  new Gauge({
    name: "landlord_workqueue_depth",
    help: "Keys waiting for a worker, by controller.",
    labelNames: ["controller"] as const,
    registers,
    collect() {
      this.reset();
      for (const [controller, depth] of Object.entries(options.queueDepth?.() ?? {})) this.set({ controller }, depth);
    },
  });
  new Gauge({
    name: "landlord_tenants",
    help: "Tenants by current tier.",
    labelNames: ["tier"] as const,
    registers,
    collect() {
      // Reset first: a tier that emptied since the last scrape must not keep reporting its old count.
      this.reset();
      for (const [tier, count] of Object.entries(options.tenantsByTier?.() ?? {})) this.set({ tier }, count);
    },
  });
  new Gauge({
    name: "landlord_tenants_signal_problems",
    help: "Tenants whose policy signals are stale or unavailable (they cannot move by policy until fixed), by problem.",
    labelNames: ["problem"] as const,
    registers,
    collect() {
      this.reset();
      for (const [problem, count] of Object.entries(options.signalProblems?.() ?? {})) this.set({ problem }, count);
    },
  });
  const moves = new Counter({
    name: "landlord_moves_total",
    help: "Tenant moves between tiers by outcome.",
    labelNames: ["from", "to", "outcome"] as const,
    registers,
  });
  const provisionerOperations = new Counter({
    name: "landlord_provisioner_operations_total",
    help: "Provisioner stack operations (up, destroy) by result: success or the error kind (ConcurrentUpdate, ProgramError, Timeout, Cancelled).",
    labelNames: ["operation", "result"] as const,
    registers,
  });
  const provisionerDuration = new Histogram({
    name: "landlord_provisioner_operation_duration_seconds",
    help: "Duration of provisioner stack operations (a pulumi up of an RDS instance takes minutes; a plan, milliseconds).",
    labelNames: ["operation"] as const,
    buckets: [0.05, 0.5, 5, 30, 120, 300, 600, 1200, 2400, 3600],
    registers,
  });
  new Gauge({
    name: "landlord_provisioner_operations_active",
    help: "Provisioner stack operations running or waiting for a slot.",
    registers,
    collect() {
      this.set(options.provisionerActive?.() ?? 0);
    },
  });
  const leader = new Gauge({ name: "landlord_leader", help: "1 while this replica is the leader.", registers });

  return {
    registry,
    reconciles,
    reconcileErrors,
    reconcileDuration,
    moves,
    provisionerOperations,
    provisionerDuration,
    leader,
    observeReconcile(controller, result, durationMs) {
      reconciles.inc({ controller, result: reconcileOutcome(result) });
      if (result.kind === "error") reconcileErrors.inc({ controller });
      reconcileDuration.observe({ controller }, durationMs / 1000);
    },
  };
}
