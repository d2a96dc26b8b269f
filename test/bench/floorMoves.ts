/**
 * The API server's floor for the moves scenario, on the floor's converged cluster: the same burst
 * of billing patches, then a minimal client's writes for each move, each once, with the operator's
 * concurrency. Per mover, in the operator's causal order: the PlacementDecision (create; its first
 * step is implied) and the "Promoting" Event, in a job of their own as the operator records every
 * decision in a pass before the move's work; then the tenant's status naming its target (Landlord records
 * the intent before it creates anything, so a crash never leaves an unnamed placement behind), the
 * namespace tier's Namespace, ResourceQuota, LimitRange and NetworkPolicy (built by the operator's
 * own functions), and the tenant's cut-over status
 * (served from the namespace while its seat is still held: Landlord releases the old placement only
 * after the cut-over). Once every mover of a shard has cut over, that shard's registry and quota
 * are rewritten once without them; then per mover its Active status, the decision's closing status
 * and the "Placed" Event. The pool's status, once, at the end.
 */
import { API_VERSION, tenantPlacementSpec } from "../../operator/src/api/v1alpha1/index.ts";
import { CHILD_NAMES, namespaceTierObjects } from "../../operator/src/controller/children.ts";
import { EGRESS_POLICY_NAME } from "../../operator/src/controller/egress.ts";
import { decisionName, tenantNamespace } from "../../operator/src/api/names.ts";
import type { KubeClient, KubeObject } from "../../operator/src/kube/client.ts";
import { FIELD_MANAGER, objectPath, STATUS_FIELD_MANAGER, type Kind } from "../../operator/src/kube/resources.ts";
import { condition, decisionRequest, event, floorSeating, floorShardObjects, Workers } from "./floor.ts";
import { MOVE_REVENUE } from "./moves.ts";
import { POOL, tenantObject } from "./workload.ts";

/** The namespace tier's quota in the benchmark's policy (workload.ts). */
const NAMESPACE_QUOTA = { cpu: "4", memory: "8Gi", storage: "50Gi", pods: 50 };

function servedFromNamespace(tenantId: string, phase: "CuttingOver" | "Active", at: string): Record<string, unknown> {
  const namespace = tenantNamespace(tenantId);
  return {
    observedGeneration: 1,
    phase,
    tier: "namespace",
    namespace,
    lastDecision: decisionName(tenantId, 2),
    recommendation: { tier: "namespace", reason: `monthlyRevenueUSD ${MOVE_REVENUE} >= 20000`, since: at },
    signals: { hipaa: 0, monthlyRevenueUSD: MOVE_REVENUE },
    signalsObservedAt: at,
    resources: [
      { kind: "Namespace", name: namespace },
      { kind: "ResourceQuota", name: CHILD_NAMES.quota, namespace },
      { kind: "LimitRange", name: CHILD_NAMES.limits, namespace },
      { kind: "NetworkPolicy", name: CHILD_NAMES.networkPolicy, namespace },
      { kind: "NetworkPolicy", name: EGRESS_POLICY_NAME, namespace },
    ],
    conditions: [
      condition("Ready", "True", phase === "Active" ? "Served" : "ServedWhileMoving", "Served from the namespace tier", at),
      condition("Promoting", "False", "Settled", "At the desired tier namespace", at),
      condition("TagsCompliant", "True", "Labelled", "Every object carries the required cost labels", at),
      condition("Degraded", "False", "AsExpected", "No problems", at),
    ],
  };
}

/**
 * A driver for moveTenants on the floor's cluster (tenants 0..n-1 seated as floorSeating says):
 * `report` writes one tenant's new signal (all of them at once, as in the billing burst); each
 * tenant's writes start as soon as its own signal has landed.
 */
