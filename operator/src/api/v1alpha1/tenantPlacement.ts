import { z } from "zod";
import {
  celTierRank,
  conditions,
  DNS_SUBDOMAIN,
  dnsLabel,
  labelValue,
  objectName,
  observedGeneration,
  quota,
  signalMap,
  SIGNAL_NAME,
  tags,
  tenantIdName,
  tier,
  TIER_RANK,
  timestamp,
} from "./common.ts";
import { AGE_COLUMN, CATEGORIES, resource, type CrdDescriptor } from "./resource.ts";
import { immutable, keyMatching, maxEntries, withKeyRules, withRules } from "./rules.ts";

export const TIER_MODES = ["Auto", "Pinned"] as const;
export const DELETION_POLICIES = ["Retain", "Snapshot", "Delete"] as const;
export const PHASES = ["Pending", "Provisioning", "Migrating", "CuttingOver", "Active", "Failed", "Deleting"] as const;
export type Phase = (typeof PHASES)[number];

export const tierSettings = withRules(
  z.strictObject({
    mode: z
      .enum(TIER_MODES)
      .default("Auto")
      .describe("Auto: the PlacementPolicy decides within floor..ceiling. Pinned: always serve from `pinned`."),
    pinned: tier
      .optional()
      .describe("Tier to serve the tenant from when mode is Pinned, e.g. namespace. Ignored when mode is Auto."),
    floor: tier
      .default("pooled")
      .describe("Lowest tier Auto may place the tenant in, e.g. namespace for a contract that promises isolation."),
    ceiling: tier.default("account").describe("Highest tier Auto may place the tenant in, e.g. database."),
  }),
  {
    cel: {
      rule: "!has(self.mode) || self.mode != 'Pinned' || has(self.pinned)",
      message: "pinned is required when mode is Pinned",
      fieldPath: ".pinned",
      reason: "FieldValueRequired",
    },
    check: (t) => t.mode !== "Pinned" || t.pinned !== undefined,
  },
  {
    cel: {
      rule: `!has(self.floor) || !has(self.ceiling) || ${celTierRank("self.floor")} <= ${celTierRank("self.ceiling")}`,
      message: "floor must not be above ceiling (tiers are ordered pooled < namespace < database < account)",
      messageExpression:
        "'floor ' + self.floor + ' is above ceiling ' + self.ceiling + ' (tiers are ordered pooled < namespace < database < account)'",
      fieldPath: ".floor",
    },
    check: (t) => TIER_RANK[t.floor] <= TIER_RANK[t.ceiling],
  },
);

export const ADMIN_KINDS = ["User", "Group", "ServiceAccount"] as const;

const admin = withRules(
  z.strictObject({
    kind: z.enum(ADMIN_KINDS).describe("RBAC subject kind: User, Group or ServiceAccount."),
    name: z.string().min(1).max(253).describe("Subject name, e.g. acme-admins or alice@example.com."),
    namespace: dnsLabel.optional().describe("Namespace of a ServiceAccount subject, e.g. acme-ci. Only for ServiceAccount."),
  }),
  {
    cel: {
      rule: "self.kind != 'ServiceAccount' || has(self.namespace)",
      message: "namespace is required for a ServiceAccount subject",
      fieldPath: ".namespace",
      reason: "FieldValueRequired",
    },
    check: (a) => a.kind !== "ServiceAccount" || a.namespace !== undefined,
  },
  {
    // A ServiceAccount's name is an object name; the RoleBinding the operator writes would be refused.
    cel: {
      rule: `self.kind != 'ServiceAccount' || self.name.matches(r'${DNS_SUBDOMAIN.source}')`,
      message: "a ServiceAccount subject's name must be a DNS subdomain such as acme-ci (lower case letters, digits, '-' and '.')",
      fieldPath: ".name",
    },
    check: (a) => a.kind !== "ServiceAccount" || DNS_SUBDOMAIN.test(a.name),
  },
);

