import { z } from "zod";
import { conditions, DNS_SUBDOMAIN, duration, observedGeneration, podSecurityLevel, quota, signalName, tier } from "./common.ts";
import { AGE_COLUMN, CATEGORIES, resource, type CrdDescriptor } from "./resource.ts";
import { listMap, matching, withRules } from "./rules.ts";

// "exactly one of" in CEL: count the fields that are set (zod does the same with countDefined).
const countSet = (fields: string[]): string => fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(" + ");
const countDefined = (value: object, fields: string[]): number =>
  fields.filter((f) => (value as Record<string, unknown>)[f] !== undefined).length;

const SOURCES = ["reported", "prometheus", "kubernetes"];

export const signalSource = withRules(
  z.strictObject({
    reported: z
      .strictObject({})
      .optional()
      .describe("Read the value from the TenantPlacement's spec.reportedSignals under the signal's name. Write {}."),
    prometheus: z
      .strictObject({
        query: z
          .string()
          .min(1)
          .max(4096)
          .describe(
            'PromQL returning one number per tenant; {{tenantId}} is replaced by the tenant id, e.g. sum(increase(http_requests_total{tenant="{{tenantId}}"}[1d])).',
          ),
      })
      .optional()
      .describe("Evaluate a Prometheus query for each tenant."),
    kubernetes: z
      .strictObject({
        resource: withRules(
          z.string().min(1).max(253),
          matching(
            /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/,
            "must be a ResourceQuota resource name such as requests.cpu, requests.memory or pods",
          ),
        ).describe("ResourceQuota resource whose status.used is read, e.g. requests.cpu (in cores) or requests.memory (in bytes)."),
      })
      .optional()
      .describe("Read usage from the tenant's ResourceQuota status.used."),
  }),
  {
    cel: {
      rule: `${countSet(SOURCES)} == 1`,
      message: "source must set exactly one of reported, prometheus or kubernetes",
    },
    check: (s) => countDefined(s, SOURCES) === 1,
  },
);

export const signal = z.strictObject({
  name: signalName.describe("Signal name used by tier conditions, e.g. monthlyRevenueUSD."),
  source: signalSource.describe("Where the value comes from: exactly one of reported, prometheus or kubernetes."),
  maxAge: duration
    .optional()
    .describe(
      "How old a value of this signal may be before it is stale, overriding spec.maxSignalAge, e.g. 840h for a monthly cost figure written once per billing run.",
    ),
});

const OPERATORS = ["gte", "gt", "lte", "lt"] as const;
const threshold = (op: string) =>
  z
    .number()
    .optional()
    .describe(`Matches when the signal is ${op} this value, e.g. 20000 (or 0.05 with share: true).`);

export const policyCondition = withRules(
  z.strictObject({
    signal: signalName.describe("Name of a signal declared in spec.signals, e.g. monthlyRevenueUSD."),
    share: z
      .boolean()
      .optional()
      .describe(
        "Compare the tenant's fraction of the pool's total for the signal (0..1) instead of the raw value, e.g. true with gte: 0.05 for 5%.",
      ),
    gte: threshold(">="),
    gt: threshold(">"),
    lte: threshold("<="),
    lt: threshold("<"),
  }),
  {
    cel: {
      rule: `${countSet([...OPERATORS])} == 1`,
      message: "a condition needs exactly one comparison: gte, gt, lte or lt",
    },
    check: (c) => countDefined(c, [...OPERATORS]) === 1,
  },
  {
    cel: {
      rule: `!has(self.share) || !self.share || (${OPERATORS.map((o) => `(!has(self.${o}) || (self.${o} >= 0.0 && self.${o} <= 1.0))`).join(" && ")})`,
      message: "with share: true the threshold is a fraction of the pool total between 0 and 1 (e.g. 0.05 for 5%)",
    },
    check: (c) =>
      !c.share ||
      OPERATORS.every((o) => {
        const v = c[o];
        return v === undefined || (v >= 0 && v <= 1);
      }),
  },
);
export type PolicyCondition = z.output<typeof policyCondition>;

const conditionList = (quantifier: string) =>
  z
    .array(policyCondition)
    .min(1)
    .max(8)
    .optional()
    .describe(`Conditions of which ${quantifier} must hold, e.g. [{signal: monthlyRevenueUSD, gte: 20000}].`);

