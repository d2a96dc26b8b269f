import type { Logger } from "pino";
import type { OperatorConfig } from "../config.ts";
import type { StackBackend, StackRequest, StackResult } from "./port.ts";
import type { PulumiInstallation } from "./pulumi.ts";

/** Where the pulumi adapter gets its CLI: the `landlord` command wires in local/'s builder, which uses a prebuilt one when configured. */
export interface StackBackendSources {
  pulumi: () => Promise<PulumiInstallation>;
}

/**
 * The configured adapter, loaded on first use: Pulumi's SDK and the AWS programs cost tens of
 * megabytes of heap, which an operator with no dedicated tenant never needs to pay.
 */
export function createStackBackend(config: OperatorConfig, log: Logger, sources: StackBackendSources): StackBackend {
  let loaded: Promise<StackBackend> | undefined;
  const load = (): Promise<StackBackend> =>
    (loaded ??= config.provisioner === "plan"
      ? import("./plan.ts").then((m) => m.planBackend())
      : Promise.all([import("./pulumi.ts"), sources.pulumi()]).then(([adapter, pulumi]) =>
          adapter.createPulumiBackend({
            backendUrl: config.pulumiBackendUrl as string,
            // Pulumi's own default for self-managed backends; it needs PULUMI_CONFIG_PASSPHRASE.
            secretsProvider: config.pulumiSecretsProvider ?? "passphrase",
            workRoot: config.pulumiWorkDir,
            pulumi,
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