const reportedSignals = withKeyRules(
  signalMap(64, "Latest value of the signal, e.g. 1200 for monthlyRevenueUSD."),
  keyMatching(SIGNAL_NAME, "signal names must start with a letter and contain only letters, digits or '_' (e.g. monthlyRevenueUSD)"),
  { cel: "size(k) <= 63", test: (k) => k.length <= 63, message: "signal names must be at most 63 characters" },
);

export const tenantPlacementSpec = z.strictObject({
  tenantId: withRules(tenantIdName, immutable("tenantId is immutable")).describe(
    "Tenant id, equal to metadata.name, e.g. acme: a DNS-1123 label of at most 54 characters without '--'. Used verbatim in namespace (tenant-<id>), stack and AWS names. Immutable.",
  ),
  displayName: z.string().max(256).optional().describe("Human-readable tenant name for reports, e.g. Acme Corp."),
  costCenter: labelValue
    .min(1)
    .describe("Cost center billed for this tenant, e.g. cc-1234. Becomes the landlord.dev/cost-center tag and label."),
  tags: tags
    .optional()
    .describe(
      "Extra cost tags applied to every AWS resource (key as written) and Kubernetes object (label tags.landlord.dev/<key>) of the tenant, e.g. {team: growth}. Keys are label names without a prefix; values are label values; at most 45.",
    ),
  policyRef: objectName.default("default").describe("Name of the PlacementPolicy that decides this tenant's tier, e.g. default."),
  pool: objectName.default("standard").describe("Name of the TenantPool that serves the tenant while pooled, e.g. standard."),
  tier: tierSettings.prefault({}).describe("How the tier is chosen: by policy within floor..ceiling, or pinned."),
  quota: quota
    .optional()
    .describe("Overrides of the tier's default quota for this tenant, e.g. {cpu: \"2\", memory: 4Gi}; unset fields keep the default."),
  reportedSignals: reportedSignals
    .optional()
    .describe(
      "Signal values written by an external billing or usage system, by signal name, e.g. {monthlyRevenueUSD: 1200}. Used by policy signals with source reported.",
    ),
  admins: z
    .array(admin)
    .max(16)
    .optional()
    .describe("Subjects bound to the tenant admin role in the tenant's own namespace, e.g. [{kind: Group, name: acme-admins}]."),
  deletionPolicy: z
    .enum(DELETION_POLICIES)
    .default("Retain")
    .describe(
      "What happens to AWS resources (RDS, account) when this object is deleted: Retain keeps them, Snapshot takes a final snapshot then deletes, Delete deletes them.",
    ),
});
export type TenantPlacementSpec = z.output<typeof tenantPlacementSpec>;

export const recommendation = z.strictObject({
  tier: tier.describe("Tier the policy recommends, e.g. namespace."),
  reason: z.string().max(1024).describe("Why, e.g. monthlyRevenueUSD 21000 >= 20000."),
  since: timestamp.describe("When the recommendation first held, RFC 3339; promoteAfter counts from here."),
});

export const inventoryItem = z.strictObject({
  kind: z
    .string()
    .min(1)
    .max(253)
    .describe("Kubernetes kind or Pulumi resource type, e.g. Namespace or aws:rds/instance:Instance."),
  name: z.string().max(253).optional().describe("Kubernetes object name, e.g. tenant-acme."),
  namespace: z.string().max(63).optional().describe("Namespace of a namespaced Kubernetes object, e.g. tenant-acme."),
  id: z.string().max(1024).optional().describe("Cloud provider id, e.g. landlord-acme for an RDS instance."),
  arn: z
    .string()
    .max(2048)
    .optional()
    .describe("AWS ARN, e.g. arn:aws:rds:eu-west-1:123456789012:db:landlord-acme."),
  planned: z
    .boolean()
    .optional()
    .describe("True when the resource was only planned (plan provisioner, no AWS credentials) and does not exist."),
  tags: maxEntries(z.record(z.string().max(128), z.string().max(256).describe("Tag value, e.g. acme.")), 50)
    .optional()
    .describe("AWS tags the resource carries (or would carry, when planned), e.g. {landlord.dev/tenant: acme}."),
});

