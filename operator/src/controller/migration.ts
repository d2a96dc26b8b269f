import type { TenantPlacementStatus, Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ControllerContext } from "./context.ts";
import { LABELS, tenantLabels } from "./labels.ts";
import { dnsLabelName, tenantNamespace } from "./names.ts";
import type { StackEntry } from "./stacks.ts";

/**
 * The policy's migration Job, run between provisioning and cut-over when a move changes where the
 * tenant's data lives (shared database ↔ dedicated RDS ↔ RDS in the tenant's account). The Job gets
 * where to copy from and to in its environment; never a password: it reads the secret by ARN.
 */

export type MigrationStatus = NonNullable<TenantPlacementStatus["migration"]>;

interface JobObject extends KubeObject {
  spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> } & Record<string, unknown>> } & Record<string, unknown> } & Record<string, unknown> };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** Base delay before retrying a failed migration; doubles per failure up to an hour. */
const MIGRATION_RETRY_MS = 30_000;
export const migrationRetryMs = (failures: number): number => Math.min(MIGRATION_RETRY_MS * 2 ** Math.max(0, failures - 1), 3_600_000);

export function migrationJobName(decision: string, attempt: number): string {
  return dnsLabelName(`landlord-migrate-${decision}-${attempt}`);
}

/** Replaces {{tenantId}}, {{from}} and {{to}} in every string of the template. */
function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === "string") return value.replace(/\{\{(tenantId|from|to)\}\}/g, (_, name: string) => vars[name] ?? "");
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  return value;
}

export interface MigrationInput {
  tenantId: string;
  costCenter: string;
  tags?: Record<string, string> | undefined;
  decision: string;
  attempt: number;
  from: Tier;
  to: Tier;
  template: Record<string, unknown>;
  /** The stack the data moves to (absent when moving back to the shared database). */
  target?: StackEntry | undefined;
  source?: StackEntry | undefined;
}

/** The Job for one attempt: the template with its variables substituted and Landlord's env and labels added. */
export function migrationJob(input: MigrationInput): KubeObject {
  const vars = { tenantId: input.tenantId, from: input.from, to: input.to };
  const template = substitute(input.template, vars) as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: JobObject["spec"] };
  const env: Array<{ name: string; value: string }> = [
    { name: "TENANT_ID", value: input.tenantId },
    { name: "FROM_TIER", value: input.from },
    { name: "TO_TIER", value: input.to },
  ];
  const endpoints: Array<[string, StackEntry | undefined]> = [
    ["TARGET", input.target],
    ["SOURCE", input.source],
  ];
  for (const [prefix, stack] of endpoints) {
    if (stack?.endpoint) env.push({ name: `${prefix}_ENDPOINT`, value: stack.endpoint });
    if (stack?.port) env.push({ name: `${prefix}_PORT`, value: String(stack.port) });
    if (stack?.masterSecretArn) env.push({ name: `${prefix}_SECRET_ARN`, value: stack.masterSecretArn });
  }
  const spec = structuredClone(template.spec ?? {});
  const podSpec = spec.template?.spec;
  for (const container of podSpec?.containers ?? []) {
    const ours = new Set(env.map((e) => e.name));
    // Landlord's values win over a template that sets the same names: they are the move's facts.
    container.env = [...(container.env ?? []).filter((e) => !ours.has(e.name)), ...env];
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: migrationJobName(input.decision, input.attempt),
      namespace: tenantNamespace(input.tenantId),
      labels: {
        ...(template.metadata?.labels ?? {}),
        ...tenantLabels({ tenantId: input.tenantId, tier: input.to, costCenter: input.costCenter, ...(input.tags ? { tags: input.tags } : {}) }),
        [LABELS.decision]: input.decision,
      },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
    },
    spec,
  };
}

export type MigrationOutcome =
  | { state: "Running"; status: MigrationStatus }
  | { state: "Succeeded"; status: MigrationStatus }
  | { state: "Failed"; status: MigrationStatus; retryAt: number; message: string };

/**
 * One step of the migration, level-based: creates the attempt's Job if it does not exist, reads
 * its conditions, and after a failure waits for the backoff before the next attempt's Job.
 */
export async function driveMigration(ctx: ControllerContext, input: Omit<MigrationInput, "attempt">, previous: MigrationStatus | undefined): Promise<MigrationOutcome> {
  const current = previous?.decision === input.decision ? previous : undefined;
  if (current?.state === "Succeeded") return { state: "Succeeded", status: current };
  let attempt = current?.attempt ?? 1;
  if (current?.state === "Failed") {
    const retryAt = Date.parse(current.retryAt ?? "");
    if (retryAt > ctx.now().getTime()) return { state: "Failed", status: current, retryAt, message: current.lastError ?? "migration failed" };
    attempt += 1;
  }
  const name = migrationJobName(input.decision, attempt);
  const namespace = tenantNamespace(input.tenantId);
  let job = ctx.store.get<JobObject>("Job", name, namespace);
  if (!job) {
    job = (await ctx.resources.apply(migrationJob({ ...input, attempt }))) as JobObject;
    ctx.store.upsert("Job", { ...job, kind: "Job" });
    ctx.log.info({ job: name, attempt }, "Started the migration job");
  }
  const conditions = job.status?.conditions ?? [];
  const status: MigrationStatus = { job: name, decision: input.decision, attempt, state: "Running" };
  if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return { state: "Succeeded", status: { ...status, state: "Succeeded" } };
  const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) {
    // Every failed attempt so far counts: attempt 3 failing is the third failure.
    const retryAt = ctx.now().getTime() + migrationRetryMs(attempt);
    const message = `migration job ${namespace}/${name} failed${failed.reason ? ` (${failed.reason})` : ""}${failed.message ? `: ${failed.message}` : ""}`;
    return { state: "Failed", status: { ...status, state: "Failed", lastError: message.slice(0, 4000), retryAt: new Date(retryAt).toISOString() }, retryAt, message };
  }
  return { state: "Running", status };
}
