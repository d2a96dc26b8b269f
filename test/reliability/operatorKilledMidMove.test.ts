import { describe, expect, it } from "vitest";
import { cluster } from "../integration/cluster.ts";
import { runChaos } from "./chaos/engine.ts";

/**
 * Issue #10, fault 1, bounded: the chaos engine of `npm run chaos` with a fixed seed and a short
 * duration. Tenants move between pooled, namespace and database while the operator is SIGKILLed at
 * random moments; every snapshot of the cluster is judged against the invariants while it happens.
 */
const SEED = Number(process.env.LANDLORD_CHAOS_SEED ?? 20261123);
// Half the tenants and a fraction of the time of `npm run chaos`, so `npm test` stays within minutes.
const TENANTS = Number(process.env.LANDLORD_CHAOS_TENANTS ?? 100);
const DURATION_MS = Number(process.env.LANDLORD_CHAOS_DURATION_MS ?? 40_000);

describe("the operator killed mid-move", () => {
  it("keeps every tenant served from exactly one placement, orphans nothing, records one decision per move and converges after the last restart", async () => {
    const { operator, dir, kubeconfig } = cluster();
    const report = await runChaos({
      seed: SEED,
      durationMs: DURATION_MS,
      tenants: TENANTS,
      target: { kubeconfig: operator.kubeconfig, namespace: operator.namespace, logDir: dir },
      adminKubeconfig: kubeconfig,
      // Each restart costs the operator seconds on a busy machine (start, list, load the provisioner):
      // kills much more often than this leave it no time to move anyone between them.
      killEveryMs: [3_000, 8_000],
      movesPerSecond: 6,
      minMoves: 20,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stderr.write(`chaos (bounded): ${JSON.stringify({ ...report, violations: report.violations.length })}\n`);
    // The run must have exercised what it claims to, or a green result would mean nothing.
    expect(report.kills).toBeGreaterThanOrEqual(3);
    expect(report.movesRequested).toBeGreaterThanOrEqual(20);
    expect(report.snapshots).toBeGreaterThan(10);
    expect(report.violations.slice(0, 20)).toEqual([]);
    expect(report.convergedAfterMs).toBeDefined();
    expect(report.movesCompleted).toBe(report.movesRequested);
  }, 420_000);
});