export function floorMoves(client: KubeClient, n: number, concurrency: number, report: (names: readonly string[]) => Promise<void>): (names: readonly string[]) => Promise<void> {
  return async (names) => {
    const applyAs = (kind: Kind, object: KubeObject, manager: string, subresource?: "status"): Promise<KubeObject> => {
      const path = objectPath(kind, object.metadata.name, object.metadata.namespace);
      return client.request<KubeObject>({ method: "PATCH", path: subresource ? `${path}/${subresource}` : path, query: { fieldManager: manager, force: true }, body: object, contentType: "application/apply-patch+yaml" });
    };
    const events: Promise<unknown>[] = [];
    const fireEvent = (tenant: KubeObject, reason: string, message: string): void => {
      events.push(client.request({ method: "POST", path: "/api/v1/namespaces/default/events", body: event(tenant, reason, message) }).catch(() => undefined));
    };
    const tenantRef = (name: string): KubeObject => ({ apiVersion: API_VERSION, kind: "TenantPlacement", metadata: { name } });

    const { poolSpec, shards } = floorSeating(n);
    const moving = new Set(names);
    const shardOf = new Map<string, { shard: (typeof shards)[number]; left: number }>();
    for (const shard of shards) {
      const state = { shard, left: shard.members.filter((m) => moving.has(m.tenantId)).length };
      for (const member of shard.members) if (moving.has(member.tenantId)) shardOf.set(member.tenantId, state);
    }
    const workers = new Workers(concurrency);
    let failure: unknown;
    let finished = 0;
    const guard = (job: () => Promise<void>) => async (): Promise<void> => {
      try {
        await job();
      } catch (error) {
        failure ??= error;
        workers.close();
      }
    };
    const steps = new Map<string, { name: string; startedAt: string }[]>();

    const finish = (tenantId: string) =>
      guard(async () => {
        const at = new Date().toISOString();
        await applyAs("TenantPlacement", { ...tenantRef(tenantId), status: servedFromNamespace(tenantId, "Active", at) }, STATUS_FIELD_MANAGER, "status");
        const done = [...(steps.get(tenantId) ?? []).map((s) => ({ ...s, finishedAt: at, outcome: "Succeeded" })), { name: "CutOver", startedAt: at, finishedAt: at, outcome: "Succeeded" }];
        await applyAs("PlacementDecision", { apiVersion: API_VERSION, kind: "PlacementDecision", metadata: { name: decisionName(tenantId, 2) }, status: { outcome: "Succeeded", steps: done } }, STATUS_FIELD_MANAGER, "status");
        fireEvent(tenantRef(tenantId), "Placed", `${decisionName(tenantId, 2)}: now served from namespace`);
        finished += 1;
        if (finished === names.length) workers.close();
      });

    const release = (state: { shard: (typeof shards)[number] }) =>
      guard(async () => {
        const remaining = state.shard.members.filter((m) => !moving.has(m.tenantId));
        // Only the registry and the summed quota change; the operator skips the unchanged three too.
        for (const object of floorShardObjects(poolSpec, state.shard, remaining)) {
          if (object.kind === "ConfigMap" || object.kind === "ResourceQuota") await applyAs(object.kind as Kind, object, FIELD_MANAGER);
        }
        for (const member of state.shard.members) if (moving.has(member.tenantId)) workers.push(finish(member.tenantId));
      });

    const decide = (tenantId: string) =>
      guard(async () => {
        const at = new Date().toISOString();
        const name = decisionName(tenantId, 2);
        await client.request(decisionRequest(tenantId, name, {
          from: "pooled",
          to: "namespace",
          rule: `tiers[namespace].promoteWhen.any[0]: monthlyRevenueUSD ${MOVE_REVENUE} >= 20000`,
          signals: { hipaa: 0, monthlyRevenueUSD: MOVE_REVENUE },
          requestedAt: at,
        }));
        steps.set(tenantId, [{ name: "Provisioning", startedAt: at }]);
        fireEvent(tenantRef(tenantId), "Promoting", `${name}: pooled → namespace (Policy)`);
        workers.push(cutOver(tenantId, at));
      });

    const cutOver = (tenantId: string, at: string) =>
      guard(async () => {
        // Intent first, as the operator does: the status names the target before anything is created for it.
        const state = shardOf.get(tenantId);
        if (!state) throw new Error(`${tenantId} has no seat in the floor's seating`);
        const { resources: _resources, ...prior } = servedFromNamespace(tenantId, "CuttingOver", at);
        await applyAs("TenantPlacement", { ...tenantRef(tenantId), status: { ...prior, phase: "Provisioning", tier: "pooled", targetTier: "namespace", pool: POOL, namespace: state.shard.namespace } }, STATUS_FIELD_MANAGER, "status");
        const spec = tenantPlacementSpec.parse(tenantObject(Number(tenantId.slice(2))).spec);
        for (const object of namespaceTierObjects({ tenant: spec, quota: NAMESPACE_QUOTA, tier: "namespace" })) await applyAs(object.kind as Kind, object, FIELD_MANAGER);
        await applyAs("TenantPlacement", { ...tenantRef(tenantId), status: servedFromNamespace(tenantId, "CuttingOver", new Date().toISOString()) }, STATUS_FIELD_MANAGER, "status");
        state.left -= 1;
        if (state.left === 0) workers.push(release(state));
      });

    // Each move starts as soon as its signal has landed, as the operator's starts on the watch event.
    await Promise.all(names.map((name) => report([name]).then(() => workers.push(decide(name)))));
    await workers.done;
    if (failure) throw failure;
    const tenants = shards.reduce((sum, shard) => sum + shard.members.filter((m) => !moving.has(m.tenantId)).length, 0);
    await applyAs(
      "TenantPool",
      { apiVersion: API_VERSION, kind: "TenantPool", metadata: { name: POOL }, status: { observedGeneration: 1, tenants, conditions: [condition("Ready", "True", "Seated", `${tenants} tenant(s) in ${shards.length} shard(s)`, new Date().toISOString())] } },
      STATUS_FIELD_MANAGER,
      "status",
    );
    await Promise.all(events);
  };
}
