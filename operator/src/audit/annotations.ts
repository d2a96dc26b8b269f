import { APPROVE_ANNOTATION } from "../api/labels.ts";

/**
 * The annotations of a manual action on a TenantPlacement. The two "-by" stamps are written by the
 * API server (the chart's MutatingAdmissionPolicy, from the request's authenticated user) and
 * checked by its ValidatingAdmissionPolicy, so they name who really did it; the reasons are the
 * person's own words, required at admission. A PlacementDecision copies them.
 */
export const AUDIT_ANNOTATIONS = {
  /** The approval itself. */
  approve: APPROVE_ANNOTATION,
  approveReason: "landlord.dev/approve-reason",
  approvedBy: "landlord.dev/approved-by",
  tierReason: "landlord.dev/tier-reason",
  tierChangedBy: "landlord.dev/tier-changed-by",
} as const;

/** Who caused a decision and why, as the tenant's annotations say at decision time. */
export interface ActorAndReason {
  actor?: string;
  reason?: string;
}

/**
 * The actor and reason behind a decision with `trigger`: an approval's for a Manual move, the last
 * spec.tier change's for Pinned, Floor and Ceiling; a Policy move has none (the policy decided).
 */
export function actorAndReason(annotations: Record<string, string> | undefined, trigger: string): ActorAndReason {
  const a = annotations ?? {};
  const pick = (actorKey: string, reasonKey: string): ActorAndReason => ({
    ...(a[actorKey] ? { actor: a[actorKey].slice(0, 253) } : {}),
    ...(a[reasonKey]?.trim() ? { reason: a[reasonKey].trim().slice(0, 1024) } : {}),
  });
  if (trigger === "Manual") return pick(AUDIT_ANNOTATIONS.approvedBy, AUDIT_ANNOTATIONS.approveReason);
  if (trigger === "Pinned" || trigger === "Floor" || trigger === "Ceiling") return pick(AUDIT_ANNOTATIONS.tierChangedBy, AUDIT_ANNOTATIONS.tierReason);
  return {};
}
