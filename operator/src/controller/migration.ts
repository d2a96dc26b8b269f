import { createHash } from "node:crypto";
import type { TenantPlacementStatus, Tier } from "../api/v1alpha1/index.ts";
import { ApiError, type KubeObject } from "../kube/client.ts";
import { ownerAnnotations } from "./children.ts";
import type { ControllerContext } from "./context.ts";
import { LABELS } from "../api/labels.ts";
import { tenantLabels } from "./labels.ts";
import { tenantNamespace } from "../api/names.ts";
import type { StackEntry } from "./stacks.ts";

/**
 * The policy's migration Job, run between provisioning and cut-over when a move changes where the
 * tenant's data lives (shared database ↔ dedicated RDS ↔ RDS in the tenant's account). The Job gets
 * where to copy from and to in its environment; never a password: it reads the secret by ARN.
 *
 * The Job runs in the tenant's namespace, where the tenant's admins may create, delete and read
 * Jobs. So its name is one they cannot know before it exists (a hash of the move's UID, which they
 * cannot read), it is created (POST), never applied over an existing object, and its status is
 * believed only from the Job whose UID the TenantPlacement's status recorded at creation: a Job a
 * tenant admin made, or deleted and re-made under the same name, cannot complete a move.
 */

export type MigrationStatus = NonNullable<TenantPlacementStatus["migration"]>;

interface JobObject extends KubeObject {
  spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> } & Record<string, unknown>> } & Record<string, unknown> } & Record<string, unknown> };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** Base delay before retrying a failed migration; doubles per failure up to an hour. */
const MIGRATION_RETRY_MS = 30_000;
export const migrationRetryMs = (failures: number): number => Math.min(MIGRATION_RETRY_MS * 2 ** Math.max(0, failures - 1), 3_600_000);

export const MIGRATION_JOB_PREFIX = "landlord-migrate-";

export function migrationJobName(decisionUid: string, attempt: number): string {
  return `${MIGRATION_JOB_PREFIX}${createHash("sha256").update(`${decisionUid}/${attempt}`).digest("hex").slice(0, 20)}`;
}

/**
 * What the operator refuses in a policy's migration template: everything that would let a Job it
 * writes do more than copy data with the endpoints it is given (the namespace guard refuses the same
 * at admission). Empty when the template is acceptable.
 */
export function jobTemplateProblems(template: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const spec = (template.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec ?? {};
  for (const field of ["serviceAccountName", "serviceAccount"]) {
    if (spec[field] !== undefined) problems.push(`sets ${field} (the policy's migration.serviceAccountName names it)`);
  }
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[field] === true) problems.push(`sets ${field}`);
  for (const volume of (spec.volumes as Array<Record<string, unknown>> | undefined) ?? []) {
    if (volume.hostPath !== undefined) problems.push(`mounts a hostPath volume (${String(volume.name)})`);
    if (volume.secret !== undefined) problems.push(`mounts a Secret volume (${String(volume.name)}): the Job reads its credentials by ARN`);
    if (volume.projected !== undefined) problems.push(`mounts a projected volume (${String(volume.name)})`);
  }
  type Container = { name?: string; securityContext?: { privileged?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { add?: unknown[] } }; env?: Array<{ valueFrom?: { secretKeyRef?: unknown } }>; envFrom?: Array<{ secretRef?: unknown }> };
  const containers = [...((spec.containers as Container[] | undefined) ?? []), ...((spec.initContainers as Container[] | undefined) ?? [])];
  for (const c of containers) {
    const context = c.securityContext ?? {};
    if (context.privileged === true) problems.push(`container ${c.name} is privileged`);
    if (context.allowPrivilegeEscalation === true) problems.push(`container ${c.name} allows privilege escalation`);
    if ((context.capabilities?.add ?? []).length > 0) problems.push(`container ${c.name} adds capabilities`);
    if ((c.env ?? []).some((e) => e.valueFrom?.secretKeyRef !== undefined) || (c.envFrom ?? []).some((e) => e.secretRef !== undefined)) {
      problems.push(`container ${c.name} reads a Kubernetes Secret`);
    }
  }
  return problems;
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
  /** The TenantPlacement's UID: the Job's owner. */
  owner: string | undefined;
  costCenter: string;
  tags?: Record<string, string> | undefined;
  decision: string;
  /** The PlacementDecision's UID: the Job's name derives from it. */
  decisionUid: string;
  attempt: number;
  /** The policy's migration.serviceAccountName; unset: `default` without a token. */
  serviceAccountName?: string | undefined;
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
  if (podSpec) {
    // Fixed here, not by the template: a Job Landlord writes never borrows a tenant's ServiceAccount.
    podSpec.serviceAccountName = input.serviceAccountName ?? "default";
    if (!input.serviceAccountName) podSpec.automountServiceAccountToken = false;
    // The tenant namespace enforces Pod Security restricted: what the template leaves unsaid is
    // filled in the way restricted requires, so a plain template runs; what it says is kept.
    podSpec.securityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, ...((podSpec.securityContext as Record<string, unknown> | undefined) ?? {}) };
    for (const container of [...(podSpec.containers ?? []), ...((podSpec.initContainers as typeof podSpec.containers) ?? [])]) {
      container.securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, ...((container.securityContext as Record<string, unknown> | undefined) ?? {}) };
    }
  }
  const annotations = { ...(template.metadata?.annotations ?? {}), ...(ownerAnnotations(input.owner).annotations ?? {}) };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: migrationJobName(input.decisionUid, input.attempt),
      namespace: tenantNamespace(input.tenantId),
      labels: {
        ...(template.metadata?.labels ?? {}),
        ...tenantLabels({ tenantId: input.tenantId, tier: input.to, costCenter: input.costCenter, ...(input.tags ? { tags: input.tags } : {}) }),
        [LABELS.decision]: input.decision,
      },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec,
  };
}

