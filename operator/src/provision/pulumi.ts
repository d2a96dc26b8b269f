import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { LocalWorkspace, PulumiCommand, Stack, type ConfigMap, type PulumiFn } from "@pulumi/pulumi/automation/index.js";
import { programFor } from "../../../pulumi/program.ts";
import { stackName, type StackBackend, type StackRequest, type StackResult } from "./port.ts";
import { abortError, classifyPulumiError } from "./pulumiErrors.ts";
import { resourcesFromDeployment, stackOutputsFrom } from "./pulumiState.ts";

/**
 * The `pulumi` adapter of the stack port (port.ts): each stack is a LocalWorkspace with its own work
 * directory and an inline program from pulumi/, run by the Pulumi CLI installation it is given (the
 * `landlord` command builds one from its Go module: local/pulumiCli.ts). Calls block until the CLI is done; the OperationRunner bounds and schedules them
 * and aborts the signal on timeout or shutdown.
 */

/**
 * A Pulumi CLI installation, given by whoever starts the operator (this layer builds nothing): its
 * root, holding bin/pulumi as PulumiCommand.get({root}) wants it, and the environment its bundled
 * plugins need (the dynamic-provider launcher's SDK directory).
 */
export interface PulumiInstallation {
  root: string;
  env?: Record<string, string>;
}

export interface PulumiBackendOptions {
  /** Where stack state lives: `file:///abs/dir`, `s3://bucket/prefix?region=...`, or a Pulumi Cloud URL. */
  backendUrl: string;
  /**
   * Secrets provider of new stacks: `passphrase` (PULUMI_CONFIG_PASSPHRASE in `env`), or e.g.
   * `awskms://alias/landlord?region=eu-west-1`. An existing stack keeps the one it was created with.
   */
  secretsProvider: string;
  /** Root of the per-stack work directories, `<workRoot>/<stackName>` (Pulumi.yaml and stack settings). */
  workRoot: string;
  /** The CLI: a PulumiCommand, or an installation (the CLI wires in local/pulumiCli.ts ensurePulumi()). */
  pulumi: PulumiCommand | PulumiInstallation;
  /** The program of a stack; the programs in pulumi/ by default. */
  program?: (request: StackRequest) => PulumiFn;
  /**
   * Environment of every CLI run, e.g. AWS_PROFILE or AWS credentials, PULUMI_CONFIG_PASSPHRASE.
   * Values are never logged, and values of secret-looking names are scrubbed from error messages.
   */
  env?: Record<string, string>;
  /** Stack config set on every stack besides `aws:region` (from the request), e.g. `aws:profile`. */
  config?: ConfigMap;
  /** PULUMI_HOME of the CLI (plugins, credentials); ~/.pulumi when unset. */
  pulumiHome?: string;
  /** Pulumi project name of every stack. */
  projectName?: string;
  log?: Logger;
}

/** Environment names whose values are secrets, to scrub from messages. */
const SECRET_ENV = /PASSPHRASE|SECRET|TOKEN|PASSWORD|CREDENTIAL|_KEY$|^AWS_ACCESS_KEY_ID$/i;

/**
 * The secret values a Pulumi error could echo: those of the CLI's own environment and those of the
 * process's, which the CLI inherits (AWS keys, PULUMI_CONFIG_PASSPHRASE). Only the former were
 * scrubbed before, and in production the former is empty.
 */
export function secretEnvValues(...envs: Array<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const env of envs) {
    for (const [name, value] of Object.entries(env)) if (value && SECRET_ENV.test(name)) values.add(value);
  }
  return [...values];
}

/** A stack that does not exist is already destroyed. */
function notFound(error: unknown): undefined {
  if (error instanceof Error && error.name === "StackNotFoundError") return undefined;
  throw error;
}

/** The CLI refuses a file:// backend whose directory does not exist yet; a fresh install has none. */
async function ensureFileBackend(backendUrl: string): Promise<void> {
  const match = /^file:\/\/(\/[^?]*)/.exec(backendUrl);
  if (match?.[1]) await mkdir(decodeURIComponent(match[1]), { recursive: true });
}

