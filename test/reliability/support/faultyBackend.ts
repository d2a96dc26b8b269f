import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProvisionError, type StackBackend, type StackRequest, type StackResult } from "../../../operator/src/provision/port.ts";

/**
 * Provisioner faults on demand. A ScriptedBackend answers each `up` of a tenant with the next fault
 * of its script, and hands the call to `inner` (a working adapter) once the script is used up:
 *   - fail: the program or the cloud refuses (ProgramError, a long backoff);
 *   - hang: the call never returns by itself; only the runner's timeout (an abort) ends it;
 *   - lock: another update holds the stack (ConcurrentUpdate, a short backoff).
 * `faulty` realises the faults: throwing directly (the plan flavour) or through the pulumi adapter
 * driving a fake Pulumi CLI (fakePulumiCli below), so the adapter's own error classification is what
 * turns them into ProvisionErrors.
 */

export type Fault = "fail" | "hang" | "lock";

export interface Call {
  tenantId: string;
  operation: "up" | "destroy";
  fault: Fault | undefined;
  at: number;
  /** When the call ended, and how. */
  endedAt?: number;
  outcome?: string;
  /** Whether its signal had been aborted when it ended. */
  aborted?: boolean;
}

export class ScriptedBackend implements StackBackend {
  readonly kind = "plan" as const;
  readonly calls: Call[] = [];
  private readonly scripts = new Map<string, Fault[]>();

  constructor(
    private readonly inner: StackBackend,
    private readonly faulty: (fault: Fault, request: StackRequest, signal: AbortSignal) => Promise<StackResult> = throwFault,
  ) {}

  /** The faults the next `up` calls of `tenantId` meet, in order. */
  script(tenantId: string, faults: Fault[]): void {
    this.scripts.set(tenantId, [...faults]);
  }

  callsOf(tenantId: string, operation: "up" | "destroy" = "up"): Call[] {
    return this.calls.filter((c) => c.tenantId === tenantId && c.operation === operation);
  }

  async up(request: StackRequest, signal: AbortSignal): Promise<StackResult> {
    const fault = this.scripts.get(request.tenantId)?.shift();
    const call: Call = { tenantId: request.tenantId, operation: "up", fault, at: Date.now() };
    this.calls.push(call);
    try {
      const result = fault ? await this.faulty(fault, request, signal) : await this.inner.up(request, signal);
      call.outcome = "succeeded";
      return result;
    } catch (error) {
      call.outcome = error instanceof ProvisionError ? error.kind : String(error);
      throw error;
    } finally {
      call.endedAt = Date.now();
      call.aborted = signal.aborted;
    }
  }

  async destroy(request: StackRequest, signal: AbortSignal): Promise<void> {
    this.calls.push({ tenantId: request.tenantId, operation: "destroy", fault: undefined, at: Date.now() });
    await this.inner.destroy(request, signal);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** The plan flavour: the faults as an adapter would report them, thrown directly. */
export async function throwFault(fault: Fault, request: StackRequest, signal: AbortSignal): Promise<StackResult> {
  switch (fault) {
    case "fail":
      throw new ProvisionError("ProgramError", `up of landlord-${request.tenantId}-${request.kind} failed: creating RDS Instance: InvalidParameterCombination: db.t4g.medium is not available in this zone`);
    case "lock":
      throw new ProvisionError("ConcurrentUpdate", `up of landlord-${request.tenantId}-${request.kind}: another update holds the stack's lock`);
    case "hang":
      return new Promise<StackResult>((_resolve, reject) => {
        const abort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        if (signal.aborted) abort();
        else signal.addEventListener("abort", abort, { once: true });
      });
  }
}

/**
 * A stand-in for the Pulumi CLI, enough for the Automation API's LocalWorkspace: `version`, stack
 * selection and config succeed; `up` reads its fault from `<dir>/faults/<stack>` — lock (the
 * SDK's own conflict text, exit 255), hang (until SIGINT, as the real engine on cancel), fail (a
 * diagnostic the way the engine prints one). `cancel` succeeds. Returns the installation root
 * (PulumiCommand.get({root}) runs <root>/bin/pulumi).
 */
export function fakePulumiCli(dir: string): { root: string; setFault(stack: string, fault: Fault): void } {
  const bin = join(dir, "bin");
  const faults = join(dir, "faults");
  mkdirSync(bin, { recursive: true });
  mkdirSync(faults, { recursive: true });
  const script = `#!${process.execPath}
const { readFileSync } = require("node:fs");
const args = process.argv.slice(2);
const command = args.filter((a) => !a.startsWith("-"))[0];
if (command === "version") { process.stdout.write("v3.248.0\\n"); process.exit(0); }
if (command !== "up") process.exit(0);
const stack = args[args.indexOf("--stack") + 1];
let fault = "fail";
try { fault = readFileSync(${JSON.stringify(faults)} + "/" + stack, "utf8").trim(); } catch {}
if (fault === "lock") {
  process.stderr.write("error: [409] Conflict: Another update is currently in progress.\\n");
  process.exit(255);
}
if (fault === "hang") {
  const stop = () => { process.stderr.write("error: update canceled\\n"); process.exit(255); };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  setInterval(() => undefined, 1000);
} else {
  process.stdout.write("Diagnostics:\\n  aws:rds:Instance (database):\\n    error: creating RDS Instance: InvalidParameterCombination: db.t4g.medium is not available in this zone\\n");
  process.stderr.write("error: update failed\\n");
  process.exit(255);
}
`;
  const path = join(bin, "pulumi");
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return {
    root: dir,
    setFault: (stack, fault) => writeFileSync(join(faults, stack), fault),
  };
}
