import {
  tenantPlacementSpec,
  type PlacementPolicySpec,
  type Quota,
  type TenantPlacementSpec,
  type TenantPlacementStatus,
  type Tier,
} from "../api/v1alpha1/index.ts";
import { ApiError, type KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { AUDIT_ANNOTATIONS } from "../audit/annotations.ts";
import { connectionConfigMap, CHILD_NAMES, DEFAULT_NAMESPACE_QUOTA, namespaceTierObjects } from "./children.ts";
import { compact, mergeConditions, specIssues, type ConditionInput } from "./conditions.ts";
import { applyIfChanged, applyStatus, ForeignObjectError, isManaged, poolKey, setFinalizer, type ControllerContext } from "./context.ts";
import { decide, type PlacementChoice } from "./decideTier.ts";
import { finishDecision, headOf, markStep, type DecisionObject } from "./decisions.ts";
import { APPROVE_ANNOTATION, FINALIZER } from "../api/labels.ts";
import { driveMigration, type MigrationStatus } from "./migration.ts";
import { tenantNamespace } from "../api/names.ts";
import { foreignOwner, tenantOwner, type Owner } from "./ownership.ts";
import { parsedSpec } from "./parsedSpec.ts";
import { findSeat, seatUpToDate, type Seat } from "./poolRegistry.ts";
import { EVENT_REASONS, REASONS } from "./reasons.ts";
import { StackBook, stackOf } from "./stacks.ts";
import { finalizeTenant, oldHomeRemains, releaseNamespace, removeConnection, salvageSpec } from "./tenantRelease.ts";
import { buildStatus } from "./tenantStatus.ts";
import { unseatableReason } from "./unseatable.ts";

/**
 * The tenant reconcile, as named steps. Level-based: each pass reads the store, takes the move one
 * step further and writes status only when it changed.
 *
 *   decide        where the tenant should be served; records the move (decideTier.ts)
 *   ensure target the new home, created and healthy before anything about the current one changes
 *   migrate       the policy's migration Job, when the move changes where the data lives
 *   cut over      route to the new home (the connection ConfigMap); status.tier moves with the report
 *   release       once status.tier names the new home, the old one goes (tenantRelease.ts)
 *   report        status, the decision's step log, Events, and what the queue does next
 *
 * Each step gets the move (what this pass works with, fixed) and where the pass got to (Progress),
 * and returns the next Progress. An error in a step goes through `classify` once.
 */

export interface TenantObject extends KubeObject {
  spec: TenantPlacementSpec;
  status?: TenantPlacementStatus;
}

/** Requeue interval while a move waits for something the store will announce anyway (a safety net). */
const MOVE_POLL_MS = 5_000;

type Phase = TenantPlacementStatus["phase"];

/** What one pass works with: read once at its start, never changed by the steps. */
interface Move {
  ctx: ControllerContext;
  tenant: TenantObject;
  tenantId: string;
  spec: TenantPlacementSpec;
  previous: TenantPlacementStatus;
  owner: Owner;
  /** Where the tenant is served as the pass starts (status.tier). */
  served: Tier | undefined;
  /** Where it should be served: the decide step's choice. */
  target: Tier;
  placement: PlacementChoice;
  /** The open decision recording this move; none once the tenant is settled. */
  decision: DecisionObject | undefined;
  seat: Seat | undefined;
  /** The tenant's AWS stacks: driven by the steps, read by the report. */
  stacks: StackBook;
}

/** Where a pass got to: each step returns the next one, and the report writes it. */
interface Progress {
  /** Where the tenant is served once this pass is recorded. */
  served: Tier | undefined;
  /** Set by the step that knows; Provisioning or Pending when none did. */
  phase: Phase;
  migration: MigrationStatus | undefined;
  /** The new home exists and is healthy (the ensure-target step). */
  targetReady: boolean;
  /** Problems the steps found, in order; the first Degraded one is reported. */
  conditions: readonly ConditionInput[];
  /** When to look again though no event will come (a migration's retry time). */
  retryAt?: number;
  /** The pool must look at this tenant: its seat is missing, out of date, or no longer needed. */
  wakePool: boolean;
  /** A step failed: why, and what the queue does instead of polling. */
  failure?: Classified;
}

type Step = (move: Move, at: Progress) => Promise<Progress>;

/**
 * Level-based reconcile of one TenantPlacement: compute where it should live, drive the move one
 * step further (target ready before the old placement is released), record the decision, and
 * write status only when it changed.
 */
export async function reconcileTenant(ctx: ControllerContext, tenantId: string): Promise<ReconcileResult> {
  const tenant = ctx.store.get<TenantObject>("TenantPlacement", tenantId);
  if (!tenant) return { kind: "done" };
  const spec = parsedSpec(tenantPlacementSpec, tenant);
  if (tenant.metadata.deletionTimestamp) {
    // Deleting is still possible with a spec that no longer validates: release with what can be salvaged.
    const releasable = spec ?? salvageSpec(tenant);
    if (releasable) return finalizeTenant(ctx, tenant, releasable);
  }
  if (!spec) return reportInvalidSpec(ctx, tenant);
  await setFinalizer(ctx, tenant, FINALIZER, true);

  const decided = await decide(ctx, tenant, spec, tenantId);
  if (decided.kind === "recorded") {
    // The record first, the work in a pass of its own: when many tenants cross a threshold at once,
    // every decision then lands before any tenant's children and stacks are written, instead of
    // the last decision waiting for all the other moves' writes. The second pass goes in the back
    // lane, so that tenants whose signals arrive a moment later are decided before it too (in the
    // same lane, the 100 moves' second passes held the workers while the last decisions waited).
    // A new tenant's first pass also writes its finalizer, which wakes it in the front lane: only
    // moves of tenants already placed go to the back.
    return { kind: "requeue" };
  }
  const previous = tenant.status ?? {};
  const move: Move = {
    ctx,
    tenant,
    tenantId,
    spec,
    previous,
    owner: tenantOwner(tenant, tenantId),
    served: previous.tier,
    target: decided.placement.choice.tier,
    placement: decided.placement,
    decision: decided.decision,
    seat: findSeat(ctx, spec.pool, tenantId),
    stacks: new StackBook(ctx, spec, tenantId, previous, previous.tier),
  };
  await declareTarget(move);
  const progress = await carryOut(move);
  // An error nothing in the spec explains (a timeout, a conflict) is not reported in the status:
  // the queue retries it with backoff, as if it had been thrown.
  if (progress.failure && !progress.failure.condition) return progress.failure.result;
  return report(move, progress);
}

/** The spec does not validate: say which fields, act on nothing until it changes (which wakes the tenant). */
async function reportInvalidSpec(ctx: ControllerContext, tenant: TenantObject): Promise<ReconcileResult> {
  const previous = tenant.status ?? {};
  const generation = tenant.metadata.generation;
  // Parsed again only on this rare path, for the issues' text.
  const message = specIssues(tenantPlacementSpec.safeParse(tenant.spec).error ?? { issues: [] });
  await applyStatus(ctx, tenant, compact({
    ...previous,
    observedGeneration: generation,
    conditions: mergeConditions(previous.conditions, [
      { type: "Ready", status: previous.tier ? "True" : "False", reason: REASONS.invalidSpec, message: `The spec is invalid and was not acted on: ${message}` },
      { type: "Degraded", status: "True", reason: REASONS.invalidSpec, message },
    ], ctx.now().toISOString(), generation),
  }));
  return { kind: "error", error: new Error(`invalid spec: ${message}`), terminal: true };
}

/**
 * Intent first: the status names a dedicated target before anything is created for it (the pool
 * reads the same intent before it seats a tenant). Otherwise a crash right after creating the
 * namespace or starting a stack leaves a placement no status names, which nothing releases if the
 * tenant is then sent elsewhere.
 */
async function declareTarget(move: Move): Promise<void> {
  const { ctx, tenant, previous, served, target, decision } = move;
  if (target === "pooled" || served === target || previous.targetTier === target) return;
  await applyStatus(ctx, tenant, compact({
    ...previous,
    observedGeneration: tenant.metadata.generation,
    targetTier: target,
    phase: served ? "Provisioning" : "Pending",
    lastDecision: decision?.metadata.name ?? previous.lastDecision,
    decisionHead: decision ? headOf(decision) : previous.decisionHead,
  }));
}

/** The steps after decide, in order; each passes through what it has nothing to do with. */
const STEPS: readonly Step[] = [ensureTarget, migrate, cutOver, release];

async function carryOut(move: Move): Promise<Progress> {
  // The decide step's problems (policy, signals) first: reported as long as they hold.
  let at: Progress = { served: move.served, phase: undefined, migration: move.previous.migration, targetReady: false, conditions: move.placement.conditions, wakePool: false };
  for (const step of STEPS) {
    try {
      at = await step(move, at);
    } catch (error) {
      const failure = classify(error, move.served);
      return { ...at, phase: "Failed", conditions: failure.condition ? [...at.conditions, failure.condition] : at.conditions, failure };
    }
  }
  return { ...at, phase: at.phase ?? (move.served ? "Provisioning" : "Pending") };
}

export interface Classified {
  /** The Degraded condition that says what is wrong; none for an error the spec cannot explain. */
  condition?: ConditionInput;
  /** What the queue does with the tenant's key. */
  result: ReconcileResult;
}

/**
 * Every error a step can raise, mapped to what the tenant's status says and what the queue does.
 *
 * The two the status names (a name taken by someone else, an object the API server refuses) are
 * retried with backoff (0.5 s doubling to 5 min), not marked terminal: what fixes them is often
 * outside what the informers watch, so no event would wake the tenant. The foreign namespace is
 * deleted, or the admission policy or its binding changes, not the TenantPlacement. A fix to the
 * spec wakes it at once either way.
 */
export function classify(error: unknown, servedFrom: Tier | undefined): Classified {
  if (error instanceof ForeignObjectError) {
    return { condition: { type: "Degraded", status: "True", reason: REASONS.namespaceConflict, message: error.message }, result: { kind: "error", error } };
  }
  if (error instanceof ApiError && (error.status === 422 || (error.status === 403 && error.message.includes("ValidatingAdmissionPolicy")))) {
    // The API server refused an object the spec asks for: a value the TenantPlacement schema
    // accepts but a ResourceQuota or RoleBinding does not, or the chart's admission policy
    // forbids (an admin subject it does not allow). The tenant stays where it is served.
    const message = `${error.message}; the tenant stays served from ${servedFrom ?? "nowhere yet"} until the spec is fixed`;
    return { condition: { type: "Degraded", status: "True", reason: REASONS.childRejected, message }, result: { kind: "error", error: new Error(message) } };
  }
  return { result: { kind: "error", error: error instanceof Error ? error : new Error(String(error)) } };
}

/** Step: the target placement, created and healthy before anything about the current one changes. */
async function ensureTarget(move: Move, at: Progress): Promise<Progress> {
  const found = move.target === "pooled" ? ensureSeat(move) : await ensureNamespace(move);
  return {
    ...at,
    targetReady: found.ready,
    // A stack that failed holds the move until its retry; the tenant stays where it is served.
    phase: !found.ready && move.stacks.failed() ? "Failed" : at.phase,
    conditions: [...at.conditions, ...found.conditions],
    wakePool: at.wakePool || found.wakePool,
  };
}

interface TargetFound {
  ready: boolean;
  conditions: ConditionInput[];
  wakePool: boolean;
}

/** The pool tier: the seat is the pool's to give (poolRegistry.ts); this only checks it and asks. */
function ensureSeat(move: Move): TargetFound {
  const { ctx, spec, seat, tenantId } = move;
  const conditions: ConditionInput[] = [];
  if (!ctx.store.get("TenantPool", spec.pool)) {
    conditions.push({ type: "Degraded", status: "True", reason: REASONS.poolNotFound, message: `TenantPool ${spec.pool} does not exist; create it or set spec.pool` });
  }
  const unplaceable = unseatableReason(ctx, spec.pool, tenantId);
  if (unplaceable && !seat) conditions.push({ type: "Degraded", status: "True", reason: REASONS.unplaceable, message: unplaceable });
  return { ready: seat !== undefined, conditions, wakePool: !seat || !seatUpToDate(ctx, spec, seat) };
}

/** The dedicated tiers: the namespace and its children, and the tier's AWS stack if it has one. */
async function ensureNamespace(move: Move): Promise<TargetFound> {
  const { ctx, spec, target, owner, tenantId, stacks } = move;
  const policy = policyOf(ctx, spec);
  const quota = spec.quota ?? policyQuota(policy, target) ?? policyQuota(policy, "namespace") ?? DEFAULT_NAMESPACE_QUOTA;
  const objects = namespaceTierObjects({ tenant: spec, quota, admins: spec.admins, tier: target, owner: owner.uid, podSecurity: policy?.podSecurity ?? "restricted", egress: ctx.egress ?? [] });
  for (const object of objects) await applyIfChanged(ctx, object);
  if (!spec.admins?.length) await removeStaleAdminBinding(ctx, owner, tenantId);
  const namespaceUp = namespaceReady(ctx, owner, tenantId);
  const kind = stackOf(target);
  // The stack is driven whether or not the namespace is up yet.
  const stackUp = kind ? stacks.up(kind) : true;
  return { ready: stackUp && namespaceUp, conditions: [], wakePool: false };
}

/** Step: the policy's migration Job, when the move changes where the data lives; else the cut-over may go ahead. */
async function migrate(move: Move, at: Progress): Promise<Progress> {
  const { ctx, spec, served, target, decision, stacks } = move;
  if (served === target || !at.targetReady) return at;
  const migrationPolicy = policyOf(ctx, spec)?.migration;
  const template = migrationPolicy?.jobTemplate;
  if (served === undefined || !decision || !template || stackOf(served) === stackOf(target)) return { ...at, served: target };
  const outcome = await driveMigration(
    ctx,
    {
      tenantId: move.tenantId,
      owner: move.owner.uid,
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
    move.previous.migration,
  );
  switch (outcome.state) {
    case "Refused":
      return { ...at, phase: "Failed", conditions: [...at.conditions, { type: "Degraded", status: "True", reason: REASONS.migrationRefused, message: `${outcome.message}; the tenant stays served from ${served}` }] };
    case "Succeeded":
      return { ...at, migration: outcome.status, served: target };
    case "Running":
      return { ...at, migration: outcome.status, phase: "Migrating" };
    case "Failed": {
      const message = `${outcome.message}; attempt ${outcome.status.attempt + 1} starts at ${new Date(outcome.retryAt).toISOString()}; the tenant stays served from ${served}`;
      return { ...at, migration: outcome.status, phase: "Failed", retryAt: outcome.retryAt, conditions: [...at.conditions, { type: "Degraded", status: "True", reason: REASONS.migrationFailed, message }] };
    }
  }
}

/** Step: route to the new home. status.tier names it once the report is written. */
async function cutOver(move: Move, at: Progress): Promise<Progress> {
  const { ctx, spec, target, stacks } = move;
  if (at.served !== target) return at;
  const kind = stackOf(target);
  const entry = stacks.entry(kind);
  if (kind && entry?.endpoint && entry.port && entry.masterSecretArn) {
    await applyIfChanged(ctx, connectionConfigMap({ tenant: spec, tier: target, endpoint: entry.endpoint, port: entry.port, masterSecretArn: entry.masterSecretArn, planned: entry.planned ?? false, owner: move.owner.uid }));
  }
  return at;
}

/**
 * Step: the old home goes only once status.tier says the tenant is served from the new one (the
 * previous pass wrote it): a crash or a failed status write in between must never leave
 * status.tier naming a namespace, connection or stack already being torn down. The pool releases
 * a seat by the same rule; until the old home is gone the move is cutting over.
 */
async function release(move: Move, at: Progress): Promise<Progress> {
  const { ctx, target, owner, tenantId, stacks, seat } = move;
  if (at.served !== target) return at;
  const recorded = move.served === target;
  if (recorded) {
    // Back on the shared database; a pooled tenant's namespace goes away with it anyway.
    if (target === "namespace") await removeConnection(ctx, owner, tenantId);
    if (target === "pooled") await releaseNamespace(ctx, owner, tenantId);
    stacks.releaseAllBut(stackOf(target));
  }
  const seatLeft = target !== "pooled" && seat !== undefined;
  const leftover = seatLeft || (!recorded && oldHomeRemains(ctx, owner, tenantId, target, stacks));
  return { ...at, migration: undefined, phase: leftover ? "CuttingOver" : "Active", wakePool: at.wakePool || seatLeft };
}

/** Step: status, the decision's step log, Events, closing the decision; then what the queue does next. */
async function report(move: Move, at: Progress): Promise<ReconcileResult> {
  const { ctx, tenant, spec, stacks, placement } = move;
  const conditions = [...at.conditions, ...stacks.conditions];
  const degraded = conditions.find((c) => c.type === "Degraded");
  let decision = move.decision;
  if (decision && at.served !== decision.spec.to) {
    const step = at.phase === "Failed" ? (at.migration ? "Migrating" : "Provisioning") : (at.phase ?? "Provisioning");
    decision = await markStep(ctx, decision, step, degraded?.message);
  }
  const moving = at.served !== move.target || at.phase !== "Active";
  await applyStatus(ctx, tenant, buildStatus({
    previous: move.previous,
    generation: tenant.metadata.generation,
    now: ctx.now().toISOString(),
    spec,
    tenantId: move.tenantId,
    served: at.served,
    choice: placement.choice,
    phase: at.phase,
    seat: move.seat,
    decision,
    conditions,
    moving,
    placement,
    stacks,
    migration: at.migration,
  }));
  // The pool acts on this tenant's status (targetTier), so it is woken only after that is written.
  if (at.wakePool) ctx.enqueue(poolKey(spec.pool));
  announce(move, degraded);
  // Closed only once the status that says where the tenant is served has been written: if this
  // process dies in between, the next reconcile finds the open decision and closes it then.
  if (decision && at.served === decision.spec.to && at.phase === "Active") await closeDecision(move, decision);
  if (at.failure) return at.failure.result;
  // A failed step comes back at its retry time; a move in progress also polls (the runner and the
  // informers wake it sooner); a stabilization window or cooldown ends with no event at all.
  const now = ctx.now().getTime();
  const wakeAt = Math.min(at.retryAt ?? Infinity, ...stacks.retryAts, placement.retryAt ?? Infinity, moving ? now + MOVE_POLL_MS : Infinity);
  if (wakeAt !== Infinity) return { kind: "requeueAfter", ms: Math.max(wakeAt - now, 100) };
  return { kind: "done" };
}

/** Events and log lines for stacks that came up or went, and a Warning when Degraded changes reason. */
function announce(move: Move, degraded: ConditionInput | undefined): void {
  const { ctx, tenant, spec } = move;
  for (const change of move.stacks.changes) {
    const planned = change.entry.planned ? " (planned: nothing was created in AWS)" : "";
    ctx.events.record(tenant, "Normal", change.what, `${change.what === EVENT_REASONS.provisioned ? "Brought up" : `Released (deletionPolicy ${spec.deletionPolicy})`} stack ${change.entry.name}${planned}`);
    ctx.log.info({ stack: change.entry.name, planned: change.entry.planned ?? false }, change.what === EVENT_REASONS.provisioned ? "Provisioned stack" : "Released stack");
  }
  const previousDegraded = move.previous.conditions?.find((c) => c.type === "Degraded");
  if (degraded && (previousDegraded?.status !== "True" || previousDegraded.reason !== degraded.reason)) {
    ctx.events.record(tenant, "Warning", degraded.reason, degraded.message);
  }
}

/** The move is done: its decision succeeds, and the approval it consumed is removed. */
async function closeDecision(move: Move, open: DecisionObject): Promise<void> {
  const { ctx, tenant } = move;
  const decision = await finishDecision(ctx, open, "Succeeded", { lastStep: "CutOver" });
  ctx.events.record(tenant, "Normal", EVENT_REASONS.placed, `${decision.metadata.name}: now served from ${decision.spec.to}`);
  ctx.log.info({ from: decision.spec.from, to: decision.spec.to, decision: decision.metadata.name }, "Moved tenant");
  if (decision.spec.approval) await clearApproval(ctx, tenant, decision.spec.approval.annotation);
}

function policyOf(ctx: ControllerContext, spec: TenantPlacementSpec): PlacementPolicySpec | undefined {
  return ctx.store.get<KubeObject & { spec?: PlacementPolicySpec }>("PlacementPolicy", spec.policyRef)?.spec;
}

function policyQuota(policy: PlacementPolicySpec | undefined, tier: Tier): Quota | undefined {
  return policy?.tiers?.find((t) => t.tier === tier)?.quota;
}

function namespaceReady(ctx: ControllerContext, owner: Owner, tenantId: string): boolean {
  const name = tenantNamespace(tenantId);
  const namespace = ctx.store.get("Namespace", name);
  const status = namespace?.status as { phase?: string } | undefined;
  return isManaged(namespace) && !foreignOwner(namespace, owner) && !namespace?.metadata.deletionTimestamp && status?.phase === "Active" && ctx.store.get("ResourceQuota", CHILD_NAMES.quota, name) !== undefined;
}

async function removeStaleAdminBinding(ctx: ControllerContext, owner: Owner, tenantId: string): Promise<void> {
  const namespace = tenantNamespace(tenantId);
  const binding = ctx.store.get("RoleBinding", CHILD_NAMES.adminBinding, namespace);
  if (binding && !foreignOwner(binding, owner)) {
    await ctx.resources.delete("RoleBinding", CHILD_NAMES.adminBinding, namespace);
    ctx.store.remove("RoleBinding", binding);
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
