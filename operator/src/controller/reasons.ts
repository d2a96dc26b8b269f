/**
 * Every condition and Event reason the controllers write, in one place. The values are API:
 * `kubectl wait --for=condition`, alerts, the README and the tests match on them, so a value never
 * changes; a new one is added here first. Reasons that come from elsewhere are typed where they are
 * made: a Promoting=False wait (Stabilizing, Cooldown, AwaitingApproval) is the policy engine's
 * WaitReason, a signal problem (Stale, Unavailable) its SignalProblem, and a Ready=False reason
 * before the first placement is the tenant's phase (Pending, Provisioning, ...).
 */
export const REASONS = {
  // Both kinds: the spec does not validate and is not acted on.
  invalidSpec: "InvalidSpec",

  // TenantPlacement Ready.
  served: "Served",
  servedWhileMoving: "ServedWhileMoving",
  servedMoveFailed: "ServedMoveFailed",

  // TenantPlacement Promoting=False (besides the engine's waits).
  settled: "Settled",
  rateLimited: "RateLimited",

  // TenantPlacement TagsCompliant.
  labelled: "Labelled",
  pooledByShare: "PooledByShare",
  missingTags: "MissingTags",

  // TenantPlacement PolicyResolved=False.
  policyNotFound: "PolicyNotFound",
  invalidPolicy: "InvalidPolicy",

  // TenantPlacement Degraded: False says asExpected, True one of the rest.
  asExpected: "AsExpected",
  poolNotFound: "PoolNotFound",
  unplaceable: "Unplaceable",
  namespaceConflict: "NamespaceConflict",
  childRejected: "ChildRejected",
  migrationRefused: "MigrationRefused",
  migrationFailed: "MigrationFailed",
  stackSettingsMissing: "StackSettingsMissing",
  provisionFailed: "ProvisionFailed",
  releaseFailed: "ReleaseFailed",

  // TenantPool Ready (besides invalidSpec and unplaceable).
  seated: "Seated",
  ownerConflict: "OwnerConflict",
  // Being deleted while tenants are still served in it (poolDeletion.ts).
  deleting: "Deleting",
} as const;

export type Reason = (typeof REASONS)[keyof typeof REASONS];

/** Reasons of Normal Events on a TenantPlacement (a Degraded condition's reason doubles as its Warning's). */
export const EVENT_REASONS = {
  placing: "Placing",
  promoting: "Promoting",
  demoting: "Demoting",
  placed: "Placed",
  provisioned: "Provisioned",
  released: "Released",
} as const;
