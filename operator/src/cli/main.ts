import { parseArgs } from "node:util";
import { localCommand, LOCAL_HELP } from "./local.ts";
import { devCommand, DEV_HELP } from "./dev.ts";
import { operatorCommand, OPERATOR_HELP } from "./operator.ts";
import { UsageError } from "./errors.ts";

const HELP = `landlord — decides where each tenant of a multi-tenant SaaS lives

Usage: landlord <command> [options]     (also: kubectl landlord <command>)

Commands:
  operator            run the controller (against KUBECONFIG or in-cluster)
  dev                 start the local control plane, install the CRDs and the examples
  local up|down|env   manage the embedded local control plane (kube-apiserver + etcd)

Run "landlord <command> --help" for a command's options and an example.
`;

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  local: { run: localCommand, help: LOCAL_HELP },
  dev: { run: devCommand, help: DEV_HELP },
  operator: { run: operatorCommand, help: OPERATOR_HELP },
};

/** Runs one CLI invocation and returns its exit code; errors become one clear line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`landlord: unknown command "${name}"; run "landlord --help" for the list\n`);
    return 2;
  }
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
