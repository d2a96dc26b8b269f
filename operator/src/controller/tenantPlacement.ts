import {
  tenantPlacementSpec,
  type PlacementPolicySpec,
  type Quota,
  type TenantPlacementSpec,
  type TenantPlacementStatus,
  type Tier,
} from "../api/v1alpha1/index.ts";
import { z } from "zod";
import { ApiError, type KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { CHILD_NAMES, connectionConfigMap, DEFAULT_NAMESPACE_QUOTA, namespaceTierObjects, registryEntry } from "./children.ts";
import { compact, jsonEqual, mergeConditions, specIssues, type Condition, type ConditionInput } from "./conditions.ts";
import { applyIfChanged, applyStatus, ForeignObjectError, isManaged, poolKey, setFinalizer, tenantKey, type ControllerContext } from "./context.ts";
import { finishDecision, headOf, markStep, openDecision, recordDecision, type DecisionObject } from "./decisions.ts";
import { driveMigration, type MigrationStatus } from "./migration.ts";
import { REQUIRED_TENANT_LABELS } from "./labels.ts";
import { StackBook, stackOf, type InventoryItem } from "./stacks.ts";
import type { TierChoice } from "./desiredTier.ts";
import { choosePlacement, type PlacementChoice } from "./placementChoice.ts";
import { APPROVE_ANNOTATION, FINALIZER, LABELS, MANAGED_BY_VALUE } from "./labels.ts";
import { AUDIT_ANNOTATIONS } from "../audit/annotations.ts";
import { tenantNamespace } from "./names.ts";
import { foreignOwner, type Owner } from "./ownership.ts";
import { parseShardIndex } from "../placement/placer.ts";
import { EGRESS_POLICY_NAME } from "./egress.ts";
import { parsedSpec } from "./parsedSpec.ts";
import { unseatableReason } from "./unseatable.ts";

export interface TenantObject extends KubeObject {
  spec: TenantPlacementSpec;
  status?: TenantPlacementStatus;
}

/** Requeue interval while a move waits for something the store will announce anyway (a safety net). */
const MOVE_POLL_MS = 5_000;

/** Who owns a tenant's objects: the TenantPlacement's UID, and its tenant label for objects older than UIDs. */
export function tenantOwner(tenant: KubeObject, tenantId: string): Owner {
  return { uid: tenant.metadata.uid, label: [LABELS.tenant, tenantId] };
}

/**
 * Whether a registry ConfigMap is one the pool's reconcile wrote: in a shard namespace of that
 * pool (its prefix), both created for that TenantPool (its UID). Anyone may create a ConfigMap
 * named landlord-tenants with Landlord's labels in a namespace they can write (a tenant admin in
 * their own namespace); believing it let them claim seats, stall moves and point status at it.
 */
export function trustedRegistry(ctx: ControllerContext, poolName: string, configMap: KubeObject): boolean {
  const pool = ctx.store.get<KubeObject & { spec?: { namespacePrefix?: string } }>("TenantPool", poolName);
  const namespaceName = configMap.metadata.namespace ?? "";
  const prefix = pool?.spec?.namespacePrefix;
  if (!pool || !prefix || configMap.metadata.name !== CHILD_NAMES.registry || parseShardIndex(prefix, namespaceName) === undefined) return false;
  const owner: Owner = { uid: pool.metadata.uid, label: [LABELS.pool, poolName] };
  const namespace = ctx.store.get("Namespace", namespaceName);
  return namespace !== undefined && foreignOwner(namespace, owner) === undefined && foreignOwner(configMap, owner) === undefined;
}

/** Where the tenant holds a seat in its pool, read from the shards' registry ConfigMaps. */
export function findSeat(ctx: ControllerContext, pool: string, tenantId: string): { namespace: string; entry: string } | undefined {
  for (const configMap of ctx.store.byLabel("ConfigMap", LABELS.pool, pool)) {
    if (!trustedRegistry(ctx, pool, configMap)) continue;
    const data = (configMap.data ?? {}) as Record<string, string>;
    const entry = data[tenantId];
    if (entry !== undefined) return { namespace: configMap.metadata.namespace ?? "", entry };
  }
  return undefined;
}

/** Whether the seat's registry entry still says what the spec says (cost center, quota). */
function seatUpToDate(ctx: ControllerContext, spec: TenantPlacementSpec, seat: { entry: string }): boolean {
  const pool = ctx.store.get<KubeObject & { spec?: { tenantDefaults?: Quota } }>("TenantPool", spec.pool);
  const expected = registryEntry(spec, pool?.spec?.tenantDefaults ?? {});
  return seat.entry === JSON.stringify(expected);
}

function policyQuota(ctx: ControllerContext, spec: TenantPlacementSpec, tier: Tier): Quota | undefined {
  return policyOf(ctx, spec)?.tiers?.find((t) => t.tier === tier)?.quota;
}

function namespaceReady(ctx: ControllerContext, owner: Owner, tenantId: string): boolean {
  const name = tenantNamespace(tenantId);
  const namespace = ctx.store.get("Namespace", name);
  const status = namespace?.status as { phase?: string } | undefined;
  return isManaged(namespace) && !foreignOwner(namespace, owner) && !namespace?.metadata.deletionTimestamp && status?.phase === "Active" && ctx.store.get("ResourceQuota", CHILD_NAMES.quota, name) !== undefined;
}

/** Deletes the tenant's dedicated namespace if Landlord created it for this tenant (its owner UID). */
async function releaseNamespace(ctx: ControllerContext, owner: Owner, tenantId: string): Promise<boolean> {
  const name = tenantNamespace(tenantId);
  const namespace = ctx.store.get("Namespace", name);
  if (!namespace || foreignOwner(namespace, owner) !== undefined) return false;
  if (!namespace.metadata.deletionTimestamp) {
    const answer = await ctx.resources.delete("Namespace", name, undefined, namespace.metadata.uid ? { uid: namespace.metadata.uid } : {});
    if (answer?.metadata) ctx.store.upsert("Namespace", { ...answer, kind: "Namespace" });
  }
  return true;
}

/** Kubernetes objects of the tier that serves the tenant; the AWS resources of its stacks follow. */
function inventory(tier: Tier | undefined, tenantId: string, seat: { namespace: string } | undefined, admins: boolean, aws: InventoryItem[]): TenantPlacementStatus["resources"] {
  const items: InventoryItem[] = [];
  if (tier === "pooled" && seat) items.push({ kind: "ConfigMap", name: CHILD_NAMES.registry, namespace: seat.namespace });
  if (tier !== undefined && tier !== "pooled") {
    const namespace = tenantNamespace(tenantId);
    items.push(
      { kind: "Namespace", name: namespace },
      { kind: "ResourceQuota", name: CHILD_NAMES.quota, namespace },
      { kind: "LimitRange", name: CHILD_NAMES.limits, namespace },
      { kind: "NetworkPolicy", name: CHILD_NAMES.networkPolicy, namespace },
      { kind: "NetworkPolicy", name: EGRESS_POLICY_NAME, namespace },
      ...(admins ? [{ kind: "RoleBinding", name: CHILD_NAMES.adminBinding, namespace }] : []),
      ...(stackOf(tier) ? [{ kind: "ConfigMap", name: CHILD_NAMES.connection, namespace }] : []),
    );
  }
  items.push(...aws);
  return items.length > 0 ? items : undefined;
}

/** AWS resources missing a required cost tag (or carrying a wrong value), for TagsCompliant. */
function untagged(aws: readonly InventoryItem[], tenantId: string, costCenter: string): string[] {
  const expected: Record<string, string> = { [LABELS.tenant]: tenantId, [LABELS.costCenter]: costCenter, [LABELS.managedBy]: MANAGED_BY_VALUE };
  return aws
    .filter((item) => REQUIRED_TENANT_LABELS.some((key) => item.tags?.[key] === undefined) || Object.entries(expected).some(([key, value]) => item.tags?.[key] !== value))
    .map((item) => `${item.kind} ${item.name ?? item.id ?? ""}`.trim());
}

/**
 * Level-based reconcile of one TenantPlacement: compute where it should live, drive the move one
 * step further (target ready before the old placement is released), record the decision, and
 * write status only when it changed.
 */
export async function reconcileTenant(ctx: ControllerContext, tenantId: string): Promise<ReconcileResult> {
  const tenant = ctx.store.get<TenantObject>("TenantPlacement", tenantId);
  if (!tenant) return { kind: "done" };
  const previous = tenant.status ?? {};
  const now = ctx.now().toISOString();
  const generation = tenant.metadata.generation;

  const spec = parsedSpec(tenantPlacementSpec, tenant);
  if (!spec && tenant.metadata.deletionTimestamp) {
    // Deleting is still possible with a spec that no longer validates: release with what can be salvaged.
    const salvaged = salvageSpec(tenant);
    if (salvaged) return finalizeTenant(ctx, tenant, salvaged);
  }
  if (!spec) {
    // Parsed again only on this rare path, for the issues' text.
    const message = specIssues(tenantPlacementSpec.safeParse(tenant.spec).error ?? { issues: [] });
    await applyStatus(ctx, tenant, compact({
      ...previous,
      observedGeneration: generation,
      conditions: mergeConditions(previous.conditions, [
        { type: "Ready", status: previous.tier ? "True" : "False", reason: "InvalidSpec", message: `The spec is invalid and was not acted on: ${message}` },
        { type: "Degraded", status: "True", reason: "InvalidSpec", message },
      ], now, generation),
    }));
    return { kind: "error", error: new Error(`invalid spec: ${message}`), terminal: true };
  }
  if (tenant.metadata.deletionTimestamp) return finalizeTenant(ctx, tenant, spec);
  await setFinalizer(ctx, tenant, FINALIZER, true);

  const served = previous.tier;
  let decision = openDecision(ctx, tenantId);
  const placement = choosePlacement(ctx, tenant, spec, decision);
  const choice = placement.choice;
  if (decision && served === choice.tier && decision.spec.to !== choice.tier) {
    // The move was called off (a new pin, a failed target) and the tenant is still where it was.
    await finishDecision(ctx, decision, "RolledBack", { lastStep: "CalledOff", error: `called off: the tenant stays served from ${served}` });
    decision = undefined;
  }
  if (served !== choice.tier && decision?.spec.to !== choice.tier) {
    if (decision) await finishDecision(ctx, decision, "RolledBack", { lastStep: "Superseded", error: `superseded: the tenant now goes to ${choice.tier}` });
    decision = await recordDecision(ctx, {
      tenant,
      tenantId,
      from: served,
      choice,
      ...(placement.policy ? { policy: placement.policy } : {}),
      ...(placement.signals ? { signals: placement.signals } : {}),
      ...(placement.approval ? { approval: placement.approval } : {}),
      ...(placement.actor ? { actor: placement.actor } : {}),
      ...(placement.reason ? { reason: placement.reason } : {}),
      ...(previous.decisionHead ? { head: previous.decisionHead } : {}),
    });
    // The record first, the work in a pass of its own: when many tenants cross a threshold at once,
    // every decision then lands before any tenant's children and stacks are written, instead of
    // the last decision waiting for all the other moves' writes (the key comes back behind keys
    // already queued, in the same lane).
    ctx.enqueue(tenantKey(tenantId));
    return { kind: "done" };
  }

  const seat = findSeat(ctx, spec.pool, tenantId);
  const owner = tenantOwner(tenant, tenantId);
  const conditions: ConditionInput[] = [...placement.conditions];
  const target = choice.tier;
  if (target !== "pooled" && served !== target && previous.targetTier !== target) {
    // Intent first: the status names a dedicated target before anything is created for it (the
    // pool reads the same intent before it seats a tenant). Otherwise a crash right after creating
    // the namespace or starting a stack leaves a placement no status names, which nothing releases
    // if the tenant is then sent elsewhere.
    await applyStatus(ctx, tenant, compact({ ...previous, observedGeneration: generation, targetTier: target, phase: served ? "Provisioning" : "Pending", lastDecision: decision?.metadata.name ?? previous.lastDecision, decisionHead: decision ? headOf(decision) : previous.decisionHead }));
  }
  const stacks = new StackBook(ctx, spec, tenantId, previous, served);
  let nowServed: Tier | undefined = served;
  let phase: TenantPlacementStatus["phase"];
  let migration = previous.migration;
  let waiting = false;
  const retryAts: number[] = [];
  // The pool acts on this tenant's status (targetTier), so it is woken only after that is written.
  let wakePool = false;

  try {
    // 1. The target placement, created and healthy before anything about the current one changes.
    let targetReady: boolean;
    if (target === "pooled") {
      if (!ctx.store.get("TenantPool", spec.pool)) {
        conditions.push({ type: "Degraded", status: "True", reason: "PoolNotFound", message: `TenantPool ${spec.pool} does not exist; create it or set spec.pool` });
      }
      targetReady = seat !== undefined;
      if (!seat || !seatUpToDate(ctx, spec, seat)) wakePool = true;
      const unplaceable = unseatableReason(ctx, spec.pool, tenantId);
      if (unplaceable && !seat) conditions.push({ type: "Degraded", status: "True", reason: "Unplaceable", message: unplaceable });
    } else {
      const quota = spec.quota ?? policyQuota(ctx, spec, target) ?? policyQuota(ctx, spec, "namespace") ?? DEFAULT_NAMESPACE_QUOTA;
      const podSecurity = policyOf(ctx, spec)?.podSecurity ?? "restricted";
      for (const object of namespaceTierObjects({ tenant: spec, quota, admins: spec.admins, tier: target, owner: owner.uid, podSecurity, egress: ctx.egress ?? [] })) await applyIfChanged(ctx, object);
      if (!spec.admins?.length) await removeStaleAdminBinding(ctx, owner, tenantId);
      targetReady = namespaceReady(ctx, owner, tenantId);
      const kind = stackOf(target);
      if (kind) targetReady = stacks.up(kind) && targetReady;
    }
    if (!targetReady && stacks.failed()) phase = "Failed";

    // 2. The move: migrate the data if it changes home, then cut over.
    if (served !== target && targetReady) {
      const migrationPolicy = policyOf(ctx, spec)?.migration;
      const template = migrationPolicy?.jobTemplate;
      if (served !== undefined && decision && template && stackOf(served) !== stackOf(target)) {
        const outcome = await driveMigration(
          ctx,
          {
            tenantId,
            owner: owner.uid,
            costCenter: spec.costCenter,
            tags: spec.tags,
            decision: decision.metadata.name,
            decisionUid: decision.metadata.uid ?? decision.metadata.name,
            serviceAccountName: migrationPolicy.serviceAccountName,
            from: served,
            to: target,
            template,
            target: stacks.entry(stackOf(target)),
            source: stacks.entry(stackOf(served)),
          },
          previous.migration,
        );
        if (outcome.state === "Refused") {
          phase = "Failed";
          conditions.push({ type: "Degraded", status: "True", reason: "MigrationRefused", message: `${outcome.message}; the tenant stays served from ${served}` });
        } else {
          migration = outcome.status;
          if (outcome.state === "Succeeded") nowServed = target;
          else if (outcome.state === "Running") phase = "Migrating";
          else {
            phase = "Failed";
            retryAts.push(outcome.retryAt);
            conditions.push({ type: "Degraded", status: "True", reason: "MigrationFailed", message: `${outcome.message}; attempt ${outcome.status.attempt + 1} starts at ${new Date(outcome.retryAt).toISOString()}; the tenant stays served from ${served}` });
          }
        }
      } else {
        nowServed = target;
      }
    }

    // 3. After cut-over: route to the new home; once the status records it, release the old one.
    if (nowServed === target) {
      const kind = stackOf(target);
      const entry = stacks.entry(kind);
      if (kind && entry?.endpoint && entry.port && entry.masterSecretArn) {
        await applyIfChanged(ctx, connectionConfigMap({ tenant: spec, tier: target, endpoint: entry.endpoint, port: entry.port, masterSecretArn: entry.masterSecretArn, planned: entry.planned ?? false, owner: owner.uid }));
      }
      // The old home goes only once status.tier says the tenant is served from the new one (the
      // previous reconcile wrote it): a crash or a failed status write in between must never leave
      // status.tier naming a namespace, connection or stack already being torn down. The pool
      // releases a seat by the same rule.
      const recorded = served === target;
      if (recorded) {
        // Back on the shared database; a pooled tenant's namespace goes away with it anyway.
        if (target === "namespace") await removeConnection(ctx, owner, tenantId);
        if (target === "pooled") await releaseNamespace(ctx, owner, tenantId);
        stacks.releaseAllBut(kind);
      }
      migration = undefined;
      // Until the old home is released (the seat by the pool, the rest by the next reconcile) the move is cutting over.
      const leftover = (target !== "pooled" && seat !== undefined) || (!recorded && oldHomeRemains(ctx, owner, tenantId, target, stacks));
      phase = leftover ? "CuttingOver" : "Active";
      if (target !== "pooled" && seat) wakePool = true;
    } else {
      phase ??= served ? "Provisioning" : "Pending";
    }
  } catch (error) {
    if (error instanceof ForeignObjectError) {
      phase = "Failed";
      conditions.push({ type: "Degraded", status: "True", reason: "NamespaceConflict", message: error.message });
    } else if (error instanceof ApiError && (error.status === 422 || (error.status === 403 && error.message.includes("ValidatingAdmissionPolicy")))) {
      // The API server refused an object the spec asks for: a value the TenantPlacement schema
      // accepts but a ResourceQuota or RoleBinding does not, or the chart's admission policy
      // forbids (an admin subject it does not allow). Retrying cannot fix it; saying so can.
      phase = "Failed";
      conditions.push({ type: "Degraded", status: "True", reason: "ChildRejected", message: `${error.message}; the tenant stays served from ${served ?? "nowhere yet"} until the spec is fixed` });
    } else {
      throw error;
    }
    waiting = true;
  }
  conditions.push(...stacks.conditions);
  retryAts.push(...stacks.retryAts);
  if (decision && nowServed !== decision.spec.to) decision = await markStep(ctx, decision, phase === "Failed" ? (migration ? "Migrating" : "Provisioning") : (phase ?? "Provisioning"), conditions.find((c) => c.type === "Degraded")?.message);

  const moving = nowServed !== choice.tier || phase !== "Active";
  const status = buildStatus({ previous, generation, now, spec, tenantId, served: nowServed, choice, phase, seat, decision, conditions, moving, placement, stacks, migration });
  await applyStatus(ctx, tenant, status);
  if (wakePool) ctx.enqueue(poolKey(spec.pool));
  for (const change of stacks.changes) {
    const planned = change.entry.planned ? " (planned: nothing was created in AWS)" : "";
    ctx.events.record(tenant, "Normal", change.what, `${change.what === "Provisioned" ? "Brought up" : `Released (deletionPolicy ${spec.deletionPolicy})`} stack ${change.entry.name}${planned}`);
    ctx.log.info({ stack: change.entry.name, planned: change.entry.planned ?? false }, change.what === "Provisioned" ? "Provisioned stack" : "Released stack");
  }
  const degraded = conditions.find((c) => c.type === "Degraded");
  const previousDegraded = previous.conditions?.find((c) => c.type === "Degraded");
  if (degraded && (previousDegraded?.status !== "True" || previousDegraded.reason !== degraded.reason)) {
    ctx.events.record(tenant, "Warning", degraded.reason, degraded.message);
  }
  // Closed only once the status that says where the tenant is served has been written: if this
  // process dies in between, the next reconcile finds the open decision and closes it then.
  if (decision && nowServed === decision.spec.to && phase === "Active") {
    decision = await finishDecision(ctx, decision, "Succeeded", { lastStep: "CutOver" });
    ctx.events.record(tenant, "Normal", "Placed", `${decision.metadata.name}: now served from ${nowServed}`);
    ctx.log.info({ from: decision.spec.from, to: decision.spec.to, decision: decision.metadata.name }, "Moved tenant");
    if (decision.spec.approval) await clearApproval(ctx, tenant, decision.spec.approval.annotation);
  }
  if (waiting) return { kind: "error", error: new Error(conditions.at(-1)?.message ?? "waiting") };
  // A failed step comes back at its retry time; a move in progress also polls (the runner and the
  // informers wake it sooner); a stabilization window or cooldown ends with no event at all.
  const wakeAt = Math.min(...retryAts, placement.retryAt ?? Infinity, moving ? ctx.now().getTime() + MOVE_POLL_MS : Infinity);
  if (wakeAt !== Infinity) return { kind: "requeueAfter", ms: Math.max(wakeAt - ctx.now().getTime(), 100) };
  return { kind: "done" };
}

function policyOf(ctx: ControllerContext, spec: TenantPlacementSpec): PlacementPolicySpec | undefined {
  return ctx.store.get<KubeObject & { spec?: PlacementPolicySpec }>("PlacementPolicy", spec.policyRef)?.spec;
}

const salvageable = tenantPlacementSpec.extend({ tenantId: z.string().min(1).max(63) });

/**
 * The spec of an invalid tenant for releasing it: each field that is valid on its own, defaults for
 * the rest. The cost center, if invalid, is taken from the tags of its AWS resources (the release of
 * a stack re-runs its program with these tags), else "unknown".
 */
function salvageSpec(tenant: TenantObject): TenantPlacementSpec | undefined {
  const raw = (typeof tenant.spec === "object" && tenant.spec !== null ? tenant.spec : {}) as Record<string, unknown>;
  const tagged = tenant.status?.resources?.find((r) => r.tags?.[LABELS.costCenter])?.tags?.[LABELS.costCenter];
  const kept: Record<string, unknown> = { tenantId: tenant.metadata.name, costCenter: tagged ?? "unknown" };
  for (const [key, field] of Object.entries(tenantPlacementSpec.shape)) {
    if (key !== "tenantId" && raw[key] !== undefined && field.safeParse(raw[key]).success) kept[key] = raw[key];
  }
  // The pool that seats it, as the status recorded it, if spec.pool itself is what is invalid.
  if (kept.pool === undefined && tenant.status?.pool) kept.pool = tenant.status.pool;
  // A tenant id from before the length and "--" rules (issue 15) must still be deletable: its
  // namespace is found by its old name and released only if its labels say it is this tenant's.
  const parsed = salvageable.safeParse(kept);
  return parsed.success ? parsed.data : undefined;
}

/** Whether anything of an earlier placement is still there to release once the cut-over to `target` is recorded. */
function oldHomeRemains(ctx: ControllerContext, owner: Owner, tenantId: string, target: Tier, stacks: StackBook): boolean {
  const namespace = tenantNamespace(tenantId);
  const ns = ctx.store.get("Namespace", namespace);
  if (target === "pooled" && ns && !foreignOwner(ns, owner) && !ns.metadata.deletionTimestamp) return true;
  const connection = ctx.store.get("ConfigMap", CHILD_NAMES.connection, namespace);
  if (target === "namespace" && connection && !foreignOwner(connection, owner)) return true;
  return (stacks.status() ?? []).some((entry) => entry.kind !== stackOf(target));
}

/** The connection ConfigMap only exists while a dedicated database serves the tenant. */
async function removeConnection(ctx: ControllerContext, owner: Owner, tenantId: string): Promise<void> {
  const namespace = tenantNamespace(tenantId);
  const configMap = ctx.store.get("ConfigMap", CHILD_NAMES.connection, namespace);
  if (configMap && !foreignOwner(configMap, owner)) {
    await ctx.resources.delete("ConfigMap", CHILD_NAMES.connection, namespace);
    ctx.store.remove("ConfigMap", configMap);
  }
}

/**
 * Removes the approval the move consumed: the annotation, its reason and its stamp, so the next
 * approval needs a reason of its own. A JSON patch with a `test` first: if someone changed the
 * approval meanwhile (a new approval), the patch fails and the new one stays.
 */
async function clearApproval(ctx: ControllerContext, tenant: TenantObject, value: string): Promise<void> {
  const annotations = tenant.metadata.annotations ?? {};
  if (annotations[APPROVE_ANNOTATION] !== value) return;
  const pointer = (key: string): string => `/metadata/annotations/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  const consumed = [APPROVE_ANNOTATION, AUDIT_ANNOTATIONS.approveReason, AUDIT_ANNOTATIONS.approvedBy].filter((key) => annotations[key] !== undefined);
  try {
    const patched = await ctx.resources.patchJson("TenantPlacement", tenant.metadata.name, [
      { op: "test", path: pointer(APPROVE_ANNOTATION), value },
      ...consumed.map((key) => ({ op: "remove" as const, path: pointer(key) })),
    ]);
    ctx.store.upsert("TenantPlacement", { ...patched, kind: "TenantPlacement" });
  } catch (error) {
    ctx.log.warn({ err: String(error) }, "Could not clear the approval annotation");
  }
}

async function removeStaleAdminBinding(ctx: ControllerContext, owner: Owner, tenantId: string): Promise<void> {
  const namespace = tenantNamespace(tenantId);
  const binding = ctx.store.get("RoleBinding", CHILD_NAMES.adminBinding, namespace);
  if (binding && !foreignOwner(binding, owner)) {
    await ctx.resources.delete("RoleBinding", CHILD_NAMES.adminBinding, namespace);
    ctx.store.remove("RoleBinding", binding);
  }
}

function buildStatus(o: {
  previous: TenantPlacementStatus;
  generation: number | undefined;
  now: string;
  spec: TenantPlacementSpec;
  tenantId: string;
  served: Tier | undefined;
  choice: TierChoice;
  phase: TenantPlacementStatus["phase"];
  seat: { namespace: string } | undefined;
  decision: DecisionObject | undefined;
  conditions: ConditionInput[];
  moving: boolean;
  placement: PlacementChoice;
  stacks: StackBook;
  migration: MigrationStatus | undefined;
}): Record<string, unknown> {
  const { served, choice, phase } = o;
  const waiting = o.placement.waiting;
  const degraded = o.conditions.find((c) => c.type === "Degraded");
  // A tenant whose move failed is still served where it was: Ready says so, Degraded says why.
  const ready = served !== undefined;
  const servingStack = o.stacks.entry(stackOf(served));
  const planNote = servingStack?.planned ? ` (stack ${servingStack.name} is a plan: nothing was created in AWS)` : "";
  const aws = o.stacks.inventory();
  const missingTags = untagged(aws, o.tenantId, o.spec.costCenter);
  const conditions: ConditionInput[] = [
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason: ready ? (phase === "Active" ? "Served" : phase === "Failed" ? "ServedMoveFailed" : "ServedWhileMoving") : (phase ?? "Pending"),
      message: ready ? `Served from the ${served} tier${served === "pooled" ? ` in ${o.seat?.namespace}` : ""}${planNote}` : "Not placed yet",
    },
    o.moving && served !== choice.tier
      ? { type: "Promoting", status: "True", reason: phase ?? "Pending", message: `Moving ${served ?? "(new)"} → ${choice.tier}: ${choice.reason}` }
      : waiting
        ? { type: "Promoting", status: "False", reason: waiting.why, message: waiting.message }
        : { type: "Promoting", status: "False", reason: "Settled", message: `At the desired tier ${choice.tier}` },
    missingTags.length > 0
      ? { type: "TagsCompliant", status: "False", reason: "MissingTags", message: `AWS resources without the required cost tags: ${missingTags.join(", ")}` }
      : {
          type: "TagsCompliant",
          status: "True",
          reason: served === "pooled" ? "PooledByShare" : "Labelled",
          message:
            served === "pooled"
              ? "Pooled cost is apportioned by usage share; the registry entry carries the cost center"
              : `Every object carries the required cost labels${aws.length > 0 ? ` and all ${aws.length} AWS resources the required cost tags` : ""}`,
        },
    degraded ?? { type: "Degraded", status: "False", reason: "AsExpected", message: "No problems" },
    // Signal and policy problems: present only while they hold, so they never linger after a fix.
    ...o.conditions.filter((c) => c.type !== "Degraded"),
  ];
  return compact({
    ...o.previous,
    observedGeneration: o.generation,
    phase,
    tier: served,
    targetTier: served !== choice.tier ? choice.tier : undefined,
    pool: served === "pooled" ? o.spec.pool : undefined,
    namespace: served === "pooled" ? o.seat?.namespace : served !== undefined ? tenantNamespace(o.tenantId) : undefined,
    lastDecision: o.decision?.metadata.name ?? o.previous.lastDecision,
    decisionHead: o.decision ? headOf(o.decision) : o.previous.decisionHead,
    recommendation: o.placement.recommendation,
    signals: o.placement.signals,
    // Only moved when the values change, so an unchanged evaluation writes nothing.
    signalsObservedAt: o.placement.signals && jsonEqual(o.placement.signals, o.previous.signals) ? o.previous.signalsObservedAt : o.placement.signalsObservedAt,
    resources: inventory(served, o.tenantId, o.seat, Boolean(o.spec.admins?.length), aws),
    stacks: o.stacks.status(),
    migration: o.migration,
    conditions: mergeConditions(o.previous.conditions as Condition[] | undefined, conditions, o.now, o.generation),
  });
}

/**
 * Deletion: the pool drops the seat (it skips deleting tenants), the dedicated namespace is
 * deleted, and the finalizer goes once both are gone.
 */
async function finalizeTenant(ctx: ControllerContext, tenant: TenantObject, spec: TenantPlacementSpec): Promise<ReconcileResult> {
  const tenantId = tenant.metadata.name;
  if (!tenant.metadata.finalizers?.includes(FINALIZER)) return { kind: "done" };
  const previous = tenant.status ?? {};
  const seat = findSeat(ctx, spec.pool, tenantId);
  if (seat) ctx.enqueue(poolKey(spec.pool));
  const namespacePresent = await releaseNamespace(ctx, tenantOwner(tenant, tenantId), tenantId);
  // AWS stacks honour spec.deletionPolicy; a destroy that fails keeps the finalizer and says why.
  const stacks = new StackBook(ctx, spec, tenantId, previous, previous.tier);
  const stacksGone = stacks.releaseAllBut(undefined);
  for (const change of stacks.changes) ctx.events.record(tenant, "Normal", "Released", `Released stack ${change.entry.name} (deletionPolicy ${spec.deletionPolicy})`);
  if (seat || namespacePresent || !stacksGone) {
    const now = ctx.now().toISOString();
    const degraded = stacks.conditions.find((c) => c.type === "Degraded");
    await applyStatus(ctx, tenant, compact({
      ...previous,
      phase: "Deleting",
      stacks: stacks.status(),
      resources: (previous.resources ?? []).filter((item) => !item.kind.includes(":")).concat(stacks.inventory()),
      conditions: degraded ? mergeConditions(previous.conditions, [degraded], now, tenant.metadata.generation) : previous.conditions,
    }));
    if (degraded && previous.conditions?.find((c) => c.type === "Degraded")?.reason !== degraded.reason) ctx.events.record(tenant, "Warning", degraded.reason, degraded.message);
    const wakeAt = Math.min(...stacks.retryAts, ctx.now().getTime() + (seat || namespacePresent ? 1_000 : 5_000));
    return { kind: "requeueAfter", ms: Math.max(wakeAt - ctx.now().getTime(), 100) };
  }
  const open = openDecision(ctx, tenantId);
  if (open) await finishDecision(ctx, open, "RolledBack", { lastStep: "Deleted", error: "the TenantPlacement was deleted" });
  await setFinalizer(ctx, tenant, FINALIZER, false);
  ctx.events.record(tenant, "Normal", "Released", `Released every placement of ${tenantId}`);
  ctx.log.info({}, "Released tenant");
  return { kind: "done" };
}
