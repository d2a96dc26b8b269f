import type { Logger } from "pino";
import type { OperatorConfig } from "../config.ts";
import type { StackBackend, StackRequest, StackResult } from "./port.ts";

/**
 * The configured adapter, loaded on first use: Pulumi's SDK and the AWS programs cost tens of
 * megabytes of heap, which an operator with no dedicated tenant never needs to pay.
 */
export function createStackBackend(config: OperatorConfig, log: Logger): StackBackend {
  let loaded: Promise<StackBackend> | undefined;
  const load = (): Promise<StackBackend> =>
    (loaded ??= config.provisioner === "plan"
      ? import("./plan.ts").then((m) => m.planBackend())
      : Promise.all([import("./pulumi.ts"), import("./pulumiCli.ts")]).then(async ([adapter, cli]) =>
          adapter.createPulumiBackend({
            backendUrl: config.pulumiBackendUrl as string,
            // Pulumi's own default for self-managed backends; it needs PULUMI_CONFIG_PASSPHRASE.
            secretsProvider: config.pulumiSecretsProvider ?? "passphrase",
            workRoot: config.pulumiWorkDir,
            pulumi: { root: (await cli.ensurePulumi({ log: (line) => log.info(line) })).dir },
            log,
          }),
        ));
  return {
    kind: config.provisioner,
    up: async (request: StackRequest, signal: AbortSignal): Promise<StackResult> => (await load()).up(request, signal),
    destroy: async (request: StackRequest, signal: AbortSignal): Promise<void> => (await load()).destroy(request, signal),
    close: async () => {
      if (loaded) await (await loaded).close?.();
    },
    prepare: async () => {
      await (await load()).prepare?.();
    },
  };
}
