import { placementPolicySpec, type PlacementPolicyStatus } from "../api/v1alpha1/index.ts";
import { ellipsize } from "../api/text.ts";
import type { KubeObject } from "../kube/client.ts";
import type { ReconcileResult } from "../kube/queue.ts";
import { compact, mergeConditions, specIssues, type Condition, type ConditionInput } from "./conditions.ts";
import { applyStatus, type ControllerContext } from "./context.ts";
import { parsedSpec } from "./parsedSpec.ts";

interface PolicyObject extends KubeObject {
  status?: PlacementPolicyStatus;
}

/** What the policy status needs of a tenant: whom it follows, and the signal conditions it reports. */
export interface Follower {
  metadata: { name: string };
  spec?: { policyRef?: string };
  status?: { conditions?: readonly { type: string; status: string; message: string }[] };
}

/** A tenant without spec.policyRef follows the policy named default (the schema's default). */
export const policyRefOf = (tenant: Follower): string => tenant.spec?.policyRef ?? "default";

/** Longest example message quoted from a tenant: a Prometheus error can be long. */
const MAX_EXAMPLE = 512;

/** Signal problems tenants report, worst first: an unreadable signal before a stale one. */
const SIGNAL_CONDITIONS = [
  { type: "SignalsUnavailable", what: "signals the policy cannot read" },
  { type: "SignalsStale", what: "stale signals" },
] as const;

/**
 * The status of a PlacementPolicy from its spec's validity and the tenants that follow it (their
 * signal conditions, as their own reconciles wrote them). Pure, and built only from stored
 * objects, so it is the same on every replica and an unchanged cluster recomputes it unchanged.
 */
export function policyStatus(o: {
  previous: PlacementPolicyStatus | undefined;
  generation: number | undefined;
  now: string;
  /** Why the spec is invalid, or undefined when it is valid. */
  invalid: string | undefined;
  followers: readonly Follower[];
}): PlacementPolicyStatus {
  const followers = [...o.followers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const problems: string[] = [];
  let worst: string | undefined;
  for (const { type, what } of SIGNAL_CONDITIONS) {
    const affected = followers.flatMap((t) => {
      const condition = t.status?.conditions?.find((c) => c.type === type && c.status === "True");
      return condition ? [{ tenant: t.metadata.name, message: condition.message }] : [];
    });
    const first = affected[0];
    if (!first) continue;
    worst ??= type;
    problems.push(`${affected.length} of ${followers.length} tenant(s) have ${what}, e.g. ${first.tenant}: ${ellipsize(first.message, MAX_EXAMPLE)}`);
  }
  const conditions: ConditionInput[] = o.invalid
    ? [
        { type: "Ready", status: "False", reason: "InvalidSpec", message: `The spec is invalid and not acted on; its tenants follow only their spec.tier: ${o.invalid}` },
        { type: "Degraded", status: "True", reason: "InvalidSpec", message: o.invalid },
      ]
    : [
        { type: "Ready", status: "True", reason: "Valid", message: "The spec is valid and decides the tier of the tenants that follow it" },
        worst
          ? { type: "Degraded", status: "True", reason: worst, message: problems.join("; ") }
          : { type: "Degraded", status: "False", reason: "AsExpected", message: "No problems" },
      ];
  return compact({
    observedGeneration: o.generation,
    tenants: followers.length,
    conditions: mergeConditions(o.previous?.conditions as Condition[] | undefined, conditions, o.now, o.generation),
  });
}

/**
 * Writes a PlacementPolicy's status: whether it is valid, how many tenants follow it, and the
 * signal problems they report. Only when that changed (applyStatus compares), so an unchanged
 * evaluation writes nothing. Reads the store only; the tenants' reconciles are woken by the policy
 * itself (see keysFor in manager.ts), never by this.
 */
export async function reconcilePolicy(ctx: ControllerContext, name: string): Promise<ReconcileResult> {
  const policy = ctx.store.get<PolicyObject>("PlacementPolicy", name);
  if (!policy) return { kind: "done" };
  const valid = parsedSpec(placementPolicySpec, policy);
  // Parsed again only on this rare path, for the issues' text.
  const invalid = valid ? undefined : specIssues(placementPolicySpec.safeParse(policy.spec).error ?? { issues: [] });
  const followers = ctx.store.list<KubeObject & Follower>("TenantPlacement").filter((t) => policyRefOf(t) === name);
  const previous = policy.status;
  const status = policyStatus({ previous, generation: policy.metadata.generation, now: ctx.now().toISOString(), invalid, followers });
  const written = await applyStatus(ctx, policy, status as Record<string, unknown>);
  const degraded = status.conditions?.find((c) => c.type === "Degraded");
  const before = previous?.conditions?.find((c) => c.type === "Degraded");
  if (written && degraded?.status === "True" && (before?.status !== "True" || before.reason !== degraded.reason)) {
    ctx.events.record(policy, "Warning", degraded.reason, degraded.message);
  }
  return invalid ? { kind: "error", error: new Error(`invalid spec: ${invalid}`), terminal: true } : { kind: "done" };
}
