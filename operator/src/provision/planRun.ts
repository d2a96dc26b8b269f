import type { Mocks } from "@pulumi/pulumi/runtime/mocks.js";

type PulumiModule = typeof import("@pulumi/pulumi");

/**
 * Runs one Pulumi program under mocks, the way Pulumi's own Automation API server runs an inline
 * program, and settles everything it started before returning. Callers must not run two at once:
 * the mocks and the runtime's settings are process-global.
 */

export interface MockRunOptions {
  project: string;
  stack: string;
  /** Called with the runtime's monitor once the mocks are installed (tests peek at resource options). */
  onMonitor?: (monitor: unknown) => void;
}

export class MockRunError extends Error {
  override name = "MockRunError";
  constructor(
    message: string,
    readonly errors: unknown[],
  ) {
    super(message, { cause: errors[0] });
  }
}

export async function runUnderMocks(
  pulumi: PulumiModule,
  mocks: Mocks,
  program: () => Promise<Record<string, unknown>>,
  options: MockRunOptions,
): Promise<Record<string, unknown>> {
  // A failing program rejects the outputs of every resource and Output derived from the failure,
  // and nobody awaits most of them: in the operator, an unhandled rejection would end the process.
  // Collect them for the duration of the run instead, as Pulumi's language host does.
  const errors: unknown[] = [];
  const collect = (reason: unknown): void => {
    if (!errors.includes(reason)) errors.push(reason);
  };
  process.on("unhandledRejection", collect);
  try {
    // A fresh MockMonitor: setMocks also resets the runtime's options, root stack and RPC chain.
    await pulumi.runtime.setMocks(mocks, options.project, options.stack, false);
    options.onMonitor?.(pulumi.runtime.getMonitor());
    let outputs: Record<string, unknown> | undefined;
    try {
      outputs = (await pulumi.runtime.runInPulumiStack(program)) as Record<string, unknown> | undefined;
    } catch (error) {
      collect(error);
    }
    // Registrations nothing awaited (a budget no output depends on) finish here, before the next
    // run installs its own monitor and could receive them.
    await waitForRPCs(pulumi).catch(collect);
    // Unhandled rejections are reported after the microtask queue drains: let that happen.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    if (errors.length > 0) {
      throw new MockRunError(errors.map(message).filter(unique).join("; "), errors);
    }
    return outputs ?? {};
  } finally {
    process.off("unhandledRejection", collect);
  }
}

/** settings.waitForRPCs is exported by the runtime but missing from the SDK's typings. */
function waitForRPCs(pulumi: PulumiModule): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs !== "function") {
    return Promise.reject(
      new Error("the installed @pulumi/pulumi has no runtime.waitForRPCs: Landlord needs the SDK it was written for (3.248.0); run npm ci"),
    );
  }
  return runtime.waitForRPCs();
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const unique = (value: string, index: number, all: string[]): boolean => all.indexOf(value) === index;
