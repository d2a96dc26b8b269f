import { z } from "zod";
import { ProvisionError, type StackOutputs, type StackResource } from "./port.ts";

/**
 * Reads what the pulumi adapter reports from what the engine left behind: the resources from an
 * exported deployment (`stack.exportStack()`, apitype.DeploymentV3) and the outputs from
 * `stack.outputs()`. Pure, so the shapes are tested without an engine.
 */

// Only the fields read here; the rest of DeploymentV3 passes through untouched.
const stateResource = z.object({
  urn: z.string(),
  type: z.string(),
  custom: z.boolean().optional(),
  id: z.string().optional(),
  delete: z.boolean().optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
});
const deployment = z.object({ resources: z.array(stateResource).nullish() });

/** The URN's last segment is the logical name; names may themselves contain "::". */
export function nameFromUrn(urn: string): string {
  return urn.split("::").slice(3).join("::") || urn;
}

/** String-valued entries only: a secret tag value is an encrypted envelope in the state, not a string. */
function stringEntries(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/**
 * The cloud resources of a deployment: custom resources other than providers (the stack and
 * components are Pulumi's own bookkeeping) and not pending deletion. Tags are `tagsAll` (the
 * provider's defaultTags merged with the resource's own) when the provider reports it.
 */
export function resourcesFromDeployment(exported: unknown): StackResource[] {
  const parsed = deployment.safeParse(exported);
  if (!parsed.success) {
    throw new ProvisionError("ProgramError", `the stack's exported state is not a Pulumi deployment: ${parsed.error.issues[0]?.message ?? "unknown shape"}`);
  }
  return (parsed.data.resources ?? [])
    .filter((r) => r.custom === true && !r.delete && !r.type.startsWith("pulumi:providers:"))
    .map((r) => {
      const arn = r.outputs?.arn;
      const resource: StackResource = {
        type: r.type,
        name: nameFromUrn(r.urn),
        tags: stringEntries(r.outputs?.tagsAll) ?? stringEntries(r.outputs?.tags) ?? {},
      };
      if (r.id) resource.id = r.id;
      if (typeof arn === "string" && arn) resource.arn = arn;
      return resource;
    });
}

const stackOutputs = z.object({
  endpoint: z.string().min(1),
  port: z.coerce.number().int().positive(),
  masterSecretArn: z.string().min(1),
  accountId: z.string().min(1).optional(),
});

/** Stack outputs as the Automation API returns them: each value wrapped with its secretness. */
export type OutputMap = Record<string, { value: unknown; secret: boolean }>;

/** The outputs the cut-over needs, or a ProgramError naming what the program failed to export. */
export function stackOutputsFrom(outputs: OutputMap): StackOutputs {
  const plain = Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.value]));
  const parsed = stackOutputs.safeParse(plain);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "outputs"}: ${issue.message}`);
    throw new ProvisionError(
      "ProgramError",
      `the program's stack outputs lack what the cut-over needs (${problems.join("; ")}); got keys [${Object.keys(outputs).sort().join(", ")}]; export endpoint, port and masterSecretArn`,
    );
  }
  const result: StackOutputs = { endpoint: parsed.data.endpoint, port: parsed.data.port, masterSecretArn: parsed.data.masterSecretArn };
  if (parsed.data.accountId) result.accountId = parsed.data.accountId;
  return result;
}
