/**
 * The API server's floor for a convergence: a minimal client, no informers and no reconcile logic,
 * that writes exactly the objects and statuses the operator ends up with for N pooled tenants,
 * directly and each once, with the operator's concurrency. The operator's time over this one is
 * its overhead: its own CPU, the hand-off between the tenant and pool reconcilers, and every write
 * it makes beyond these.
 *
 * Per tenant, in the operator's causal order (a reconcile's writes are sequential):
 *   the user's apply of the TenantPlacement (the same 16 in flight as in the operator scenario);
 *   then, in one of `concurrency` workers: the finalizer (apply as landlord/finalizer), the
 *   PlacementDecision (create; its first step, Pending, is implied until the next), the tenant's Pending status
 *   (its target tier: in Landlord's design the tenant reconciler owns that intent and the pool seats
 *   tenants by it, so an equivalent client must publish it too) and the "Placing" Event;
 *   once every member of its shard is open, the shard's Namespace, ResourceQuota, LimitRange,
 *   NetworkPolicy and registry ConfigMap (built by the operator's own functions, so their content
 *   is byte-for-byte what the operator writes) are applied once;
 *   then per member: the tenant's final status (Active, pooled, with the operator's conditions),
 *   the decision's closing status and the "Placed" Event.
 * Finally the pool's status and the policy's (its tenants, Degraded by their unset requestsPerDay,
 * with its Warning Event), once each. Events are not awaited by the worker, as in the operator.
 * What the floor leaves out is what a client that knew the end state would never write: a status
 * that changes nothing a reader needs, a shard's registry and quota
 * rewritten as its members arrive in batches, the pool's status per batch.
 */
import { randomBytes } from "node:crypto";
import { API_VERSION, tenantPlacementSpec, tenantPoolSpec } from "../../operator/src/api/v1alpha1/index.ts";
import { CHILD_NAMES, registryEntry, shardObjects, type RegistryEntry } from "../../operator/src/controller/children.ts";
import { FINALIZER } from "../../operator/src/api/labels.ts";
import { decisionName } from "../../operator/src/api/names.ts";
import { policyStatus } from "../../operator/src/controller/placementPolicy.ts";
import type { KubeClient, KubeObject, RequestSpec } from "../../operator/src/kube/client.ts";
import { FINALIZER_FIELD_MANAGER, FIELD_MANAGER, objectPath, STATUS_FIELD_MANAGER, type Kind } from "../../operator/src/kube/resources.ts";
import { placeTenants } from "../../operator/src/placement/placer.ts";
import { sumQuotas, capQuota, type Quota } from "../../operator/src/placement/quantity.ts";
import { APPLY_CONCURRENCY, apply, DECISIONS_PATH, POLICY, POOL, poolObject, tenantObject, tenantPath } from "./workload.ts";

type Job = () => Promise<void>;

/** Workers that wait for jobs until told no more will come. */
/** The POST that creates a PlacementDecision as the operator records it, by the policy of workload.ts. */
export function decisionRequest(
  tenantId: string,
  name: string,
  decision: { from?: string; to: string; rule: string; signals: Record<string, number>; requestedAt: string },
): RequestSpec {
  return {
    method: "POST",
    path: DECISIONS_PATH,
    query: { fieldManager: FIELD_MANAGER },
    body: {
      apiVersion: API_VERSION,
      kind: "PlacementDecision",
      metadata: { name, labels: { "landlord.dev/tenant": tenantId } },
      spec: { tenant: tenantId, ...(decision.from ? { from: decision.from } : {}), to: decision.to, trigger: "Policy", rule: decision.rule, signals: decision.signals, policy: { name: POLICY, generation: 1 }, requestedAt: decision.requestedAt },
    },
  };
}

export class Workers {
  private readonly jobs: Job[] = [];
  private readonly idle: (() => void)[] = [];
  private closed = false;
  readonly done: Promise<void>;
  constructor(concurrency: number) {
    this.done = Promise.all(Array.from({ length: concurrency }, () => this.work())).then(() => undefined);
  }
  push(job: Job): void {
    this.jobs.push(job);
    this.idle.shift()?.();
  }
  close(): void {
    this.closed = true;
    for (const wake of this.idle.splice(0)) wake();
  }
  private async work(): Promise<void> {
    for (;;) {
      const job = this.jobs.shift();
      if (job) await job();
      else if (this.closed) return;
      else await new Promise<void>((r) => this.idle.push(r));
    }
  }
}

