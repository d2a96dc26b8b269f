import type { StackRequest } from "../operator/src/provision/port.ts";
import { checkStackTags } from "./stackTags.ts";

/**
 * The one entry point both provisioner adapters use: `pulumi` hands the program to the Automation
 * API (LocalWorkspace inline program), `plan` runs it under Pulumi's mocks. The programs are
 * imported on first use so that loading this file costs nothing until a stack is actually run.
 */

/** An inline Pulumi program; its result is the stack outputs (values may be pulumi Outputs). */
export type StackProgram = () => Promise<Record<string, unknown>>;

/** Stack output names, as read back by the adapters into StackOutputs. */
export const OUTPUT_KEYS = ["endpoint", "port", "masterSecretArn", "accountId"] as const;

/**
 * The program of one stack. With `request.releasing` (destroy's preparatory up for Snapshot and
 * Delete) the same resources are registered with deletion protection off.
 *
 * Throws here, before Pulumi runs anything, when the request cannot make a correct stack (tags
 * that would lose cost, an account stack without account settings): an error inside a running
 * program surfaces as a cascade of rejected Outputs instead of one clear message.
 */
export function programFor(request: StackRequest): StackProgram {
  checkRequest(request);
  switch (request.kind) {
    case "database":
      return async () => {
        const { databaseProgram } = await import("./database.ts");
        return databaseProgram(request);
      };
    case "account":
      return async () => {
        const { accountProgram } = await import("./account.ts");
        return accountProgram(request);
      };
    default: {
      const kind: never = request.kind;
      throw new Error(`unknown stack kind ${JSON.stringify(kind)}: expected database or account`);
    }
  }
}

/** Throws, saying why and how to fix it, when a request cannot become a correct stack. */
export function checkRequest(request: StackRequest): void {
  checkStackTags(request);
  if (request.kind === "account" && !request.account) {
    throw new Error(
      `the account stack of tenant ${request.tenantId} has no account settings: give the policy's account tier an account block (organizationalUnitId, emailTemplate)`,
    );
  }
}
