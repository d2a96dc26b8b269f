/**
 * `npm run bench`: prints one table of figures and writes the same as JSON under bench/results/.
 * Figures, never pass/fail: timing assertions flake on a noisy 2-core machine.
 *
 * Scenarios so far:
 *  - zod validation of TenantPlacement specs, the cost paid at every boundary;
 *  - the pure pool placer over 100,000 arrivals;
 *  - control-plane start with cached binaries (landlord local up);
 *  - the API server's floor for TenantPlacement writes: N server-side applies at a fixed
 *    concurrency, the reference the operator's convergence is measured against;
 *  - operator convergence: N pooled tenants applied at once until every one is Ready;
 *  - idle: the operator's write requests over 30 s after convergence, from the API server's metrics;
 *  - operator memory after convergence.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as k8s from "@kubernetes/client-node";
import { tenantPlacementSpec } from "../../operator/src/api/v1alpha1/index.ts";
import { pino } from "pino";
import { parseConfig } from "../../operator/src/config.ts";
import { startOperator } from "../../operator/src/controller/manager.ts";
import { createKubeClient } from "../../operator/src/kube/client.ts";
import { placeTenants } from "../../operator/src/placement/placer.ts";
import { countWrites } from "../apiserverWrites.ts";
import { benchEngine } from "./engine.ts";
import { localDown, localUp } from "../../operator/src/local/controlPlane.ts";
import { installCrds } from "../../operator/src/local/kubectl.ts";
import { crdsDir, projectRoot } from "../../operator/src/local/paths.ts";

interface Figure {
  scenario: string;
  n: number;
  figure: string;
  value: number;
  unit: string;
}

const figures: Figure[] = [];
const record = (figure: Figure): void => void figures.push(figure);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

function tenantSpec(i: number): { tenantId: string; costCenter: string; reportedSignals: Record<string, number> } {
  return { tenantId: `bench-${i}`, costCenter: `cc-${i % 97}`, reportedSignals: { monthlyRevenueUSD: (i * 7919) % 300_000 } };
}

async function applyFloor(kc: k8s.KubeConfig, n: number, concurrency: number): Promise<void> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const latencies: number[] = [];
  const ids = Array.from({ length: n }, (_, i) => i);
  const started = performance.now();
  await inParallel(ids, concurrency, async (i) => {
    const body = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: `bench-${i}` }, spec: tenantSpec(i) };
    const t0 = performance.now();
    await api.patchClusterCustomObject(
      { group: "landlord.dev", version: "v1alpha1", plural: "tenantplacements", name: `bench-${i}`, body, fieldManager: "bench", force: true },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
    );
    latencies.push(performance.now() - t0);
  });
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const scenario = `apply TenantPlacements (concurrency ${concurrency})`;
  record({ scenario, n, figure: "throughput", value: Math.round((n / elapsed) * 1000), unit: "objects/s" });
  record({ scenario, n, figure: "p50 latency", value: Number(percentile(latencies, 50).toFixed(1)), unit: "ms" });
  record({ scenario, n, figure: "p99 latency", value: Number(percentile(latencies, 99).toFixed(1)), unit: "ms" });
}

function validationThroughput(n: number): void {
  const specs = Array.from({ length: n }, (_, i) => tenantSpec(i));
  const started = performance.now();
  for (const spec of specs) tenantPlacementSpec.parse(spec);
  const elapsed = performance.now() - started;
  record({ scenario: "zod-validate TenantPlacement specs", n, figure: "total", value: Number(elapsed.toFixed(1)), unit: "ms" });
}

function placerThroughput(n: number): void {
  const arrivals = Array.from({ length: n }, (_, i) => ({ tenantId: `t-${i}`, quota: { cpu: "250m", memory: "512Mi" } }));
  const started = performance.now();
  const result = placeTenants({ prefix: "pool", capacity: { maxTenants: 200, cpu: "64", memory: "256Gi" }, shards: [], arrivals, departures: [] });
  const elapsed = performance.now() - started;
  record({ scenario: `placer: seat arrivals into shards of 200 (${result.shards.length} shards)`, n, figure: "total", value: Number(elapsed.toFixed(1)), unit: "ms" });
}

async function operatorConvergence(kc: k8s.KubeConfig, kubeconfigPath: string, n: number): Promise<void> {
  const client = createKubeClient(kc);
  const pool = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: "bench" }, spec: { namespacePrefix: "bench", capacity: { maxTenants: 200, cpu: "64", memory: "256Gi" } } };
  await client.request({ method: "PATCH", path: "/apis/landlord.dev/v1alpha1/tenantpools/bench", query: { fieldManager: "bench", force: true }, body: pool, contentType: "application/apply-patch+yaml" });
  const parsed = parseConfig(["--kubeconfig", kubeconfigPath, "--metrics-port", "0", "--health-port", "0", "--bind-address", "127.0.0.1", "--log-level", "warn"], {});
  if (!parsed.ok) throw new Error(parsed.error);
  const operator = await startOperator(parsed.config, pino({ level: "warn" }));
  try {
    const started = performance.now();
    await inParallel(Array.from({ length: n }, (_, i) => i), 16, async (i) => {
      const name = `conv-${i}`;
      const body = { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name }, spec: { tenantId: name, costCenter: "cc-bench", pool: "bench" } };
      await client.request({ method: "PATCH", path: `/apis/landlord.dev/v1alpha1/tenantplacements/${name}`, query: { fieldManager: "bench", force: true }, body, contentType: "application/apply-patch+yaml" });
    });
    for (;;) {
      const list = await client.request<{ items: { metadata: { name: string }; status?: { tier?: string; phase?: string } }[] }>({ method: "GET", path: "/apis/landlord.dev/v1alpha1/tenantplacements" });
      const ready = list.items.filter((t) => t.metadata.name.startsWith("conv-") && t.status?.tier === "pooled" && t.status.phase === "Active").length;
      if (ready === n) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsed = performance.now() - started;
    record({ scenario: "operator: pooled tenants applied at once until all Ready", n, figure: "time", value: Math.round(elapsed), unit: "ms" });
    await new Promise((r) => setTimeout(r, 2_000));
    const metricsPath = "/metrics";
    const before = countWrites(await client.request<string>({ method: "GET", path: metricsPath }));
    await new Promise((r) => setTimeout(r, 30_000));
    const after = countWrites(await client.request<string>({ method: "GET", path: metricsPath }));
    record({ scenario: "operator: idle after convergence, 30 s", n, figure: "write requests", value: after - before, unit: "" });
    const memory = process.memoryUsage();
    record({ scenario: "operator (in the benchmark process): memory after convergence", n, figure: "RSS", value: Math.round(memory.rss / 2 ** 20), unit: "MiB" });
    record({ scenario: "operator (in the benchmark process): memory after convergence", n, figure: "V8 heap used", value: Math.round(memory.heapUsed / 2 ** 20), unit: "MiB" });
  } finally {
    await operator.stop();
  }
}

async function main(): Promise<void> {
  const machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  validationThroughput(100_000);
  placerThroughput(100_000);
  const engine = benchEngine(100_000);
  record({ scenario: "policy engine: evaluate tenants against the example policy", n: 100_000, figure: "total", value: Number(engine.ms.toFixed(1)), unit: "ms" });

  const dir = mkdtempSync(join(tmpdir(), "landlord-bench-"));
  const t0 = performance.now();
  const state = await localUp({ dir, log: (line) => process.stderr.write(`${line}\n`) });
  record({ scenario: "local control plane start (cached binaries)", n: 1, figure: "time to ready", value: Math.round(performance.now() - t0), unit: "ms" });
  try {
    await installCrds({ kubectl: join(state.binDir, "kubectl"), kubeconfig: state.kubeconfig }, crdsDir);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    await applyFloor(kc, 1_000, 16);
    // The floor's objects are not the operator's business: remove them before it starts.
    await createKubeClient(kc).request({ method: "DELETE", path: "/apis/landlord.dev/v1alpha1/tenantplacements" });
    await operatorConvergence(kc, state.kubeconfig, 200);
  } finally {
    await localDown({ dir });
  }

  process.stdout.write(`\nLandlord benchmarks — ${new Date().toISOString()} — ${machine}\n\n`);
  const rows = figures.map((f) => [f.scenario, String(f.n), f.figure, `${f.value} ${f.unit}`]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0), ["scenario", "N", "figure", "value"][c]?.length ?? 0));
  const line = (cells: string[]): string => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ");
  process.stdout.write(`${[line(["scenario", "N", "figure", "value"]), ...rows.map(line)].join("\n")}\n`);

  const resultsDir = join(projectRoot, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, figures }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