export const condition = (type: string, status: string, reason: string, message: string, at: string): Record<string, unknown> => ({ type, status, reason, message, lastTransitionTime: at, observedGeneration: 1 });

function tenantStatus(tenantId: string, shard: string, revenue: number, at: string): Record<string, unknown> {
  return {
    observedGeneration: 1,
    phase: "Active",
    tier: "pooled",
    pool: POOL,
    namespace: shard,
    lastDecision: decisionName(tenantId, 1),
    signals: { hipaa: 0, monthlyRevenueUSD: revenue },
    signalsObservedAt: at,
    resources: [{ kind: "ConfigMap", name: CHILD_NAMES.registry, namespace: shard }],
    conditions: [
      condition("Ready", "True", "Served", `Served from the pooled tier in ${shard}`, at),
      condition("Promoting", "False", "Settled", "At the desired tier pooled", at),
      condition("TagsCompliant", "True", "PooledByShare", "Pooled cost is apportioned by usage share; the registry entry carries the cost center", at),
      condition("Degraded", "False", "AsExpected", "No problems", at),
      condition("SignalsUnavailable", "True", "Unavailable", "requestsPerDay: spec.reportedSignals.requestsPerDay is not set; the billing or usage system reports it with kubectl patch", at),
    ],
  };
}

function pendingStatus(tenantId: string, revenue: number, at: string): Record<string, unknown> {
  return {
    observedGeneration: 1,
    phase: "Pending",
    targetTier: "pooled",
    lastDecision: decisionName(tenantId, 1),
    signals: { hipaa: 0, monthlyRevenueUSD: revenue },
    signalsObservedAt: at,
    conditions: [
      condition("Ready", "False", "Pending", "Not placed yet", at),
      condition("Promoting", "True", "Pending", "Moving (new) → pooled: spec.tier.floor: new tenant placed in the pool", at),
      condition("TagsCompliant", "True", "Labelled", "Every object carries the required cost labels", at),
      condition("Degraded", "False", "AsExpected", "No problems", at),
      condition("SignalsUnavailable", "True", "Unavailable", "requestsPerDay: spec.reportedSignals.requestsPerDay is not set; the billing or usage system reports it with kubectl patch", at),
    ],
  };
}

