import { PlanRecorder, type RecordedResource } from "./planMocks.ts";
import { runUnderMocks } from "./planRun.ts";
import {
  ProvisionError,
  stackName,
  type StackBackend,
  type StackOutputs,
  type StackRequest,
  type StackResource,
  type StackResult,
} from "./port.ts";

/**
 * The `plan` provisioner: runs the same Pulumi programs as the `pulumi` adapter, under Pulumi's
 * mocks, and reports what they would create and with which tags. Nothing reaches AWS; every
 * result says `planned: true` and its outputs are recognisably fake (".planned.invalid",
 * "planned" account ids).
 *
 * Pulumi is loaded on the first plan, not with the operator: an operator that never provisions
 * does not pay for it.
 */

/** Project of every Landlord stack (stack names come from stackName()). */
export const PULUMI_PROJECT = "landlord";

export interface PlanBackend extends StackBackend {
  readonly kind: "plan";
}

type PulumiModule = typeof import("@pulumi/pulumi");
type ProgramModule = typeof import("../../../pulumi/program.ts");

let loading: Promise<{ pulumi: PulumiModule; programFor: ProgramModule["programFor"] }> | undefined;

function load(): NonNullable<typeof loading> {
  loading ??= Promise.all([import("@pulumi/pulumi"), import("../../../pulumi/program.ts")]).then(([pulumi, program]) => ({
    pulumi,
    programFor: program.programFor,
  }));
  // A failed load is retried on the next plan rather than cached forever.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/**
 * Pulumi's mocks live in process-global state: one plan at a time, process-wide (a module-level
 * queue, so two plan backends in one process cannot interleave either).
 */
let queue: Promise<unknown> = Promise.resolve();

function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work);
  queue = run.catch(() => undefined);
  return run;
}

export function planBackend(): PlanBackend {
  return {
    kind: "plan",
    up: (request, signal) => exclusive(() => plan(request, signal)),
    // Nothing was created, so there is nothing to remove.
    destroy: async (_request, signal) => {
      if (signal.aborted) throw cancelled(signal);
    },
    prepare: async () => {
      await load();
    },
  };
}

async function plan(request: StackRequest, signal: AbortSignal): Promise<StackResult> {
  if (signal.aborted) throw cancelled(signal);
  const stack = stackName(request.tenantId, request.kind);
  const recorder = new PlanRecorder(request.aws.region);
  let outputs: Record<string, unknown>;
  try {
    const { pulumi, programFor } = await load();
    outputs = await runUnderMocks(pulumi, recorder, programFor(request), { project: PULUMI_PROJECT, stack });
  } catch (error) {
    throw new ProvisionError("ProgramError", `planning stack ${stack} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (signal.aborted) throw cancelled(signal);
  return {
    planned: true,
    outputs: stackOutputs(request, outputs),
    resources: recorder.resources.filter(isCloudResource).map(toStackResource),
  };
}

/** Providers and the stack itself are Pulumi bookkeeping, not things that exist (or cost) in AWS. */
function isCloudResource(resource: RecordedResource): boolean {
  return resource.custom && !resource.type.startsWith("pulumi:");
}

function toStackResource(resource: RecordedResource): StackResource {
  return {
    type: resource.type,
    name: resource.name,
    id: resource.id,
    ...(resource.arn ? { arn: resource.arn } : {}),
    tags: resource.tags,
  };
}

function stackOutputs(request: StackRequest, outputs: Record<string, unknown>): StackOutputs {
  const { endpoint, port, masterSecretArn, accountId } = outputs;
  if (typeof endpoint !== "string" || typeof port !== "number" || typeof masterSecretArn !== "string") {
    throw new ProvisionError(
      "ProgramError",
      `the ${request.kind} program of tenant ${request.tenantId} returned outputs ${JSON.stringify(outputs)}: expected endpoint (string), port (number) and masterSecretArn (string)`,
    );
  }
  return { endpoint, port, masterSecretArn, ...(typeof accountId === "string" ? { accountId } : {}) };
}

function cancelled(signal: AbortSignal): ProvisionError {
  return new ProvisionError("Cancelled", "the plan was cancelled before it finished", { cause: signal.reason });
}
