import { COST_KEYS } from "../api/labels.ts";
import type { PlacementPolicySpec, TenantPlacementSpec, TenantPlacementStatus, Tier } from "../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { stackName, type StackKind, type StackRequest, type StackResource } from "../provision/port.ts";
import { requestHash, type OperationState } from "../provision/runner.ts";
import type { ConditionInput } from "./conditions.ts";
import type { ControllerContext } from "./context.ts";
import { costTags } from "../../../pulumi/tags.ts";
import { EVENT_REASONS, REASONS } from "./reasons.ts";

/**
 * The dedicated AWS stacks of a tenant, driven level-based: a stack is brought up when the tier
 * that serves the tenant (or the tier it moves to) needs it, and destroyed once nothing does. The
 * operation itself runs in the OperationRunner; this module only turns its state into status.
 */

export type StackEntry = NonNullable<TenantPlacementStatus["stacks"]>[number];
export type InventoryItem = NonNullable<TenantPlacementStatus["resources"]>[number];

/** The stack a tier needs, if any: pooled and namespace tenants live on the shared database. */
export function stackOf(tier: Tier | undefined): StackKind | undefined {
  return tier === "database" || tier === "account" ? tier : undefined;
}

/** What the policy says the stack must hold, or why it cannot be built. */
export function stackRequest(
  ctx: ControllerContext,
  spec: TenantPlacementSpec,
  tenantId: string,
  kind: StackKind,
  options: { releasing?: boolean } = {},
): { request: StackRequest } | { error: string } {
  const policy = ctx.store.get<KubeObject & { spec?: PlacementPolicySpec }>("PlacementPolicy", spec.policyRef)?.spec;
  if (!policy) return { error: `PlacementPolicy ${spec.policyRef} does not exist, so the ${kind} tier has no settings` };
  const entry = policy.tiers.find((t) => t.tier === kind);
  // The account tier's instance takes the account entry's database settings, else the database tier's.
  const database = entry?.database ?? policy.tiers.find((t) => t.tier === "database")?.database;
  if (!database) return { error: `PlacementPolicy ${spec.policyRef} has no database settings for the ${kind} tier (tiers[].database)` };
  let account: StackRequest["account"];
  if (kind === "account") {
    if (!entry?.account) return { error: `PlacementPolicy ${spec.policyRef} has no account settings (tiers[account].account)` };
    account = { ...entry.account, email: entry.account.emailTemplate.replaceAll("{{tenantId}}", tenantId) };
  }
  const aws = ctx.aws;
  let tags: Record<string, string>;
  try {
    // AWS tags from the same function as the labels (labels are these values made label-safe).
    tags = costTags({ tenantId, tier: kind, costCenter: spec.costCenter, ...(spec.tags ? { tags: spec.tags } : {}) });
  } catch (error) {
    // Only an object stored before today's validation can get here; say which tag is wrong.
    return { error: `the tenant's tags are not valid AWS tags: ${error instanceof Error ? error.message : String(error)}` };
  }
  return {
    request: {
      tenantId,
      kind,
      tags,
      database,
      ...(account ? { account } : {}),
      deletionPolicy: spec.deletionPolicy,
      ...(options.releasing ? { releasing: true } : {}),
      aws: {
        region: aws.region,
        ...(aws.vpcId ? { vpcId: aws.vpcId } : {}),
        ...(aws.subnetIds ? { subnetIds: aws.subnetIds } : {}),
        ...(aws.clientCidrs && kind === "database" ? { clientCidrs: aws.clientCidrs } : {}),
      },
    },
  };
}

export interface StackProgress {
  entry: StackEntry | undefined;
  /** Resources from a fresh operation; absent when the status' inventory is still right. */
  resources?: StackResource[];
  /** When to look again though no event will come (a retry time). */
  retryAt?: number;
}

const failedEntry = (base: StackEntry, state: OperationState & { state: "failed" }, failedAs: StackEntry["state"]): StackEntry => ({
  ...base,
  state: failedAs,
  failures: state.failures,
  lastError: state.error.message.slice(0, 4000),
  retryAt: state.retryAt.toISOString(),
});