export const when = withRules(
  z.strictObject({ any: conditionList("at least one"), all: conditionList("every one") }),
  {
    cel: { rule: "has(self.any) != has(self.all)", message: "set exactly one of any or all" },
    check: (w) => (w.any === undefined) !== (w.all === undefined),
  },
);
export type When = z.output<typeof when>;

export const DATABASE_ENGINES = ["postgres", "mysql"] as const;

export const databaseSettings = z.strictObject({
  engine: z.enum(DATABASE_ENGINES).describe("RDS engine: postgres or mysql."),
  instanceClass: withRules(
    z.string().min(1).max(64),
    matching(/^db\.[a-z0-9-]+\.[a-z0-9]+$/, "must be an RDS instance class such as db.t4g.medium"),
  ).describe("RDS instance class, e.g. db.t4g.medium."),
  allocatedStorageGB: z.int().min(20).max(65536).describe("Allocated storage in GiB, at least 20, e.g. 50."),
  engineVersion: z
    .string()
    .max(32)
    .optional()
    .describe("Engine version, e.g. 16.4; absent means the RDS default for the engine."),
});

export const accountSettings = z.strictObject({
  organizationalUnitId: withRules(
    z.string().min(1).max(68),
    matching(
      /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/,
      "must be an AWS Organizations OU id such as ou-ab12-cdef3456 (or a root id such as r-ab12)",
    ),
  ).describe("AWS Organizations OU (or root) the tenant account is created in, e.g. ou-ab12-cdef3456."),
  emailTemplate: withRules(
    z.string().min(1).max(254),
    {
      cel: {
        rule: "self.contains('{{tenantId}}')",
        message: "emailTemplate must contain {{tenantId}} so every tenant account gets its own email",
      },
      check: (v) => v.includes("{{tenantId}}"),
    },
    matching(/^[^@ ]+@[^@ ]+\.[^@ ]+$/, "emailTemplate must be an email address such as aws+{{tenantId}}@example.com"),
  ).describe("Root email of the new account; {{tenantId}} is replaced by the tenant id, e.g. aws+{{tenantId}}@example.com."),
  roleName: withRules(
    z.string().min(1).max(64),
    matching(/^[A-Za-z0-9+=,.@_-]+$/, "must be an IAM role name such as OrganizationAccountAccessRole"),
  )
    .default("OrganizationAccountAccessRole")
    .describe("IAM role the operator assumes in the new account, e.g. OrganizationAccountAccessRole."),
  monthlyBudgetUSD: z
    .int()
    .min(1)
    .max(1_000_000_000)
    .optional()
    .describe(
      "Monthly AWS Budgets cost limit in USD for the tenant's spend (filtered on its landlord.dev/tenant tag), e.g. 5000; absent means 1000. Alerts at 80% actual and 100% forecast spend.",
    ),
});

export const tierRule = withRules(
  z.strictObject({
    tier: tier.describe("Tier these settings apply to: namespace, database or account (pooled is the base tier)."),
    promoteWhen: when
      .optional()
      .describe("When a tenant below this tier should move up to it, e.g. {any: [{signal: monthlyRevenueUSD, gte: 20000}]}."),
    demoteWhen: when
      .optional()
      .describe("When a tenant in this tier should move down, e.g. {all: [{signal: monthlyRevenueUSD, lt: 14000}]}."),
    quota: quota.optional().describe("Default quota of tenants in this tier, e.g. {cpu: \"4\", memory: 8Gi, storage: 50Gi, pods: 50}."),
    database: databaseSettings
      .optional()
      .describe("Dedicated RDS instance settings; required for the database tier, optional for account."),
    account: accountSettings.optional().describe("Dedicated AWS account settings; required for the account tier."),
  }),
  {
    cel: {
      rule: "self.tier != 'pooled'",
      message: "pooled is the base tier and takes no rules: list only namespace, database and account",
      fieldPath: ".tier",
    },
    check: (t) => t.tier !== "pooled",
  },
  {
    cel: {
      rule: "self.tier != 'database' || has(self.database)",
      message: "the database tier needs database settings (engine, instanceClass, allocatedStorageGB)",
      fieldPath: ".database",
      reason: "FieldValueRequired",
    },
    check: (t) => t.tier !== "database" || t.database !== undefined,
  },
  {
    cel: {
      rule: "self.tier != 'account' || has(self.account)",
      message: "the account tier needs account settings (organizationalUnitId, emailTemplate)",
      fieldPath: ".account",
      reason: "FieldValueRequired",
    },
    check: (t) => t.tier !== "account" || t.account !== undefined,
  },
  {
    cel: {
      rule: "!has(self.database) || self.tier in ['database', 'account']",
      message: "database settings apply only to the database and account tiers",
      fieldPath: ".database",
      reason: "FieldValueForbidden",
    },
    check: (t) => t.database === undefined || t.tier === "database" || t.tier === "account",
  },
  {
    cel: {
      rule: "!has(self.account) || self.tier == 'account'",
      message: "account settings apply only to the account tier",
      fieldPath: ".account",
      reason: "FieldValueForbidden",
    },
    check: (t) => t.account === undefined || t.tier === "account",
  },
);
export type TierRule = z.output<typeof tierRule>;

