import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { formatDuration, parseDuration } from "../../../operator/src/config.ts";
import type { ClusterInfo } from "../../integration/cluster.ts";
import startControlPlane from "../../integration/globalSetup.ts";
import { runChaos, type ChaosReport } from "./engine.ts";

/**
 * `npm run chaos -- --seed 42 --duration 5m [--tenants 200] [--kill-every 3s..12s] [--moves-per-second 4]`
 *
 * Starts a control plane of its own (the test suites' helper: etcd, kube-apiserver,
 * kube-controller-manager, the CRDs and the chart's ServiceAccount), runs the chaos engine against
 * it, prints the figures and stops it. Exits 1 on any invariant violation, 2 on bad usage.
 */

const USAGE = `Usage: npm run chaos -- [--seed N] [--duration 5m] [--tenants 200] [--kill-every 3s..12s] [--moves-per-second 4] [--keep-logs]

Moves tenants between the pooled, namespace and database tiers while SIGKILLing the operator at
random moments, checks Landlord's invariants on every snapshot of the cluster, and prints figures.
Example: npm run chaos -- --seed 42 --duration 5m`;

interface Args {
  seed: number;
  durationMs: number;
  tenants: number;
  killEveryMs: [number, number];
  movesPerSecond: number;
  keepLogs: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = { seed: Math.floor(Math.random() * 2 ** 31), durationMs: 300_000, tenants: 200, killEveryMs: [3_000, 12_000], movesPerSecond: 4, keepLogs: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const [name, inline] = flag.includes("=") ? [flag.slice(0, flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)] : [flag, undefined];
    if (name === "--help" || name === "-h") return USAGE;
    if (name === "--keep-logs") {
      args.keepLogs = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) return `${name} needs a value\n\n${USAGE}`;
    try {
      switch (name) {
        case "--seed":
          if (!/^\d+$/.test(value)) return `--seed must be a whole number, got ${value}`;
          args.seed = Number(value);
          break;
        case "--duration":
          args.durationMs = parseDuration(value);
          break;
        case "--tenants":
          if (!/^\d+$/.test(value) || Number(value) < 1) return `--tenants must be a whole number ≥ 1, got ${value}`;
          args.tenants = Number(value);
          break;
        case "--kill-every": {
          const [low, high] = value.split("..");
          args.killEveryMs = [parseDuration(low ?? ""), parseDuration(high ?? low ?? "")];
          if (args.killEveryMs[0] > args.killEveryMs[1]) return `--kill-every must be low..high, got ${value}`;
          break;
        }
        case "--moves-per-second":
          if (!(Number(value) > 0)) return `--moves-per-second must be a positive number, got ${value}`;
          args.movesPerSecond = Number(value);
          break;
        default:
          return `unknown option ${name}\n\n${USAGE}`;
      }
    } catch (error) {
      return `${name}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return args;
}

export function formatReport(report: ChaosReport): string {
  const rows: Array<[string, string]> = [
    ["seed", String(report.seed)],
    ["duration", formatDuration(report.durationMs)],
    ["tenants", String(report.tenants)],
    ["operator kills (SIGKILL)", String(report.kills)],
    ["moves requested", String(report.movesRequested)],
    ["moves completed", String(report.movesCompleted)],
    ["cluster snapshots judged", String(report.snapshots)],
    ["invariant checks", report.invariantChecks.toLocaleString("en-US")],
    ["violations", String(report.violations.length)],
    ["converged after last restart", report.convergedAfterMs === undefined ? "never" : formatDuration(Math.round(report.convergedAfterMs / 100) * 100)],
    ["wall time", formatDuration(Math.round(report.elapsedMs / 1000) * 1000)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === "string") {
    process.stderr.write(`${args}\n`);
    return args === USAGE ? 0 : 2;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`landlord chaos: seed ${args.seed}, ${formatDuration(args.durationMs)}, ${args.tenants} tenants; starting a control plane`);
  let info: ClusterInfo | undefined;
  // The test suites' global setup, driven directly: it only needs somewhere to put what it provides.
  const project = { provide: (_key: string, value: ClusterInfo) => (info = value) } as unknown as TestProject;
  if (args.keepLogs) process.env.LANDLORD_KEEP_TEST_LOGS = "1";
  const stop = await startControlPlane(project);
  try {
    if (!info) throw new Error("the control plane setup provided no cluster");
    const logDir = join(info.dir, "chaos");
    mkdirSync(logDir, { recursive: true });
    const report = await runChaos({
      seed: args.seed,
      durationMs: args.durationMs,
      tenants: args.tenants,
      target: { kubeconfig: info.operator.kubeconfig, namespace: info.operator.namespace, logDir },
      adminKubeconfig: info.kubeconfig,
      killEveryMs: args.killEveryMs,
      movesPerSecond: args.movesPerSecond,
      convergeTimeoutMs: 300_000,
      // The control plane goes away with everything in it.
      cleanup: false,
      log,
    });
    process.stdout.write(`\nLandlord chaos run (${new Date().toISOString().slice(0, 10)})\n${formatReport(report)}\n`);
    for (const violation of report.violations.slice(0, 20)) process.stdout.write(`  ✗ [${violation.rule}] ${violation.tenant ?? ""}: ${violation.message}\n`);
    return report.violations.length === 0 && report.convergedAfterMs !== undefined ? 0 : 1;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`landlord chaos: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
