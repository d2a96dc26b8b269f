import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

const HELP = `landlord — decides where each tenant of a multi-tenant SaaS lives

Usage: landlord <command> [options]     (also: kubectl landlord <command>)

Commands:
  operator            run the controller (against KUBECONFIG or in-cluster)
  audit               every tenant: tier, target, pool, phase, signals, recommendation, last move, tags
  explain <tenant>    why a tenant is where it is, rule by rule, and what would move it next
  history <tenant>    a tenant's PlacementDecisions as a timeline
  plan -f FILE        offline: what the policy would do to each tenant (no cluster)
  costs               per-tenant monthly cost: pool shares, AWS cost by tag and by linked account
  dev                 local control plane + CRDs + examples + the operator (what npm start runs)
  local up|down|env   manage the embedded local control plane (kube-apiserver + etcd)

Run "landlord <command> --help" for a command's options and an example.
Exit codes: 0 done, 1 failed (one line on stderr says why), 2 bad usage.
`;

interface Command {
  run: (args: string[]) => Promise<number>;
  help: string;
}

/**
 * Loaded on use: `landlord audit` should not pay for importing the operator, nor `landlord local`
 * for the policy engine.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  local: async () => import("./local.ts").then((m) => ({ run: m.localCommand, help: m.LOCAL_HELP })),
  dev: async () => import("./dev.ts").then((m) => ({ run: m.devCommand, help: m.DEV_HELP })),
  operator: async () => import("./operator.ts").then((m) => ({ run: m.operatorCommand, help: m.OPERATOR_HELP })),
  audit: async () => import("./audit.ts").then((m) => ({ run: m.auditCommand, help: m.AUDIT_HELP })),
  history: async () => import("./history.ts").then((m) => ({ run: m.historyCommand, help: m.HISTORY_HELP })),
  explain: async () => import("./explain.ts").then((m) => ({ run: m.explainCommand, help: m.EXPLAIN_HELP })),
  plan: async () => import("./plan.ts").then((m) => ({ run: m.planCommand, help: m.PLAN_HELP })),
  costs: async () => import("./costs.ts").then((m) => ({ run: m.costsCommand, help: m.COSTS_HELP })),
};

/** Runs one CLI invocation and returns its exit code; errors become one clear line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`landlord: unknown command "${name}"; run "landlord --help" for the list\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`landlord ${name}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`landlord ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** parseArgs with the CLI's conventions: unknown flags are usage errors, not stack traces. */
export function parseFlags<T extends NonNullable<Parameters<typeof parseArgs>[0]>["options"]>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
