import { pino, type Logger } from "pino";
import { optionsHelp, parseConfig, type OperatorConfig } from "../config.ts";
import { startOperator } from "../controller/manager.ts";
import { ensurePulumi } from "../local/pulumiCli.ts";
import { createStackBackend } from "../provision/backend.ts";
import type { StackBackend } from "../provision/port.ts";

const SHUTDOWN_DEADLINE_MS = 20_000;

export const OPERATOR_HELP = `Usage: landlord operator [options]

Runs the Landlord controller against the cluster in KUBECONFIG (or in-cluster credentials).

Options (each also as env LANDLORD_<NAME>, e.g. LANDLORD_CONCURRENCY; flags win):
${optionsHelp()}

Example:
  eval "$(npx landlord local env)" && npx landlord operator --metrics-port 9090 --health-port 9091
`;

/** The provisioner `config` names; the Pulumi CLI comes from local/ (built once, or the prebuilt one LANDLORD_PULUMI_ROOT names). */
export function stackBackend(config: OperatorConfig, log: Logger): StackBackend {
  return createStackBackend(config, log, { pulumi: () => ensurePulumi({ log: (line) => log.info(line) }) });
}

export async function operatorCommand(args: string[]): Promise<number> {
  const parsed = parseConfig(args, process.env);
  if (!parsed.ok) {
    process.stderr.write(`landlord operator: ${parsed.error}\n`);
    return 2;
  }
  const config = parsed.config;
  const log = pino({ level: config.logLevel, base: { component: "landlord" } });
  const operator = await startOperator(config, log, { backend: stackBackend(config, log) });
  log.info({ metricsPort: operator.metricsPort, healthPort: operator.healthPort, identity: config.identity }, "Operator started");
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
    log.info({}, "node runs without --expose-gc: garbage left by a burst of work is collected by V8 alone, which can keep tens of MiB more RSS while idle");
  }
  const onSignal = (signal: string): void => {
    log.info({ signal }, "Shutting down");
    // Bounded: a reconcile stuck on an unresponsive API server must not keep a terminating pod alive
    // past its grace period with nothing to show for it.
    setTimeout(() => {
      log.error({}, "Shutdown took longer than 20s; exiting anyway");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    void operator.stop();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  await operator.done;
  const failure = operator.failure();
  if (failure) process.stderr.write(`landlord operator: ${failure.message}\n`);
  // Kept-alive API connections and the watch sockets would otherwise hold the process open.
  process.exit(failure ? 1 : 0);
}
