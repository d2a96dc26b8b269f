import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, sleep, takeSnapshot, type Api } from "../support/api.ts";
import { Fleet, FLEET_TIERS } from "../support/fleet.ts";
import type { Violation } from "../support/invariants.ts";
import { launchOperator, type OperatorProcess, type OperatorTarget } from "../support/operatorProcess.ts";
import { seededRandom } from "../support/random.ts";

/**
 * The chaos engine behind `npm run chaos` and the bounded test in `npm test`: N tenants are moved
 * between the pooled, namespace and database tiers (database through the plan provisioner) by
 * re-pinning them, while the operator process is SIGKILLed at random moments and started again.
 * A checker reads the whole cluster at one etcd revision over and over and judges every snapshot
 * against the invariants (support/invariants.ts); after the last kill every tenant must converge to
 * where it was last asked to be, with exactly one PlacementDecision per requested placement.
 */

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  tenants: number;
  target: OperatorTarget;
  adminKubeconfig: string;
  /** The operator is killed after a random pause in this range (ms), then started again. */
  killEveryMs?: [number, number];
  /** How long the killed operator stays down before it is started again (ms). */
  downForMs?: [number, number];
  /** At most this many re-pins per second, each of a tenant that has settled. */
  movesPerSecond?: number;
  /** Time allowed after the last restart for every tenant to converge. */
  convergeTimeoutMs?: number;
  /**
   * Keep the faults going past durationMs (up to three times it) until at least this many moves
   * were requested: on a slow or busy machine fewer tenants settle per second, and a run that
   * moved almost no one would prove nothing however green it is.
   */
  minMoves?: number;
  operatorArgs?: string[];
  /** Delete the run's tenants, pool and policy afterwards (the tests share one control plane). */
  cleanup?: boolean;
  log?: (line: string) => void;
}

export interface ChaosReport {
  run: string;
  seed: number;
  durationMs: number;
  tenants: number;
  kills: number;
  movesRequested: number;
  /** Requested moves that were carried out (their decision Succeeded). */
  movesCompleted: number;
  snapshots: number;
  invariantChecks: number;
  violations: Violation[];
  /** From the last operator start to every tenant converged; undefined when it never converged. */
  convergedAfterMs: number | undefined;
  elapsedMs: number;
}

const TIER_WEIGHTS = [4, 4, 2];
const weightOf = (tier: string): number => TIER_WEIGHTS[FLEET_TIERS.indexOf(tier as (typeof FLEET_TIERS)[number])] ?? 1;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const api: Api = connect(options.adminKubeconfig);
  const run = `c${options.seed.toString(36)}-${Date.now().toString(36).slice(-5)}`;
  const fleet = new Fleet(api, run, options.tenants);
  const [killMin, killMax] = options.killEveryMs ?? [3_000, 12_000];
  const [downMin, downMax] = options.downForMs ?? [0, 1_500];
  const movesPerSecond = options.movesPerSecond ?? 4;
  const started = Date.now();
  const report: ChaosReport = {
    run,
    seed: options.seed,
    durationMs: options.durationMs,
    tenants: options.tenants,
    kills: 0,
    movesRequested: 0,
    movesCompleted: 0,
    snapshots: 0,
    invariantChecks: 0,
    violations: [],
    convergedAfterMs: undefined,
    elapsedMs: 0,
  };
  const shown = (v: Violation): void => {
    if (report.violations.length < 10) log(`VIOLATION [${v.rule}] ${v.tenant ?? ""} at rv ${v.resourceVersion}: ${v.message}`);
    report.violations.push(v);
  };

  await fleet.create(() => random.weighted(FLEET_TIERS, TIER_WEIGHTS));
  log(`chaos ${run}: ${options.tenants} tenants applied; starting the operator`);
  const operatorArgs = ["--provisioner", "plan", ...(options.operatorArgs ?? [])];
  let operator: OperatorProcess = await launchOperator(options.target, operatorArgs);
  let lastStart = Date.now();
  const everyOperator: OperatorProcess[] = [operator];
  const checker = fleet.startChecker({ onViolation: shown });
  const planned = started + options.durationMs;
  const latest = started + 3 * options.durationMs;
  /** When the faults stop: at the planned end once enough moves were requested, at the latest end anyway. */
  const over = (): boolean => Date.now() >= latest || (Date.now() >= planned && report.movesRequested >= (options.minMoves ?? 0));

  const mover = (async () => {
    while (!over()) {
      await sleep(1000 / movesPerSecond);
      const snapshot = checker.latest();
      if (!snapshot) continue;
      const candidates = fleet.settled(snapshot).filter((t) => fleet.scope.owns(t.metadata.name));
      if (candidates.length === 0) continue;
      const tenant = random.pick(candidates);
      const others = FLEET_TIERS.filter((t) => t !== fleet.requested.get(tenant.metadata.name)?.at(-1));
      if (await fleet.repin(tenant.metadata.name, random.weighted(others, others.map(weightOf)))) report.movesRequested++;
      // That snapshot must not offer the same tenant again before the operator saw the new pin.
      checker.invalidate();
    }
  })();

  const killer = (async () => {
    for (;;) {
      // Never past the end of the run: the last kill must leave time to converge, not eat into it.
      // Kills stop at the planned end; only the moves go on past it, if there were too few.
      await sleep(Math.min(random.int(killMin, killMax), Math.max(0, planned - Date.now())));
      if (Date.now() >= planned) return;
      await operator.kill();
      report.kills++;
      await sleep(random.int(downMin, downMax));
      operator = await launchOperator(options.target, operatorArgs);
      everyOperator.push(operator);
      lastStart = Date.now();
      log(`chaos ${run}: kill ${report.kills} at ${Math.round((Date.now() - started) / 1000)}s; ${report.movesRequested} moves requested so far`);
    }
  })();

  try {
    await Promise.all([mover, killer]);
    log(`chaos ${run}: faults over after ${Math.round((Date.now() - started) / 1000)}s (${report.kills} kills, ${report.movesRequested} moves); waiting for convergence`);
    const outcome = await fleet.waitConverged(options.convergeTimeoutMs ?? 180_000, () => {
      if (!operator.alive()) throw new Error(`the operator exited by itself after the last restart:\n${operator.logs().slice(-4000)}`);
    });
    if (outcome.converged) {
      report.convergedAfterMs = Date.now() - lastStart;
      report.invariantChecks += outcome.checks;
    } else {
      log(`chaos ${run}: did not converge; ${outcome.pending.length} open problem(s)`);
      for (const v of outcome.pending) shown(v);
    }
  } finally {
    const stats = await checker.stop();
    report.snapshots += stats.snapshots;
    report.invariantChecks += stats.checks;
    if (report.violations.length > 0) {
      // Every violation, for the post-mortem: the log only shows the first few.
      writeFileSync(join(options.target.logDir, `chaos-${run}-violations.json`), JSON.stringify(report.violations, null, 1));
    }
    const own = new Set(fleet.names);
    report.movesCompleted = (await takeSnapshot(api)).decisions.filter((d) => own.has(d.spec.tenant) && d.spec.from !== undefined && d.status?.outcome === "Succeeded").length;
    if (options.cleanup ?? true) await fleet.cleanup(log);
    for (const process of everyOperator) await process.stop();
    report.elapsedMs = Date.now() - started;
  }
  return report;
}