/** Brings the stack up (or keeps it up) and returns its status entry. */
export function driveStackUp(ctx: ControllerContext, request: StackRequest, previous: StackEntry | undefined): StackProgress {
  const hash = requestHash(request);
  const base: StackEntry = { ...previous, kind: request.kind, name: stackName(request.tenantId, request.kind), state: previous?.state ?? "Provisioning" };
  // Up to date and recorded: nothing to run, even right after an operator restart.
  if (previous?.state === "Ready" && previous.requestHash === hash) return { entry: previous };
  const retryAt = previous?.retryAt ? Date.parse(previous.retryAt) : undefined;
  if (previous?.state === "Failed" && previous.requestHash === hash && retryAt !== undefined && retryAt > ctx.now().getTime() && !ctx.provisioner.knows(request)) {
    return { entry: previous, retryAt };
  }
  const state = ctx.provisioner.ensure("up", request, { failures: previous?.requestHash === hash ? (previous?.failures ?? 0) : 0 });
  switch (state.state) {
    case "queued":
    case "running":
      return { entry: { ...base, state: state.operation === "up" ? "Provisioning" : "Destroying" } };
    case "failed": {
      const entry = failedEntry({ ...base, requestHash: hash }, state, "Failed");
      return { entry, retryAt: state.retryAt.getTime() };
    }
    case "succeeded": {
      if (state.operation !== "up") return { entry: { ...base, state: "Provisioning" } };
      const { outputs, resources, planned } = state.result;
      const entry: StackEntry = {
        kind: request.kind,
        name: base.name,
        state: "Ready",
        requestHash: hash,
        ...(planned ? { planned: true } : {}),
        endpoint: outputs.endpoint,
        port: outputs.port,
        masterSecretArn: outputs.masterSecretArn,
        ...(outputs.accountId ? { accountId: outputs.accountId } : {}),
      };
      return { entry, resources };
    }
  }
}

/** Destroys a stack nothing needs any more; the entry disappears once the destroy succeeded. */
export function driveStackDestroy(ctx: ControllerContext, request: StackRequest, previous: StackEntry): StackProgress {
  const retryAt = previous.retryAt ? Date.parse(previous.retryAt) : undefined;
  if (previous.state === "DestroyFailed" && retryAt !== undefined && retryAt > ctx.now().getTime() && !ctx.provisioner.knows(request)) {
    return { entry: previous, retryAt };
  }
  const state = ctx.provisioner.ensure("destroy", request, { failures: previous.state === "DestroyFailed" ? (previous.failures ?? 0) : 0 });
  switch (state.state) {
    case "queued":
    case "running":
      return { entry: { ...previous, state: "Destroying" } };
    case "failed":
      return { entry: failedEntry(previous, state, state.operation === "destroy" ? "DestroyFailed" : "Failed"), retryAt: state.retryAt.getTime() };
    case "succeeded":
      if (state.operation !== "destroy") return { entry: { ...previous, state: "Destroying" } };
      ctx.provisioner.forget(request.tenantId, request.kind);
      return { entry: undefined };
  }
}

/** Inventory items for the AWS resources of a stack, with their tags (cost mapping is checked on them). */
export function awsInventory(resources: readonly StackResource[], planned: boolean): InventoryItem[] {
  return resources.map((r) => ({
    kind: r.type,
    name: r.name,
    ...(r.id ? { id: r.id } : {}),
    ...(r.arn ? { arn: r.arn } : {}),
    ...(planned ? { planned: true } : {}),
    tags: r.tags,
  }));
}

/** AWS items are those whose kind is a Pulumi type token (aws:rds/instance:Instance). */
export const isAwsItem = (item: InventoryItem): boolean => item.kind.includes(":");

/** Which stack an AWS inventory item belongs to, from the tier tag Landlord put on it. */
export const itemStack = (item: InventoryItem): string | undefined => item.tags?.[COST_KEYS.tier];

/**
 * One reconcile's view of the tenant's stacks: drives them and collects what the status needs
 * (entries, fresh AWS inventory, conditions, retry times), so the reconciler reads as the workflow.
 */
export class StackBook {
  private readonly entries: Map<StackKind, StackEntry>;
  private readonly fresh = new Map<StackKind, InventoryItem[]>();
  readonly conditions: ConditionInput[] = [];
  readonly retryAts: number[] = [];
  /** Stacks that became Ready or were destroyed in this reconcile, for Events. */
  readonly changes: Array<{ kind: StackKind; what: typeof EVENT_REASONS.provisioned | typeof EVENT_REASONS.released; entry: StackEntry }> = [];

  constructor(
    private readonly ctx: ControllerContext,
    private readonly spec: TenantPlacementSpec,
    private readonly tenantId: string,
    private readonly previous: TenantPlacementStatus,
    private readonly served: Tier | undefined,
  ) {
    this.entries = new Map((previous.stacks ?? []).map((e) => [e.kind, e]));
  }

