import { z } from "zod";
import { keyMatching, listMap, matching, maxEntries, withKeyRules, withRules, type KeyRule } from "./rules.ts";

export const GROUP = "landlord.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Tiers from cheapest to most isolated; the order is the promotion order. */
export const TIERS = ["pooled", "namespace", "database", "account"] as const;
export type Tier = (typeof TIERS)[number];
export const TIER_RANK: Readonly<Record<Tier, number>> = Object.fromEntries(TIERS.map((t, i) => [t, i])) as Record<
  Tier,
  number
>;

/** CEL has no indexOf on list literals; a map literal gives each tier its rank. */
export function celTierRank(expr: string): string {
  return `{${TIERS.map((t, i) => `'${t}': ${i}`).join(", ")}}[${expr}]`;
}

export const tier = z.enum(TIERS);

/** Pod Security Admission levels Landlord may set on its namespaces; never privileged. */
export const POD_SECURITY_LEVELS = ["restricted", "baseline"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];
export const podSecurityLevel = z.enum(POD_SECURITY_LEVELS);

// Regexes shared by zod and CEL (RE2): no lookaround, no backreferences.
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** A label key: optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
export const SIGNAL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Non-negative Kubernetes quantity (resource.ParseQuantity grammar without the minus sign). */
export const QUANTITY = /^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** DNS-1123 label: namespace names, tenant ids. */
export const dnsLabel = withRules(
  z.string().min(1).max(63),
  matching(
    DNS_LABEL,
    "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (e.g. acme-corp)",
  ),
);

/**
 * Tenant ids become names verbatim, never shortened or hashed, so two ids can never share a name:
 * `tenant-<id>` (a namespace, 63 characters) and `landlord-<id>` (an RDS identifier: 63, letters,
 * digits and single hyphens). Hence at most 54 characters and no "--".
 */
export const TENANT_ID_MAX = 54;

export const tenantIdName = withRules(
  z.string().min(1).max(TENANT_ID_MAX),
  matching(
    DNS_LABEL,
    `must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${TENANT_ID_MAX} characters (e.g. acme-corp)`,
  ),
  {
    cel: { rule: "!self.contains('--')", message: "must not contain '--' (RDS identifiers cannot, and Landlord never rewrites a tenant id)" },
    check: (v) => !v.includes("--"),
  },
);

/** Name of another cluster-scoped Landlord object (DNS-1123 subdomain). */
export const objectName = withRules(
  z.string().min(1).max(253),
  matching(
    DNS_SUBDOMAIN,
    "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. standard)",
  ),
);

export const labelValue = withRules(
  z.string().max(63),
  matching(
    LABEL_VALUE,
    "must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. cc-1234)",
  ),
);

/** Go-style duration as used by the operator's clocks. */
export const duration = withRules(
  z.string().min(1).max(32),
  matching(DURATION, "must be a duration such as 30s, 5m, 24h or 720h (units ms, s, m, h)"),
);

export const signalName = withRules(
  z.string().min(1).max(63),
  matching(
    SIGNAL_NAME,
    "must be a signal name: a letter followed by letters, digits or '_', at most 63 characters (e.g. monthlyRevenueUSD)",
  ),
);

/** RFC 3339 timestamp as written by the API server and the operator. */
export const timestamp = z.iso.datetime({ offset: true });

const QUANTITY_MESSAGE = "must be a non-negative Kubernetes quantity such as 500m, 2 or 4Gi";

/** CPU, memory, storage or a count: an integer or a quantity string, as in ResourceQuota. */
export const quantity = withRules(
  z
    .union([z.int().min(0), z.string().max(64).regex(QUANTITY, QUANTITY_MESSAGE)])
    .meta({ "x-kubernetes-int-or-string": true }),
  {
    cel: {
      // sign() is registered as a global function in Kubernetes, not the member its docs show; isLessThan is a member.
      rule: "type(self) == int ? self >= 0 : (isQuantity(self) && !quantity(self).isLessThan(quantity('0')))",
      message: QUANTITY_MESSAGE,
    },
  },
);
export type Quantity = z.output<typeof quantity>;

const COUNT_MESSAGE = "must be a whole number such as 20";