/** Every condition of a rule, whichever quantifier it uses. */
export function conditionsOf(w: When | undefined): PolicyCondition[] {
  return [...(w?.any ?? []), ...(w?.all ?? [])];
}

// any and all have distinct CEL list types, so they cannot be concatenated: check each.
const celSignalsDeclared = (w: string) =>
  ["any", "all"]
    .map((q) => `(!has(${w}) || !has(${w}.${q}) || ${w}.${q}.all(c, self.signals.exists(s, s.name == c.signal)))`)
    .join(" && ");

export const APPROVAL_MODES = ["Automatic", "Manual"] as const;

export const placementPolicySpec = withRules(
  z.strictObject({
    signals: listMap(z.array(signal).min(1).max(32), "name").describe(
      "Named signals the tier conditions compare, and where each value comes from. Names are unique.",
    ),
    // At most 3: pooled is not listed, so namespace, database and account once each.
    tiers: listMap(z.array(tierRule).min(1).max(3), "tier").describe(
      "Rules and settings for each tier above pooled, at most one entry per tier. Tiers are ordered pooled < namespace < database < account.",
    ),
    stabilization: z
      .strictObject({
        promoteAfter: duration
          .default("24h")
          .describe("How long a promotion condition must hold continuously before the tenant moves, e.g. 24h."),
        demoteAfter: duration
          .default("720h")
          .describe("How long a demotion condition must hold continuously before the tenant moves down, e.g. 720h (30 days)."),
        cooldown: duration.default("168h").describe("Minimum time between two moves of the same tenant, e.g. 168h (7 days)."),
      })
      .prefault({})
      .describe("Hysteresis: how long thresholds must hold, and how often a tenant may move."),
    approval: z
      .strictObject({
        promotion: z
          .enum(APPROVAL_MODES)
          .default("Automatic")
          .describe("Automatic: promote when the policy says so. Manual: wait for the landlord.dev/approve-tier annotation."),
        demotion: z
          .enum(APPROVAL_MODES)
          .default("Manual")
          .describe("Automatic or Manual (the default): demote only after the landlord.dev/approve-tier annotation names the tier."),
      })
      .prefault({})
      .describe("Which moves need a person's approval (annotation landlord.dev/approve-tier: <tier> on the TenantPlacement)."),
    rateLimit: z
      .strictObject({
        maxConcurrentMoves: z.int().min(1).max(1000).default(2).describe("Most moves in progress at once across all tenants, e.g. 2."),
        maxMovesPerHour: z.int().min(1).max(10000).default(10).describe("Most moves started per hour across all tenants, e.g. 10."),
      })
      .prefault({})
      .describe("Limits on how many tenants move, so a bad signal cannot move everyone at once."),
    migration: z
      .strictObject({
        jobTemplate: z
          .record(z.string(), z.unknown())
          .meta({ "x-kubernetes-preserve-unknown-fields": true })
          .describe(
            "A batch/v1 JobTemplateSpec ({metadata, spec}) run after the target tier is provisioned and before cut-over; {{tenantId}}, {{from}} and {{to}} are substituted. The operator refuses a template that sets serviceAccountName, host namespaces or paths, privileged or escalating containers, added capabilities, or reads Kubernetes Secrets.",
          ),
        serviceAccountName: withRules(
          z.string().min(1).max(253),
          matching(DNS_SUBDOMAIN, "serviceAccountName must be a ServiceAccount name such as migrator (lowercase letters, digits, '-' and '.')"),
        )
          .optional()
          .describe(
            "ServiceAccount (in the tenant namespace) the migration Job runs as, e.g. migrator for IRSA. Unset: the namespace's default ServiceAccount without a mounted token.",
          ),
      })
      .optional()
      .describe("Optional data migration Job between provisioning and cut-over; absent means no migration step."),
    podSecurity: podSecurityLevel
      .default("restricted")
      .describe("Pod Security Admission level enforced in the namespaces of tenants following this policy: restricted (default) or baseline."),
    maxSignalAge: duration
      .default("48h")
      .describe("A reported or Prometheus value older than this is stale and never moves a tenant, e.g. 48h."),
    evaluationInterval: duration.default("5m").describe("How often every tenant is re-evaluated against this policy, e.g. 5m."),
  }),
  {
    cel: {
      rule: `self.tiers.all(t, ${celSignalsDeclared("t.promoteWhen")} && ${celSignalsDeclared("t.demoteWhen")})`,
      message: "every condition's signal must be declared in spec.signals",
      fieldPath: ".tiers",
    },
    check: (spec) => {
      const declared = new Set(spec.signals.map((s) => s.name));
      return spec.tiers.every((t) =>
        [...conditionsOf(t.promoteWhen), ...conditionsOf(t.demoteWhen)].every((c) => declared.has(c.signal)),
      );
    },
  },
);
export type PlacementPolicySpec = z.output<typeof placementPolicySpec>;

