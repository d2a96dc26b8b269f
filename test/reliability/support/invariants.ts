import type { KubeObject } from "../../../operator/src/kube/client.ts";
import { tenantNamespace } from "../../../operator/src/api/names.ts";
import { capQuota, parseQuantity, sumQuotas, type Quota } from "../../../operator/src/placement/quantity.ts";
import type { DecisionJson, Snapshot, TenantJson } from "./api.ts";

/**
 * Landlord's placement invariants, judged on one consistent snapshot of the cluster.
 *
 * "Exactly one serving placement" is read as two checks, because a move is target-ready-before-
 * release by design and both placements briefly exist during a cut-over:
 *   1. serving: the placement status.tier names exists and is ready — pooled: one registry entry in
 *      a shard of the tenant's pool; namespace/database/account: its managed namespace tenant-<id>,
 *      Active, not terminating, with its ResourceQuota; database/account also a Ready stack of that
 *      kind in status.stacks and the landlord-connection ConfigMap naming that tier;
 *   2. no orphan: no placement exists that neither status.tier nor status.targetTier names, except
 *      the old one while status.phase says CuttingOver (recorded served elsewhere, old home not yet
 *      released). A terminating namespace is on its way out and counts as released.
 * Decisions: never two open moves of one tenant, never more decisions than moves requested.
 */

export interface Violation {
  rule: string;
  tenant?: string;
  message: string;
  resourceVersion: string;
  at: string;
}

export interface CheckResult {
  /** Individual assertions evaluated (one per rule per tenant, per shard, ...). */
  checks: number;
  violations: Violation[];
}

export interface Scope {
  /** Whether a tenant id belongs to the run being checked (other tests' tenants share the cluster). */
  owns(tenantId: string): boolean;
  /** Tiers requested so far per tenant, oldest first: the first is its initial placement. */
  requested: ReadonlyMap<string, readonly string[]>;
  /** The run's own TenantPool, whose shard quotas the converged check sums. */
  pool?: string;
}

const DEDICATED = new Set(["namespace", "database", "account"]);
const WITH_STACK = new Set(["database", "account"]);
const REGISTRY = "landlord-tenants";
const CONNECTION = "landlord-connection";
const QUOTA = "landlord-quota";

interface Seat {
  tenantId: string;
  namespace: string;
  pool: string;
  entry: { quota?: Quota };
}

interface Index {
  seats: Map<string, Seat[]>;
  namespaces: Map<string, KubeObject>;
  quotas: Map<string, KubeObject>;
  connections: Map<string, KubeObject>;
  decisions: Map<string, DecisionJson[]>;
  tenants: Map<string, TenantJson>;
  registries: KubeObject[];
}

function index(s: Snapshot): Index {
  const seats = new Map<string, Seat[]>();
  const registries: KubeObject[] = [];
  const connections = new Map<string, KubeObject>();
  for (const cm of s.configMaps) {
    const namespace = cm.metadata.namespace ?? "";
    if (cm.metadata.name === CONNECTION) connections.set(namespace, cm);
    if (cm.metadata.name !== REGISTRY) continue;
    registries.push(cm);
    const pool = cm.metadata.labels?.["landlord.dev/pool"] ?? "";
    for (const [tenantId, text] of Object.entries((cm.data ?? {}) as Record<string, string>)) {
      let entry: Seat["entry"] = {};
      try {
        entry = JSON.parse(text) as Seat["entry"];
      } catch {
        // An unreadable entry is still a seat; its quota then counts as unknown.
      }
      seats.set(tenantId, [...(seats.get(tenantId) ?? []), { tenantId, namespace, pool, entry }]);
    }
  }
  const decisions = new Map<string, DecisionJson[]>();
  for (const d of s.decisions) {
    const tenant = d.metadata.labels?.["landlord.dev/tenant"] ?? d.spec.tenant;
    decisions.set(tenant, [...(decisions.get(tenant) ?? []), d]);
  }
  for (const list of decisions.values()) list.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return {
    seats,
    namespaces: new Map(s.namespaces.map((n) => [n.metadata.name, n])),
    quotas: new Map(s.quotas.filter((q) => q.metadata.name === QUOTA).map((q) => [q.metadata.namespace ?? "", q])),
    connections,
    decisions,
    tenants: new Map(s.tenants.map((t) => [t.metadata.name, t])),
    registries,
  };
}

const live = (object: KubeObject | undefined): object is KubeObject => object !== undefined && !object.metadata.deletionTimestamp;

class Judge {
  checks = 0;
  readonly violations: Violation[] = [];
  constructor(private readonly s: Snapshot) {}
  expect(ok: boolean, rule: string, tenant: string | undefined, message: () => string): boolean {
    this.checks++;
    if (!ok) this.violations.push({ rule, ...(tenant ? { tenant } : {}), message: message(), resourceVersion: this.s.resourceVersion, at: new Date(this.s.takenAt).toISOString() });
    return ok;
  }
}