/** A number of objects: an integer, or the same as a string of digits ("20"); never "1.5" or "500m". */
export const count = withRules(
  z.union([z.int().min(0), z.string().max(18).regex(/^[0-9]+$/, COUNT_MESSAGE)]).meta({ "x-kubernetes-int-or-string": true }),
  { cel: { rule: "type(self) == int ? self >= 0 : self.matches('^[0-9]+$')", message: COUNT_MESSAGE } },
);

export const quotaFields = {
  cpu: quantity.describe("CPU the tenant may request, in cores: 2, 500m (half a core)."),
  memory: quantity.describe("Memory the tenant may request, in bytes with a suffix: 512Mi, 4Gi."),
  storage: quantity.describe("Persistent volume storage the tenant may request, in bytes with a suffix: 20Gi."),
  // A fraction of a pod passed the quantity rule and was rounded up by the operator, unannounced.
  pods: count.describe("Maximum number of pods the tenant may run: 20."),
};

/** Per-tenant limits; every field optional so an override can set just one. */
export const quota = z.strictObject({
  cpu: quotaFields.cpu.optional(),
  memory: quotaFields.memory.optional(),
  storage: quotaFields.storage.optional(),
  pods: quotaFields.pods.optional(),
});
export type Quota = z.output<typeof quota>;

const MAX_USER_TAGS = 45; // AWS allows 50 per resource; Landlord sets 5 itself (landlord.dev/*).

/**
 * A tenant tag key: a label name without a prefix. Its label is `tags.landlord.dev/<key>`, so no
 * tag can ever become a label with a meaning of its own (pod-security.kubernetes.io/enforce, a
 * label another namespace's NetworkPolicy trusts); the AWS tag keeps the key as written.
 */
export const TAG_KEY = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const tagKeyRules: KeyRule[] = [
  keyMatching(
    TAG_KEY,
    "tag keys must be at most 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit, without a prefix or '/' (e.g. team): each becomes the label tags.landlord.dev/<key>",
  ),
];

const tagValue = withRules(
  z.string().max(63),
  matching(
    LABEL_VALUE,
    "tag values become both AWS tags and Kubernetes label values: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. growth)",
  ),
);

/** Cost tags: valid as AWS tags and as Kubernetes labels, since they become both. */
export const tags = maxEntries(
  withKeyRules(z.record(z.string(), tagValue.describe("Tag value, e.g. growth.")), ...tagKeyRules),
  MAX_USER_TAGS,
  `must have at most ${MAX_USER_TAGS} tags (AWS allows 50 per resource and Landlord sets 5 itself)`,
);

/** Kubernetes label selector map (nodeSelector and the like). */
export const labelMap = maxEntries(
  withKeyRules(
    z.record(z.string(), labelValue.describe("Label value, e.g. pool.")),
    keyMatching(
      LABEL_KEY,
      "keys must be Kubernetes label keys: an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.' (e.g. node.kubernetes.io/instance-type)",
    ),
    { cel: "size(k) <= 317", test: (k) => k.length <= 317, message: "keys must be at most 317 characters" },
  ),
  32,
);

/** Signal values by signal name, e.g. {monthlyRevenueUSD: 1200}. */
export function signalMap(maxSignals: number, valueDescription: string): z.ZodRecord<z.ZodString, z.ZodNumber> {
  return maxEntries(z.record(z.string(), z.number().describe(valueDescription)), maxSignals);
}

export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;

/** metav1.Condition, with the same bounds the built-in types use. */
export const condition = z.strictObject({
  // Status is written by the operator, so plain patterns (no CEL cost) are enough here.
  type: z
    .string()
    .min(1)
    .max(316)
    .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/)
    .describe("Condition type in CamelCase, e.g. Ready, Promoting, TagsCompliant or Degraded."),
  status: z.enum(CONDITION_STATUSES).describe("Whether the condition holds: True, False or Unknown."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe("Machine-readable CamelCase reason for the last transition, e.g. ThresholdHeld."),
  message: z.string().max(32768).describe("Human-readable details, e.g. monthlyRevenueUSD 21000 >= 20000 for 24h."),
  lastTransitionTime: timestamp.describe("When status last changed, RFC 3339, e.g. 2025-01-31T12:00:00Z."),
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .describe("metadata.generation the condition was computed from; older than the object's means stale."),
});
export type Condition = z.output<typeof condition>;

export const conditions = listMap(z.array(condition).max(32), "type");

export const observedGeneration = z
  .int()
  .min(0)
  .optional()
  .describe("metadata.generation the operator last acted on; compare with metadata.generation to see if it is behind.");