export const STACK_STATES = ["Provisioning", "Ready", "Failed", "Destroying", "DestroyFailed"] as const;

export const stackStatus = z.strictObject({
  kind: z.enum(["database", "account"]).describe("Which dedicated stack: database (an RDS instance) or account (an AWS account with its RDS instance)."),
  name: z.string().max(253).describe("Pulumi stack name, e.g. landlord-acme-database."),
  state: z
    .enum(STACK_STATES)
    .describe("Provisioning, Ready, Failed (the last up failed; retried with backoff), Destroying or DestroyFailed."),
  planned: z.boolean().optional().describe("True when the plan provisioner recorded the stack: nothing exists in AWS."),
  requestHash: z.string().max(64).optional().describe("Digest of the settings the stack was last brought up with; a change re-runs up."),
  endpoint: z.string().max(253).optional().describe("Database endpoint, e.g. landlord-acme.abc123.eu-west-1.rds.amazonaws.com."),
  port: z.int().min(1).max(65535).optional().describe("Database port, e.g. 5432."),
  masterSecretArn: z
    .string()
    .max(2048)
    .optional()
    .describe("ARN of the Secrets Manager secret RDS manages for the master user; the password itself never passes through Landlord."),
  accountId: z.string().max(64).optional().describe("The dedicated AWS account's id (account stack), e.g. 123456789012; a plan records a placeholder."),
  failures: z.int().min(0).optional().describe("Consecutive failed operations; the backoff grows with it and survives operator restarts."),
  lastError: z.string().max(4096).optional().describe("Why the last operation failed."),
  retryAt: timestamp.optional().describe("When a failed operation is retried, RFC 3339."),
});

export const migrationStatus = z.strictObject({
  job: z.string().max(63).describe("Name of the migration Job of the current attempt, in the tenant namespace."),
  decision: z.string().max(253).describe("The PlacementDecision (move) the migration belongs to."),
  jobUid: z.string().max(64).optional().describe("UID of the Job Landlord created for this attempt: only that Job's outcome is believed."),
  attempt: z.int().min(1).describe("Attempt number, from 1."),
  state: z.enum(["Running", "Succeeded", "Failed"]).describe("Running, Succeeded or Failed (retried with backoff as a new Job)."),
  lastError: z.string().max(4096).optional().describe("Why the last attempt failed, from the Job's Failed condition."),
  retryAt: timestamp.optional().describe("When a failed migration is retried, RFC 3339."),
});