/** The invariants that must hold at every instant, moves in flight included. */
export function checkAlways(s: Snapshot, scope: Scope): CheckResult {
  const judge = new Judge(s);
  const ix = index(s);
  for (const tenant of s.tenants) {
    const id = tenant.metadata.name;
    if (!scope.owns(id)) continue;
    judgeTenant(judge, ix, tenant, scope);
  }
  judgeStrays(judge, ix, scope);
  return { checks: judge.checks, violations: judge.violations };
}

function judgeTenant(judge: Judge, ix: Index, tenant: TenantJson, scope: Scope): void {
  const id = tenant.metadata.name;
  const status = tenant.status ?? {};
  const tier = status.tier;
  const named = new Set([tier, status.targetTier].filter((t): t is string => t !== undefined));
  const cuttingOver = status.phase === "CuttingOver";
  const seats = ix.seats.get(id) ?? [];
  const nsName = tenantNamespace(id);
  const namespace = ix.namespaces.get(nsName);
  const ownNamespace = live(namespace) && namespace.metadata.labels?.["landlord.dev/tenant"] === id;
  const connection = ix.connections.get(nsName);

  // 1. The placement status.tier names exists and is ready.
  if (tier === "pooled") {
    const pool = tenant.spec.pool ?? "standard";
    judge.expect(seats.length > 0, "serving", id, () => `served from pooled but no registry entry of pool ${pool} lists it`);
    judge.expect(seats.every((seat) => seat.pool === pool), "serving", id, () => `seated in pool(s) ${seats.map((seat) => seat.pool).join(", ")}, not its pool ${pool}`);
    if (seats.length === 1) judge.expect(status.namespace === seats[0]?.namespace, "serving", id, () => `status.namespace ${status.namespace} but the seat is in ${seats[0]?.namespace}`);
  } else if (tier !== undefined && DEDICATED.has(tier)) {
    const phase = (namespace?.status as { phase?: string } | undefined)?.phase;
    judge.expect(ownNamespace && phase === "Active", "serving", id, () =>
      namespace ? `served from ${tier} but namespace ${nsName} is ${namespace.metadata.deletionTimestamp ? "terminating" : `${phase ?? "without phase"}`}` : `served from ${tier} but namespace ${nsName} does not exist`,
    );
    judge.expect(ix.quotas.has(nsName), "serving", id, () => `served from ${tier} but ${nsName} has no ResourceQuota ${QUOTA}`);
    if (WITH_STACK.has(tier)) {
      const stack = status.stacks?.find((e) => e.kind === tier);
      judge.expect(stack?.state === "Ready", "serving", id, () => `served from ${tier} but its ${tier} stack is ${stack ? stack.state : "absent"}`);
      const data = (connection?.data ?? {}) as Record<string, string>;
      judge.expect(connection !== undefined && data.tier === tier, "serving", id, () => `served from ${tier} but ${CONNECTION} ${connection ? `says tier ${data.tier}` : "does not exist"}`);
    }
  }

  // 2. Nothing that neither the served nor the target tier names (the old home may linger while CuttingOver).
  judge.expect(seats.length <= 1, "orphan", id, () => `seated ${seats.length} times: ${seats.map((seat) => seat.namespace).join(", ")}`);
  judge.expect(seats.length === 0 || named.has("pooled") || cuttingOver, "orphan", id, () =>
    `registry entry in ${seats.map((seat) => seat.namespace).join(", ")} but tier=${tier ?? "-"} target=${status.targetTier ?? "-"} phase=${status.phase ?? "-"}`,
  );
  const needsNamespace = [...named].some((t) => DEDICATED.has(t));
  judge.expect(!ownNamespace || needsNamespace || cuttingOver, "orphan", id, () => `namespace ${nsName} exists but tier=${tier ?? "-"} target=${status.targetTier ?? "-"} phase=${status.phase ?? "-"}`);
  judge.expect(!(ownNamespace && ix.quotas.has(nsName)) || needsNamespace || cuttingOver, "orphan", id, () => `ResourceQuota ${nsName}/${QUOTA} exists but tier=${tier ?? "-"} target=${status.targetTier ?? "-"}`);
  const needsConnection = [...named].some((t) => WITH_STACK.has(t));
  judge.expect(!(live(namespace) && connection) || needsConnection || cuttingOver, "orphan", id, () => `${nsName}/${CONNECTION} exists but tier=${tier ?? "-"} target=${status.targetTier ?? "-"} phase=${status.phase ?? "-"}`);
  for (const stack of status.stacks ?? []) {
    judge.expect(stack.state !== "Ready" || named.has(stack.kind) || cuttingOver, "orphan", id, () => `stack ${stack.name} is Ready but tier=${tier ?? "-"} target=${status.targetTier ?? "-"}`);
  }

  // 3. One decision per move: never two open at once, never more than the moves requested.
  const decisions = ix.decisions.get(id) ?? [];
  const open = decisions.filter((d) => !d.status?.outcome);
  judge.expect(open.length <= 1, "decisions", id, () => `${open.length} open decisions: ${open.map((d) => d.metadata.name).join(", ")}`);
  const requested = scope.requested.get(id);
  if (requested) judge.expect(decisions.length <= requested.length, "decisions", id, () => `${decisions.length} decisions for ${requested.length} requested placements: ${decisions.map((d) => `${d.metadata.name} ${d.spec.from ?? "(new)"}→${d.spec.to}`).join(", ")}`);
}

