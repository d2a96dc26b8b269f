/**
 * The store's memory over create/delete churn (issue 16): `cycles` Job-sized objects created and
 * deleted through the ObjectStore, one a second on a simulated clock, each side in its own node
 * process (storeChurn.ts) so neither inherits the other's heap. "Without expiry" is the store with
 * its tombstone TTL set to infinity: what every deleted object cost before tombstones expired.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../../operator/src/local/paths.ts";
import { round, type Report } from "./report.ts";

interface Side {
  before: { rssMiB: number; heapMiB: number };
  after: { rssMiB: number; heapMiB: number };
  tombstones?: number;
}

function churn(cycles: number, ttl: "forever" | "default"): Side {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", join(projectRoot, "test/bench/storeChurn.ts"), String(cycles), ttl], { cwd: projectRoot, encoding: "utf8" });
  return JSON.parse(out) as Side;
}

/** The median of three runs' growth: RSS moves by whole pages and with whatever else the machine does. */
function growth(cycles: number, ttl: "forever" | "default"): { rss: number; heap: number; tombstones: number; runs: string } {
  const runs = [churn(cycles, ttl), churn(cycles, ttl), churn(cycles, ttl)];
  const median = (values: number[]): number => values.sort((a, b) => a - b)[1] as number;
  const rss = median(runs.map((r) => r.after.rssMiB - r.before.rssMiB));
  const heap = median(runs.map((r) => r.after.heapMiB - r.before.heapMiB));
  return { rss, heap, tombstones: runs[0]?.tombstones ?? 0, runs: runs.map((r) => round(r.after.rssMiB - r.before.rssMiB, 1)).join(", ") };
}

export function storeScenarios(report: Report, cycles = 10_000): void {
  const scenario = "store: Jobs created and deleted, one a second (RSS and V8 heap after a full GC, growth over the run)";
  const forever = growth(cycles, "forever");
  const expiring = growth(cycles, "default");
  report.record({ scenario, n: cycles, figure: "without tombstone expiry: RSS growth", value: round(forever.rss, 1), unit: "MiB", note: `V8 heap +${round(forever.heap, 2)} MiB; ${forever.tombstones} tombstones kept; RSS growth of 3 runs: ${forever.runs} MiB` });
  report.record({ scenario, n: cycles, figure: "with expiry (5 min): RSS growth", value: round(expiring.rss, 1), unit: "MiB", note: `V8 heap +${round(expiring.heap, 2)} MiB; ${expiring.tombstones} tombstones kept; RSS growth of 3 runs: ${expiring.runs} MiB` });
  report.record({ scenario, n: cycles, figure: "ratio with/without expiry, RSS growth", value: round(expiring.rss / forever.rss, 2), unit: "", note: `V8 heap growth ratio ${round(expiring.heap / forever.heap, 2)}` });
}