export const tenantPlacementStatus = z.strictObject({
  observedGeneration,
  phase: z
    .enum(PHASES)
    .optional()
    .describe(
      "Lifecycle phase: Pending, Provisioning, Migrating, CuttingOver, Active, Failed or Deleting. A move goes Provisioning → Migrating → CuttingOver → Active.",
    ),
  tier: tier.optional().describe("Tier the tenant is served from now, e.g. pooled."),
  targetTier: tier.optional().describe("Tier a move in progress is heading to, e.g. namespace; absent when not moving."),
  pool: z.string().max(253).optional().describe("TenantPool serving the tenant while pooled, e.g. standard."),
  namespace: z.string().max(63).optional().describe("Namespace that serves the tenant now, e.g. pool-standard-1 or tenant-acme."),
  signals: signalMap(
    128,
    "Signal value, e.g. 51000; *Share entries are fractions of the pool total (0.004 = 0.4%).",
  )
    .optional()
    .describe(
      "Signal values the last evaluation used, by name, e.g. {monthlyRevenueUSD: 1200, requestsPerDay: 51000, requestsPerDayShare: 0.004}.",
    ),
  signalsObservedAt: timestamp.optional().describe("When signals were last read, RFC 3339."),
  recommendation: recommendation.optional().describe("The policy's current recommendation, if it differs from the current tier."),
  lastDecision: z
    .string()
    .max(253)
    .optional()
    .describe("Name of the newest PlacementDecision for this tenant, e.g. acme-0003."),
  decisionHead: z
    .strictObject({
      name: z.string().max(253).describe("The newest PlacementDecision of the tenant's chain, e.g. acme-0003."),
      digest: z
        .string()
        .max(71)
        .regex(/^sha256:[0-9a-f]{64}$/)
        .describe("sha256 of the canonical JSON of its name and spec, e.g. sha256:9f86d0…"),
    })
    .optional()
    .describe("The head of the tenant's hash chain of PlacementDecisions: `landlord audit verify` checks the newest decision against it."),
  resources: z
    .array(inventoryItem)
    .max(256)
    .optional()
    .describe("Inventory of everything created for this tenant, in Kubernetes and in AWS."),
  stacks: z
    .array(stackStatus)
    .max(4)
    .optional()
    .describe("Dedicated AWS stacks (Pulumi) of the tenant: the one serving it and, during a move or release, the other."),
  migration: migrationStatus.optional().describe("Data migration Job of the move in progress, when the policy has one."),
  conditions: conditions
    .optional()
    .describe("Ready, Promoting, TagsCompliant and Degraded, following Kubernetes condition conventions."),
});
export type TenantPlacementStatus = z.output<typeof tenantPlacementStatus>;

export const tenantPlacement = withRules(
  resource({
    kind: "TenantPlacement",
    description:
      "TenantPlacement says where one tenant of the SaaS lives (pooled, namespace, database or account) and why. One per tenant; metadata.name is the tenant id.",
    spec: tenantPlacementSpec.describe("Desired placement of the tenant."),
    status: tenantPlacementStatus.describe("Observed placement, written by the operator."),
  }),
  {
    cel: {
      rule: "self.spec.tenantId == self.metadata.name",
      message: "spec.tenantId must equal metadata.name",
      messageExpression: "'spec.tenantId ' + self.spec.tenantId + ' must equal metadata.name ' + self.metadata.name",
      fieldPath: ".spec.tenantId",
    },
    check: (o) => o.spec.tenantId === o.metadata.name,
  },
);
export type TenantPlacement = z.output<typeof tenantPlacement>;
export type TenantPlacementInput = z.input<typeof tenantPlacement>;

export const tenantPlacementCrd: CrdDescriptor = {
  kind: "TenantPlacement",
  listKind: "TenantPlacementList",
  plural: "tenantplacements",
  singular: "tenantplacement",
  shortNames: ["tp"],
  categories: CATEGORIES,
  scope: "Cluster",
  schema: tenantPlacement,
  printerColumns: [
    { name: "Tier", type: "string", jsonPath: ".status.tier", description: "Tier the tenant is served from now." },
    { name: "Target", type: "string", jsonPath: ".status.targetTier", description: "Tier a move in progress is heading to." },
    { name: "Pool", type: "string", jsonPath: ".status.pool", description: "TenantPool serving the tenant while pooled." },
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase." },
    {
      name: "Revenue",
      type: "number",
      jsonPath: ".status.signals.monthlyRevenueUSD",
      description: "Monthly revenue in USD at the last evaluation.",
    },
    // Written by landlord costs --record under these default names; empty until a cost run reports them.
    {
      name: "Cost",
      type: "number",
      jsonPath: ".spec.reportedSignals.monthlyCostUSD",
      description: "Monthly cost in USD from the last recorded cost run (reported signal monthlyCostUSD).",
    },
    {
      name: "Margin",
      type: "number",
      jsonPath: ".spec.reportedSignals.marginUSD",
      description: "Monthly revenue minus cost in USD from the last recorded cost run (reported signal marginUSD).",
    },
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "Whether the tenant is served and healthy.",
    },
    AGE_COLUMN,
  ],
};
