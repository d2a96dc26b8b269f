import { startCluster } from "./cluster.ts";
import { floorConvergence, operatorConvergence } from "./convergence.ts";
import { floorMoves } from "./floorMoves.ts";
import { moveTenants, movers, reportRevenue, type MovesResult } from "./moves.ts";
import { percentile } from "./report.ts";
import { startOperatorProcess, waitReady } from "./operator.ts";
import { applySetup } from "./workload.ts";
import type { KubeClient } from "../../operator/src/kube/client.ts";
const n = Number(process.argv[2] ?? 1000);
async function latencies(client: KubeClient): Promise<Map<string, [number, number]>> {
  const text = await client.request<string>({ method: "GET", path: "/metrics" });
  const out = new Map<string, [number, number]>();
  for (const line of text.split("\n")) {
    const m = /^apiserver_request_duration_seconds_(sum|count)\{(.*)\} (\S+)/.exec(line);
    if (!m) continue;
    const verb = /verb="([A-Z]+)"/.exec(m[2]!)?.[1]; const res = /resource="([^"]*)"/.exec(m[2]!)?.[1]; const sub = /subresource="([^"]*)"/.exec(m[2]!)?.[1] ?? "";
    if (!verb || verb === "WATCH") continue;
    const key = `${res}${sub ? "/" + sub : ""} ${verb}`;
    const e = out.get(key) ?? [0, 0];
    if (m[1] === "sum") e[0] += Number(m[3]); else e[1] += Number(m[3]);
    out.set(key, e);
  }
  return out;
}
function show(label: string, m: MovesResult, before: Map<string, [number, number]>, after: Map<string, [number, number]>) {
  const p = (v: number[], q: number) => percentile(v, q).toFixed(0);
  console.log(`${label}: decision p50 ${p(m.toDecisionMs, 50)} p99 ${p(m.toDecisionMs, 99)} cutover p50 ${p(m.toCutOverMs, 50)} p99 ${p(m.toCutOverMs, 99)} active p50 ${p(m.toActiveMs, 50)} p99 ${p(m.toActiveMs, 99)} total ${(m.totalMs / 1000).toFixed(1)} s`);
  const rows = [...after].map(([k, [s, c]]) => { const [s0, c0] = before.get(k) ?? [0, 0]; return [k, c - c0, c - c0 > 0 ? ((s - s0) / (c - c0)) * 1000 : 0] as const; }).filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1]);
  for (const [k, c, ms] of rows) console.log(`   ${k}: ${c} requests, mean ${ms.toFixed(1)} ms`);
}
{
  const c = await startCluster(() => undefined);
  try {
    await applySetup(c.client);
    await floorConvergence(c, n, 8);
    const b = await latencies(c.client);
    const m = await moveTenants(c, movers(n, 100), { drive: floorMoves(c.client, n, 8, (names) => reportRevenue(c, names)) });
    show("floor", m, b, await latencies(c.client));
  } finally { await c.down(); }
}
{
  const c = await startCluster(() => undefined);
  try {
    await applySetup(c.client);
    const op = await startOperatorProcess({ kubeconfig: c.state.kubeconfig, concurrency: 8 });
    await waitReady(op);
    await operatorConvergence(c, op, n);
    await new Promise((r) => setTimeout(r, 5000));
    const b = await latencies(c.client);
    const m = await moveTenants(c, movers(n, 100));
    show("operator", m, b, await latencies(c.client));
    await op.stop();
  } finally { await c.down(); }
}