export type MigrationOutcome =
  | { state: "Running"; status: MigrationStatus }
  | { state: "Succeeded"; status: MigrationStatus }
  | { state: "Failed"; status: MigrationStatus; retryAt: number; message: string }
  /** The policy's template is one Landlord will not run; nothing is retried until the policy changes. */
  | { state: "Refused"; message: string };

/**
 * One step of the migration, level-based: creates the attempt's Job if it does not exist, reads
 * its conditions, and after a failure waits for the backoff before the next attempt's Job.
 */
export async function driveMigration(ctx: ControllerContext, input: Omit<MigrationInput, "attempt">, previous: MigrationStatus | undefined): Promise<MigrationOutcome> {
  const problems = jobTemplateProblems(input.template);
  if (problems.length > 0) return { state: "Refused", message: `the policy's migration jobTemplate ${problems.join("; ")}: Landlord does not run it` };
  const current = previous?.decision === input.decision ? previous : undefined;
  if (current?.state === "Succeeded") return { state: "Succeeded", status: current };
  let attempt = current?.attempt ?? 1;
  if (current?.state === "Failed") {
    const retryAt = Date.parse(current.retryAt ?? "");
    if (retryAt > ctx.now().getTime()) return { state: "Failed", status: current, retryAt, message: current.lastError ?? "migration failed" };
    attempt += 1;
  }
  const name = migrationJobName(input.decisionUid, attempt);
  const namespace = tenantNamespace(input.tenantId);
  const recorded = current?.attempt === attempt && current.job === name ? current.jobUid : undefined;
  const status: MigrationStatus = { job: name, decision: input.decision, attempt, state: "Running", ...(recorded ? { jobUid: recorded } : {}) };
  let job = ctx.store.get<JobObject>("Job", name, namespace);
  if (job && job.metadata.uid !== recorded) {
    if (recorded) {
      // Replaced under the same name after Landlord created it: that Job's outcome means nothing.
      return failedAttempt(ctx, status, attempt, `migration job ${namespace}/${name} was replaced by an object Landlord did not create; a new attempt starts with a new Job`);
    }
    // At this name but never recorded: a Job left by a crash between its creation and the status
    // write, or one someone else made. Neither is believed: it goes, and the attempt starts afresh.
    await ctx.resources.delete("Job", name, namespace, job.metadata.uid ? { uid: job.metadata.uid } : {});
    ctx.log.warn({ job: name, attempt }, "Deleted a migration job whose UID the status did not record");
    return { state: "Running", status };
  }
  if (!job) {
    try {
      job = await ctx.resources.create<JobObject>(migrationJob({ ...input, attempt }));
    } catch (error) {
      // Created meanwhile by someone else: handled as above by the next reconcile, once the store has it.
      if (error instanceof ApiError && error.status === 409) return { state: "Running", status };
      throw error;
    }
    ctx.store.upsert("Job", { ...job, kind: "Job" });
    ctx.log.info({ job: name, attempt }, "Started the migration job");
    if (job.metadata.uid) status.jobUid = job.metadata.uid;
  }
  const conditions = job.status?.conditions ?? [];
  if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return { state: "Succeeded", status: { ...status, state: "Succeeded" } };
  const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) {
    return failedAttempt(ctx, status, attempt, `migration job ${namespace}/${name} failed${failed.reason ? ` (${failed.reason})` : ""}${failed.message ? `: ${failed.message}` : ""}`);
  }
  return { state: "Running", status };
}

function failedAttempt(ctx: ControllerContext, status: MigrationStatus, attempt: number, message: string): MigrationOutcome {
  // Every failed attempt so far counts: attempt 3 failing is the third failure.
  const retryAt = ctx.now().getTime() + migrationRetryMs(attempt);
  return { state: "Failed", status: { ...status, state: "Failed", lastError: message.slice(0, 4000), retryAt: new Date(retryAt).toISOString() }, retryAt, message };
}