export async function createPulumiBackend(options: PulumiBackendOptions): Promise<StackBackend> {
  const projectName = options.projectName ?? "landlord";
  const programOf = options.program ?? ((request: StackRequest): PulumiFn => programFor(request));
  const workRoot = resolve(options.workRoot);
  await ensureFileBackend(options.backendUrl);
  const pulumiCommand = options.pulumi instanceof PulumiCommand ? options.pulumi : await PulumiCommand.get({ root: options.pulumi.root });
  const env: Record<string, string> = {
    // No calls home for a newer version: the CLI is pinned to the SDK's.
    PULUMI_SKIP_UPDATE_CHECK: "true",
    ...(options.pulumi instanceof PulumiCommand ? {} : options.pulumi.env),
    ...options.env,
  };
  const secrets = [
    ...secretEnvValues(process.env, env),
    ...Object.values(options.config ?? {}).filter((entry) => entry.secret).map((entry) => entry.value),
  ];

  async function workspace(name: string, program: PulumiFn): Promise<LocalWorkspace> {
    const workDir = join(workRoot, name);
    await mkdir(workDir, { recursive: true });
    return LocalWorkspace.create({
      workDir,
      pulumiCommand,
      program,
      envVars: env,
      secretsProvider: options.secretsProvider,
      ...(options.pulumiHome ? { pulumiHome: options.pulumiHome } : {}),
      projectSettings: { name: projectName, runtime: "nodejs", backend: { url: options.backendUrl } },
    });
  }

  /** Runs one step; an abort or failure becomes the one ProvisionError the runner reads. */
  async function step<T>(what: string, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw abortError(signal, what);
    try {
      return await run();
    } catch (error) {
      throw classifyPulumiError(error, { what, signal, secrets });
    }
  }

  /**
   * Aborting a CLI run sends it SIGINT: the engine stops starting steps, waits for the ones in
   * flight and exits. `pulumi cancel` then clears what an interrupted update may leave behind (on a
   * self-managed backend, the lock file), so the next operation is not refused. Only ever run after
   * an abort of this stack's own update: the runner allows one operation per stack.
   */
  async function cancelled(stack: Stack, what: string, signal: AbortSignal, log: Logger | undefined): Promise<never> {
    try {
      await stack.cancel();
    } catch (error) {
      // Nothing in progress any more is the usual answer; a real failure still leaves the abort the outcome.
      log?.debug({ err: classifyPulumiError(error, { what: `cancel of ${what}`, secrets }).message }, "Pulumi cancel did not apply");
    }
    throw abortError(signal, what);
  }

  async function converge(stack: Stack, request: StackRequest, what: string, signal: AbortSignal, log: Logger | undefined) {
    await step(`config of ${what}`, signal, () => stack.setAllConfig({ ...options.config, "aws:region": { value: request.aws.region } }));
    try {
      return await step(what, signal, () => stack.up({ signal, color: "never" }));
    } catch (error) {
      if (signal.aborted) await cancelled(stack, what, signal, log);
      throw error;
    }
  }

  return {
    kind: "pulumi",

    async up(request: StackRequest, signal: AbortSignal): Promise<StackResult> {
      const name = stackName(request.tenantId, request.kind);
      const what = `pulumi up of ${name}`;
      const log = options.log?.child({ tenant: request.tenantId, stack: name });
      const started = Date.now();
      const ws = await step(`workspace of ${name}`, signal, () => workspace(name, programOf(request)));
      const stack = await step(`select of ${name}`, signal, () => Stack.createOrSelect(name, ws));
      log?.info({ operation: "up" }, "Started pulumi up");
      const result = await converge(stack, request, what, signal, log);
      const outputs = stackOutputsFrom(result.outputs);
      const exported = await step(`export of ${name}`, signal, () => stack.exportStack());
      const resources = resourcesFromDeployment(exported.deployment);
      log?.info({ operation: "up", resources: resources.length, changes: result.summary.resourceChanges, durationMs: Date.now() - started }, "Finished pulumi up");
      return { outputs, resources, planned: false };
    },

    async destroy(request: StackRequest, signal: AbortSignal): Promise<void> {
      const name = stackName(request.tenantId, request.kind);
      const log = options.log?.child({ tenant: request.tenantId, stack: name });
      const started = Date.now();
      // The releasing program: for Snapshot and Delete, destroy's preparatory up turns deletion
      // protection off; `pulumi destroy` acts on the options recorded in the state, not the program.
      const ws = await step(`workspace of ${name}`, signal, () => workspace(name, programOf({ ...request, releasing: true })));
      const stack = await step(`select of ${name}`, signal, () => Stack.select(name, ws).catch(notFound));
      if (stack) {
        if (request.deletionPolicy === "Retain") {
          // Forgets the stack, leaves every cloud resource in place.
          await step(`stack rm of ${name}`, signal, () => ws.removeStack(name, { force: true }));
        } else {
          log?.info({ operation: "destroy", deletionPolicy: request.deletionPolicy }, "Started pulumi destroy");
          await converge(stack, { ...request, releasing: true }, `releasing pulumi up of ${name}`, signal, log);
          try {
            await step(`pulumi destroy of ${name}`, signal, () => stack.destroy({ signal, color: "never" }));
          } catch (error) {
            if (signal.aborted) await cancelled(stack, `pulumi destroy of ${name}`, signal, log);
            throw error;
          }
          await step(`stack rm of ${name}`, signal, () => ws.removeStack(name));
        }
        log?.info({ operation: "destroy", deletionPolicy: request.deletionPolicy, durationMs: Date.now() - started }, "Removed stack");
      }
      await rm(join(workRoot, name), { recursive: true, force: true });
    },
  };
}