export function event(tenant: KubeObject, reason: string, message: string): KubeObject {
  const at = new Date().toISOString();
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${tenant.metadata.name}.${randomBytes(8).toString("hex")}`, namespace: "default" },
    involvedObject: { apiVersion: tenant.apiVersion, kind: tenant.kind, name: tenant.metadata.name, ...(tenant.metadata.uid ? { uid: tenant.metadata.uid } : {}) },
    type: "Normal",
    reason,
    message,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    source: { component: "landlord" },
    reportingComponent: "landlord.dev/operator",
    reportingInstance: "bench-floor",
  };
}

export interface FloorShard {
  namespace: string;
  index: number;
  members: RegistryEntry[];
}

/** The seating the operator's placer produces for tenants 0..n-1 (arrival order = creation order). */
export function floorSeating(n: number): { poolSpec: ReturnType<typeof tenantPoolSpec.parse>; shards: FloorShard[] } {
  const poolSpec = tenantPoolSpec.parse(poolObject().spec);
  const entries: RegistryEntry[] = [];
  for (let i = 0; i < n; i++) entries.push(registryEntry(tenantPlacementSpec.parse(tenantObject(i).spec), poolSpec.tenantDefaults as Quota));
  const placement = placeTenants({ prefix: poolSpec.namespacePrefix, capacity: poolSpec.capacity, shards: [], arrivals: entries.map((e) => ({ tenantId: e.tenantId, quota: e.quota })), departures: [] });
  const entryOf = new Map(entries.map((e) => [e.tenantId, e]));
  return { poolSpec, shards: placement.shards.map((s) => ({ namespace: s.namespace, index: s.index, members: s.members.map((m) => entryOf.get(m.tenantId) as RegistryEntry) })) };
}

/** The shard's objects for `members`, exactly as the operator builds them. */
export function floorShardObjects(poolSpec: ReturnType<typeof tenantPoolSpec.parse>, shard: FloorShard, members: RegistryEntry[]): KubeObject[] {
  const allocated = sumQuotas(members.map((m) => m.quota));
  const quota = capQuota(allocated, { cpu: poolSpec.capacity.cpu, memory: poolSpec.capacity.memory });
  return shardObjects({ pool: POOL, index: shard.index, namespace: shard.namespace, quota, members });
}

export interface FloorResult {
  /** Writes the floor issued, by kind of write (for the report). */
  writes: number;
}

/**
 * Runs the floor for tenants 0..n-1; resolves when every write returned. The caller times Ready
 * with the same watch it uses for the operator.
 */
export async function runFloor(client: KubeClient, n: number, concurrency: number): Promise<FloorResult> {
  let writes = 0;
  const write = async <T = KubeObject>(spec: Parameters<KubeClient["request"]>[0]): Promise<T> => {
    writes += 1;
    return client.request<T>(spec);
  };
  const applyAs = <T = KubeObject>(kind: Kind, object: KubeObject, manager: string, subresource?: "status"): Promise<T> => {
    const path = objectPath(kind, object.metadata.name, object.metadata.namespace);
    return write<T>({ method: "PATCH", path: subresource ? `${path}/${subresource}` : path, query: { fieldManager: manager, force: true }, body: object, contentType: "application/apply-patch+yaml" });
  };
  const events: Promise<unknown>[] = [];
  const fireEvent = (tenant: KubeObject, reason: string, message: string): void => {
    events.push(write({ method: "POST", path: "/api/v1/namespaces/default/events", body: event(tenant, reason, message) }).catch((e: unknown) => process.stderr.write(`bench floor: event: ${String(e)}\n`)));
  };

  const { poolSpec, shards: seated } = floorSeating(n);
  const shards = seated.map((shard) => ({ ...shard, opened: 0 }));
  const shardOf = new Map<string, (typeof shards)[number]>();
  for (const shard of shards) for (const member of shard.members) shardOf.set(member.tenantId, shard);

  const workers = new Workers(concurrency);
  const tenants = new Map<string, KubeObject>();
  const decisions = new Map<string, { name: string; steps: Record<string, unknown>[] }>();
  let closed = 0;
  let failure: unknown;
  const guard = (job: Job): Job => async () => {
    try {
      await job();
    } catch (error) {
      failure ??= error;
      workers.close();
    }
  };

  const close = (tenantId: string, shard: string, revenue: number): Job =>
    guard(async () => {
      const at = new Date().toISOString();
      const tenant = tenants.get(tenantId) as KubeObject;
      await applyAs("TenantPlacement", { apiVersion: API_VERSION, kind: "TenantPlacement", metadata: { name: tenantId }, status: tenantStatus(tenantId, shard, revenue, at) }, STATUS_FIELD_MANAGER, "status");
      const decision = decisions.get(tenantId) as { name: string; steps: Record<string, unknown>[] };
      const steps = [...decision.steps.map((s) => ({ ...s, finishedAt: at, outcome: "Succeeded" })), { name: "CutOver", startedAt: at, finishedAt: at, outcome: "Succeeded" }];
      await applyAs("PlacementDecision", { apiVersion: API_VERSION, kind: "PlacementDecision", metadata: { name: decision.name }, status: { outcome: "Succeeded", steps } }, STATUS_FIELD_MANAGER, "status");
      fireEvent(tenant, "Placed", `${decision.name}: now served from pooled`);
      closed += 1;
      if (closed === n) workers.close();
    });

  const seatShard = (shard: (typeof shards)[number]): Job =>
    guard(async () => {
      for (const object of floorShardObjects(poolSpec, shard, shard.members)) await applyAs(object.kind as Kind, object, FIELD_MANAGER);
      for (const member of shard.members) {
        const revenue = (tenants.get(member.tenantId)?.spec as { reportedSignals: { monthlyRevenueUSD: number } }).reportedSignals.monthlyRevenueUSD;
        workers.push(close(member.tenantId, shard.namespace, revenue));
      }
    });

  const open = (applied: KubeObject): Job =>
    guard(async () => {
      const tenantId = applied.metadata.name;
      const withFinalizer = await applyAs("TenantPlacement", { apiVersion: API_VERSION, kind: "TenantPlacement", metadata: { name: tenantId, finalizers: [FINALIZER] } }, FINALIZER_FIELD_MANAGER);
      tenants.set(tenantId, withFinalizer);
      const at = new Date().toISOString();
      const name = decisionName(tenantId, 1);
      const spec = applied.spec as { reportedSignals: Record<string, number> };
      await write(decisionRequest(tenantId, name, {
        to: "pooled",
        rule: "spec.tier.floor: new tenant placed in the pool; signals undetermined (requestsPerDay: Unavailable)",
        signals: { hipaa: 0, monthlyRevenueUSD: spec.reportedSignals.monthlyRevenueUSD ?? 0 },
        requestedAt: at,
      }));
      const steps = [{ name: "Pending", startedAt: at }];
      // The tenant's target, which the pool seats it by (the tenant reconciler owns that intent).
      await applyAs("TenantPlacement", { apiVersion: API_VERSION, kind: "TenantPlacement", metadata: { name: tenantId }, status: pendingStatus(tenantId, spec.reportedSignals.monthlyRevenueUSD ?? 0, at) }, STATUS_FIELD_MANAGER, "status");
      decisions.set(tenantId, { name, steps });
      fireEvent(withFinalizer, "Placing", `${name}: (new) → pooled (Policy: new tenant placed in the pool)`);
      const shard = shardOf.get(tenantId);
      if (!shard) throw new Error(`no shard for ${tenantId}`);
      shard.opened += 1;
      if (shard.opened === shard.members.length) workers.push(seatShard(shard));
    });

  // The "user": the same applies as in the operator scenario, handing each tenant on as it lands.
  const userApplies = (async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: APPLY_CONCURRENCY }, async () => {
        while (next < n && failure === undefined) {
          const object = tenantObject(next++);
          const applied = await apply(client, tenantPath(object.metadata.name), object);
          workers.push(open(applied));
        }
      }),
    );
  })();
  await userApplies;
  await workers.done;
  if (failure) throw failure;
  await applyAs(
    "TenantPool",
    {
      apiVersion: API_VERSION,
      kind: "TenantPool",
      metadata: { name: POOL },
      status: {
        observedGeneration: 1,
        tenants: n,
        shards: shards.map((s) => {
          const allocated = sumQuotas(s.members.map((m) => m.quota));
          return { namespace: s.namespace, tenants: s.members.length, allocated: { cpu: String(allocated.cpu), memory: String(allocated.memory) } };
        }),
        conditions: [condition("Ready", "True", "Seated", `${n} tenant(s) in ${shards.length} shard(s)`, new Date().toISOString())],
      },
    },
    STATUS_FIELD_MANAGER,
    "status",
  );
  // Computed by the operator's own function from the tenants' final conditions, as the policy reconcile does.
  const unsetSignal = "requestsPerDay: spec.reportedSignals.requestsPerDay is not set; the billing or usage system reports it with kubectl patch";
  const followers = [...tenants.keys()].map((name) => ({ metadata: { name }, status: { conditions: [{ type: "SignalsUnavailable", status: "True", message: unsetSignal }] } }));
  const policy: KubeObject = { apiVersion: API_VERSION, kind: "PlacementPolicy", metadata: { name: POLICY } };
  const status = policyStatus({ previous: undefined, generation: 1, now: new Date().toISOString(), invalid: undefined, followers });
  await applyAs("PlacementPolicy", { ...policy, status }, STATUS_FIELD_MANAGER, "status");
  const degraded = status.conditions?.find((c) => c.type === "Degraded");
  if (degraded?.status === "True") fireEvent(policy, degraded.reason, degraded.message);
  await Promise.all(events);
  // The user's applies are the same in both runs; they are counted with the rest.
  return { writes: writes + n };
}
