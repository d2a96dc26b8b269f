import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../operator/src/metrics/metrics.ts";

async function sample(text: Promise<string>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of (await text).split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? "").split(",").filter(Boolean);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

describe("metrics", () => {
  it("counts reconciles by controller and result, errors, and durations in seconds", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeReconcile("tenant", { kind: "done" }, 20);
    metrics.observeReconcile("tenant", { kind: "done" }, 30);
    metrics.observeReconcile("tenant", { kind: "requeueAfter", ms: 1000 }, 5);
    metrics.observeReconcile("tenant", { kind: "error", error: new Error("x") }, 5);
    metrics.observeReconcile("pool", { kind: "error", error: new Error("x"), terminal: true }, 2000);
    const text = () => metrics.registry.metrics();
    expect(await sample(text(), "landlord_reconcile_total", { controller: "tenant", result: "success" })).toBe(2);
    expect(await sample(text(), "landlord_reconcile_total", { controller: "tenant", result: "requeue_after" })).toBe(1);
    expect(await sample(text(), "landlord_reconcile_total", { controller: "tenant", result: "error" })).toBe(1);
    expect(await sample(text(), "landlord_reconcile_total", { controller: "pool", result: "terminal_error" })).toBe(1);
    expect(await sample(text(), "landlord_reconcile_errors_total", { controller: "tenant" })).toBe(1);
    expect(await sample(text(), "landlord_reconcile_errors_total", { controller: "pool" })).toBe(1);
    expect(await sample(text(), "landlord_reconcile_duration_seconds_count", { controller: "tenant" })).toBe(4);
    expect(await sample(text(), "landlord_reconcile_duration_seconds_sum", { controller: "tenant" })).toBeCloseTo(0.06);
    expect(await sample(text(), "landlord_reconcile_duration_seconds_bucket", { controller: "pool", le: "1" })).toBe(0);
    expect(await sample(text(), "landlord_reconcile_duration_seconds_bucket", { controller: "pool", le: "2.5" })).toBe(1);
  });

  it("reads queue depth and tenants by tier at scrape time, dropping tiers that emptied", async () => {
    let depth: Record<string, number> = { tenant: 3, pool: 1 };
    let tiers: Record<string, number> = { pooled: 10, dedicated: 2 };
    const metrics = createMetrics({ defaultMetrics: false, queueDepth: () => depth, tenantsByTier: () => tiers });
    expect(await sample(metrics.registry.metrics(), "landlord_workqueue_depth", { controller: "tenant" })).toBe(3);
    expect(await sample(metrics.registry.metrics(), "landlord_workqueue_depth", { controller: "pool" })).toBe(1);
    expect(await sample(metrics.registry.metrics(), "landlord_tenants", { tier: "pooled" })).toBe(10);
    depth = { tenant: 0, pool: 0 };
    tiers = { pooled: 11 };
    const text = metrics.registry.metrics();
    expect(await sample(text, "landlord_workqueue_depth", { controller: "tenant" })).toBe(0);
    expect(await sample(text, "landlord_tenants", { tier: "pooled" })).toBe(11);
    expect(await sample(text, "landlord_tenants", { tier: "dedicated" })).toBeUndefined();
  });

  it("counts moves and provisioner operations, and reports leadership", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.moves.inc({ from: "pooled", to: "dedicated", outcome: "succeeded" });
    metrics.provisionerOperations.inc({ operation: "up", result: "error" });
    metrics.leader.set(1);
    const text = () => metrics.registry.metrics();
    expect(await sample(text(), "landlord_moves_total", { from: "pooled", to: "dedicated", outcome: "succeeded" })).toBe(1);
    expect(await sample(text(), "landlord_provisioner_operations_total", { operation: "up", result: "error" })).toBe(1);
    expect(await sample(text(), "landlord_leader")).toBe(1);
  });

  it("keeps registries apart and includes Node process metrics by default", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.leader.set(1);
    expect(await sample(b.registry.metrics(), "landlord_leader")).toBe(0);
    const text = await a.registry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toContain("# HELP landlord_reconcile_total");
  });
});