/** Seats and namespaces of the run's tenants that no longer exist at all. */
function judgeStrays(judge: Judge, ix: Index, scope: Scope): void {
  for (const [tenantId, seats] of ix.seats) {
    if (!scope.owns(tenantId)) continue;
    judge.expect(ix.tenants.has(tenantId), "orphan", tenantId, () => `registry entry in ${seats.map((s) => s.namespace).join(", ")} for a tenant that does not exist`);
  }
  for (const namespace of ix.namespaces.values()) {
    const tenantId = namespace.metadata.labels?.["landlord.dev/tenant"];
    if (!tenantId || !scope.owns(tenantId) || !live(namespace)) continue;
    judge.expect(ix.tenants.has(tenantId), "orphan", tenantId, () => `namespace ${namespace.metadata.name} for a tenant that does not exist`);
  }
}

/**
 * After the last fault: every tenant settled where it was last asked to be, its decisions exactly
 * the moves requested (each Succeeded), nothing left of any earlier placement, and every shard's
 * ResourceQuota the sum of its members' quotas. Only these checks: checkAlways must hold as well.
 */
export function checkConverged(s: Snapshot, scope: Scope, poolCapacity?: { cpu: string; memory: string }): CheckResult {
  const judge = new Judge(s);
  const ix = index(s);
  for (const tenant of s.tenants) {
    const id = tenant.metadata.name;
    if (!scope.owns(id)) continue;
    const status = tenant.status ?? {};
    const requested = scope.requested.get(id) ?? [];
    const want = requested.at(-1);
    judge.expect(status.tier === want && status.targetTier === undefined && status.phase === "Active", "converged", id, () => `tier=${status.tier ?? "-"} target=${status.targetTier ?? "-"} phase=${status.phase ?? "-"}, requested ${want}`);
    const ready = status.conditions?.find((c) => c.type === "Ready");
    judge.expect(ready?.status === "True", "converged", id, () => `Ready is ${ready?.status ?? "absent"} (${ready?.message ?? ""})`);
    const stacks = (status.stacks ?? []).map((e) => e.kind);
    judge.expect(stacks.length === (want && WITH_STACK.has(want) ? 1 : 0) && stacks.every((k) => k === want), "converged", id, () => `stacks ${JSON.stringify(status.stacks?.map((e) => `${e.kind}:${e.state}`))} while served from ${want}`);
    const decisions = ix.decisions.get(id) ?? [];
    judge.expect(
      decisions.length === requested.length && decisions.every((d, i) => d.spec.to === requested[i] && (d.spec.from ?? undefined) === (i === 0 ? undefined : requested[i - 1]) && d.status?.outcome === "Succeeded"),
      "decisions",
      id,
      () => `requested ${requested.join(" → ")}, decisions ${decisions.map((d) => `${d.metadata.name} ${d.spec.from ?? "(new)"}→${d.spec.to} ${d.status?.outcome ?? "open"}`).join(", ")}`,
    );
  }
  // A shard's quota is its members' quotas summed (capped by the pool's capacity): no share of a departed tenant lingers.
  for (const registry of ix.registries) {
    const namespace = registry.metadata.namespace ?? "";
    const members = Object.keys((registry.data ?? {}) as Record<string, string>);
    if (scope.pool === undefined || registry.metadata.labels?.["landlord.dev/pool"] !== scope.pool) continue;
    const quota = ix.quotas.get(namespace);
    const hard = ((quota?.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {}) as Record<string, string>;
    const entries = members.map((m) => ix.seats.get(m)?.find((seat) => seat.namespace === namespace)?.entry.quota ?? {});
    const summed = members.length > 0 ? sumQuotas(entries) : { cpu: "0", memory: "0" };
    const expected = poolCapacity ? capQuota(summed, poolCapacity) : summed;
    for (const [key, resource] of [["cpu", "requests.cpu"], ["memory", "requests.memory"]] as const) {
      const want = expected[key];
      const have = hard[resource];
      judge.expect(want !== undefined && have !== undefined && parseQuantity(want) === parseQuantity(have), "orphan", undefined, () => `shard ${namespace} quota ${resource}=${have} but its ${members.length} member(s) sum to ${want}`);
    }
  }
  return { checks: judge.checks, violations: judge.violations };
}