  entry(kind: StackKind | undefined): StackEntry | undefined {
    return kind ? this.entries.get(kind) : undefined;
  }

  /** Whether any stack's last operation failed (the move cannot go on until it is retried). */
  failed(): boolean {
    return [...this.entries.values()].some((e) => e.state === "Failed");
  }

  /** Brings the stack up; true once it is Ready. */
  up(kind: StackKind): boolean {
    const built = stackRequest(this.ctx, this.spec, this.tenantId, kind);
    if ("error" in built) {
      this.conditions.push({ type: "Degraded", status: "True", reason: REASONS.stackSettingsMissing, message: `${built.error}; the tenant stays served from ${this.served ?? "nowhere yet"}` });
      return false;
    }
    const before = this.entries.get(kind);
    if (!before) {
      // Recorded before it is started: a stack whose `up` may have begun must be named in the
      // status, or a crash before the status write would leave cloud resources nothing releases.
      // The status write wakes the tenant again, and that reconcile starts it.
      this.entries.set(kind, { kind, name: stackName(this.tenantId, kind), state: "Provisioning" });
      return false;
    }
    const progress = driveStackUp(this.ctx, built.request, before);
    this.record(kind, progress);
    const entry = progress.entry;
    if (entry?.state === "Ready" && before?.state !== "Ready") this.changes.push({ kind, what: EVENT_REASONS.provisioned, entry });
    if (entry?.state === "Failed") {
      this.conditions.push({
        type: "Degraded",
        status: "True",
        reason: REASONS.provisionFailed,
        message: `${this.ctx.provisioner.kind} up of stack ${entry.name} failed (${entry.failures ?? 1} time(s)): ${entry.lastError ?? "unknown error"}; retrying at ${entry.retryAt ?? "once the cause changes"}; the tenant stays served from ${this.served ?? "nowhere yet"}`,
      });
    }
    return entry?.state === "Ready";
  }

  /** Destroys every stack but `keep` (honouring spec.deletionPolicy); true once none is left. */
  releaseAllBut(keep: StackKind | undefined): boolean {
    for (const [kind, before] of [...this.entries]) {
      if (kind === keep) continue;
      const built = stackRequest(this.ctx, this.spec, this.tenantId, kind, { releasing: true });
      if ("error" in built) {
        this.conditions.push({ type: "Degraded", status: "True", reason: REASONS.stackSettingsMissing, message: `cannot release stack ${before.name}: ${built.error}` });
        continue;
      }
      const progress = driveStackDestroy(this.ctx, built.request, before);
      this.record(kind, progress);
      if (!progress.entry) this.changes.push({ kind, what: EVENT_REASONS.released, entry: before });
      else if (progress.entry.state === "DestroyFailed") {
        this.conditions.push({
          type: "Degraded",
          status: "True",
          reason: REASONS.releaseFailed,
          message:
            `destroying stack ${before.name} (deletionPolicy ${this.spec.deletionPolicy}) failed (${progress.entry.failures ?? 1} time(s)): ${progress.entry.lastError ?? "unknown error"}; ` +
            `retrying at ${progress.entry.retryAt ?? "later"}. To get out: fix the cause in AWS, or set spec.deletionPolicy to Retain to keep the resources and only forget the stack`,
        });
      }
    }
    return [...this.entries.keys()].every((kind) => kind === keep);
  }

  private record(kind: StackKind, progress: StackProgress): void {
    if (progress.entry) this.entries.set(kind, progress.entry);
    else this.entries.delete(kind);
    if (progress.resources) this.fresh.set(kind, awsInventory(progress.resources, progress.entry?.planned ?? false));
    if (progress.retryAt !== undefined) this.retryAts.push(progress.retryAt);
  }

  /** status.stacks, in a fixed order so an unchanged book writes nothing. */
  status(): StackEntry[] | undefined {
    const list = [...this.entries.values()].sort((a, b) => a.kind.localeCompare(b.kind));
    return list.length > 0 ? list : undefined;
  }

  /** AWS inventory: fresh from an operation that just ran, else what the status recorded. */
  inventory(): InventoryItem[] {
    const items: InventoryItem[] = [];
    for (const kind of [...this.entries.keys()].sort()) {
      items.push(...(this.fresh.get(kind) ?? (this.previous.resources ?? []).filter((i) => isAwsItem(i) && itemStack(i) === kind)));
    }
    return items;
  }
}