export const placementPolicyStatus = z.strictObject({
  observedGeneration,
  tenants: z
    .int()
    .min(0)
    .optional()
    .describe("TenantPlacements whose spec.policyRef names this policy (default: the policy named default), e.g. 143."),
  conditions: conditions
    .optional()
    .describe(
      "Ready (True: the spec is valid and decides for the tenants that follow it; False, reason InvalidSpec: it is not acted on) and Degraded (True while the spec is invalid or tenants following it have signals the policy cannot read: reason SignalsUnavailable, e.g. a failing Prometheus query, or SignalsStale).",
    ),
});
export type PlacementPolicyStatus = z.output<typeof placementPolicyStatus>;

export const placementPolicy = resource({
  kind: "PlacementPolicy",
  description:
    "PlacementPolicy decides which tier each tenant belongs in: signals, per-tier thresholds, hysteresis, approvals and rate limits.",
  spec: placementPolicySpec.describe("The policy."),
  status: placementPolicyStatus.describe("Observed state, written by the operator."),
});
export type PlacementPolicy = z.output<typeof placementPolicy>;
export type PlacementPolicyInput = z.input<typeof placementPolicy>;

export const placementPolicyCrd: CrdDescriptor = {
  kind: "PlacementPolicy",
  listKind: "PlacementPolicyList",
  plural: "placementpolicies",
  singular: "placementpolicy",
  shortNames: ["ppol"],
  categories: CATEGORIES,
  scope: "Cluster",
  schema: placementPolicy,
  printerColumns: [
    { name: "Tenants", type: "integer", jsonPath: ".status.tenants", description: "Tenants following the policy." },
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "Whether the policy is valid and in use.",
    },
    { name: "Interval", type: "string", jsonPath: ".spec.evaluationInterval", description: "Evaluation interval." },
    {
      name: "Promote-After",
      type: "string",
      jsonPath: ".spec.stabilization.promoteAfter",
      description: "How long a promotion condition must hold.",
    },
    { name: "Cooldown", type: "string", jsonPath: ".spec.stabilization.cooldown", description: "Minimum time between moves." },
    {
      name: "Demotion",
      type: "string",
      jsonPath: ".spec.approval.demotion",
      description: "Whether demotions are Automatic or Manual.",
    },
    AGE_COLUMN,
  ],
};
