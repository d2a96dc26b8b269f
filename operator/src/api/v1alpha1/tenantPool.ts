import { z } from "zod";
import { conditions, DNS_LABEL, labelMap, observedGeneration, podSecurityLevel, quantity, quotaFields, signalName } from "./common.ts";
import { AGE_COLUMN, CATEGORIES, resource, type CrdDescriptor } from "./resource.ts";
import { listMap, matching, withRules } from "./rules.ts";

/** Shards are `<prefix>-<n>`; 50 leaves room for "-" and a shard number within the 63 of a label. */
export const MAX_NAMESPACE_PREFIX = 50;

export const tenantPoolSpec = z.strictObject({
  namespacePrefix: withRules(
    z.string().min(1).max(MAX_NAMESPACE_PREFIX),
    matching(
      DNS_LABEL,
      `namespacePrefix must be a DNS label prefix: lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${MAX_NAMESPACE_PREFIX} characters so that the shard suffix -<n> fits (e.g. pool-standard)`,
    ),
    {
      // A shard <prefix>-<n> must never be some tenant's tenant-<id> nor a system namespace.
      cel: {
        rule: "self != 'tenant' && !self.startsWith('tenant-') && self != 'kube' && !self.startsWith('kube-')",
        message: "namespacePrefix must not be tenant or start with tenant- (reserved for dedicated tenant namespaces), nor be kube or start with kube- (e.g. pool-standard)",
      },
      check: (v) => v !== "tenant" && !v.startsWith("tenant-") && v !== "kube" && !v.startsWith("kube-"),
    },
  ).describe(
    `Prefix of the shard namespaces, created on demand as <prefix>-1, <prefix>-2, ...; e.g. pool-standard. At most ${MAX_NAMESPACE_PREFIX} characters.`,
  ),
  capacity: z
    .strictObject({
      maxTenants: z.int().min(1).max(10000).describe("Most tenants one shard holds, e.g. 200."),
      cpu: quantity.describe("CPU one shard may request in total, in cores, e.g. \"64\"; caps the shard ResourceQuota."),
      memory: quantity.describe("Memory one shard may request in total, e.g. 256Gi; caps the shard ResourceQuota."),
    })
    .describe("Capacity of each shard; a new shard is created when no shard has room for a tenant's quota."),
  tenantDefaults: z
    .strictObject({
      cpu: quotaFields.cpu.default("250m"),
      memory: quotaFields.memory.default("512Mi"),
      storage: quotaFields.storage.default("5Gi"),
      pods: quotaFields.pods.default(5),
    })
    .prefault({})
    .describe(
      "Quota of each pooled tenant unless its TenantPlacement overrides it; enforced by the shard ResourceQuota (summed) and listed per tenant in the landlord-tenants ConfigMap.",
    ),
  podSecurity: podSecurityLevel
    .default("restricted")
    .describe("Pod Security Admission level enforced in the shard namespaces: restricted (default) or baseline."),
  costAllocation: z
    .strictObject({
      compute: signalName.optional().describe("Signal that splits the pool's compute cost (EC2, EKS, Fargate, Lambda), e.g. cpuSeconds."),
      storage: signalName.optional().describe("Signal that splits the pool's storage cost (S3, EBS, EFS), e.g. storageGB."),
      database: signalName.optional().describe("Signal that splits the pool's database cost (RDS, DynamoDB, ElastiCache), e.g. dbQueries."),
      network: signalName.optional().describe("Signal that splits the pool's network cost (data transfer, NAT, load balancers), e.g. egressGB."),
      other: signalName.optional().describe("Signal that splits the pool's cost of any other service."),
      default: signalName
        .optional()
        .describe("Signal for every category not named here, and the fallback when a member lacks a category's signal; default requestsPerDay."),
    })
    .optional()
    .describe(
      "How landlord costs splits the pool's cost among its pooled tenants, per cost category: the signal (from each tenant's status.signals) whose share decides each tenant's share. A category whose signal a member lacks falls back to default, then to equal shares, and the report says so.",
    ),
  nodeSelector: labelMap
    .optional()
    .describe("Node labels the shard namespaces' workloads are scheduled onto, e.g. {node.kubernetes.io/instance-type: m7g.xlarge}."),
});
export type TenantPoolSpec = z.output<typeof tenantPoolSpec>;

export const shard = z.strictObject({
  namespace: z.string().min(1).max(63).describe("Shard namespace, e.g. pool-standard-1."),
  tenants: z.int().min(0).describe("Number of tenants placed in this shard, e.g. 143."),
  allocated: z
    .strictObject({
      cpu: quantity.optional().describe("Sum of the members' CPU quotas, e.g. 35750m."),
      memory: quantity.optional().describe("Sum of the members' memory quotas, e.g. 71Gi."),
    })
    .optional()
    .describe("Quota allocated to the shard's members, compared against spec.capacity."),
});

/**
 * Most unseatable tenants a pool's status lists, oldest first, and the longest reason kept: a pool
 * with 10,000 tenants too big for its shards must still fit etcd's 1.5 MiB object limit (200 at
 * most ~60 KB), and unseatableTotal says how many there are in all.
 */
export const MAX_LISTED_UNSEATABLE = 200;
export const MAX_UNSEATABLE_REASON = 256;

export const unseatableTenant = z.strictObject({
  tenantId: z.string().min(1).max(63).describe("The tenant that fits no shard, e.g. acme."),
  reason: z
    .string()
    .max(MAX_UNSEATABLE_REASON)
    .describe("Why no shard can seat it, e.g. its quota asks for more CPU than spec.capacity.cpu allows a whole shard."),
});

export const tenantPoolStatus = z.strictObject({
  observedGeneration,
  tenants: z.int().min(0).optional().describe("Tenants served by the pool across all shards, e.g. 143."),
  shards: listMap(z.array(shard).max(1000), "namespace")
    .optional()
    .describe("One entry per shard namespace, with its occupancy."),
  unseatable: listMap(z.array(unseatableTenant).max(MAX_LISTED_UNSEATABLE), "tenantId")
    .optional()
    .describe(
      `Tenants assigned to the pool that no shard can seat, oldest first, with why; at most ${MAX_LISTED_UNSEATABLE} (unseatableTotal counts them all). Absent when every tenant is seated. Each such tenant also says why in its own Degraded condition (reason Unplaceable).`,
    ),
  unseatableTotal: z.int().min(0).optional().describe("How many tenants no shard can seat, listed or not, e.g. 3. Absent when there are none."),
  conditions: conditions.optional().describe("Ready and other conditions, following Kubernetes conventions."),
});
export type TenantPoolStatus = z.output<typeof tenantPoolStatus>;

export const tenantPool = resource({
  kind: "TenantPool",
  description:
    "TenantPool is a set of shared namespaces (shards) that serve pooled tenants, with per-shard capacity and per-tenant default quota.",
  spec: tenantPoolSpec.describe("Desired shape of the pool."),
  status: tenantPoolStatus.describe("Observed occupancy, written by the operator."),
});
export type TenantPool = z.output<typeof tenantPool>;
export type TenantPoolInput = z.input<typeof tenantPool>;

export const tenantPoolCrd: CrdDescriptor = {
  kind: "TenantPool",
  listKind: "TenantPoolList",
  plural: "tenantpools",
  singular: "tenantpool",
  shortNames: ["tpool"],
  categories: CATEGORIES,
  scope: "Cluster",
  schema: tenantPool,
  printerColumns: [
    { name: "Prefix", type: "string", jsonPath: ".spec.namespacePrefix", description: "Shard namespace prefix." },
    { name: "Tenants", type: "integer", jsonPath: ".status.tenants", description: "Tenants served by the pool." },
    {
      name: "Per-Shard",
      type: "integer",
      jsonPath: ".spec.capacity.maxTenants",
      description: "Most tenants one shard holds.",
    },
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "Whether the pool's shards are in place.",
    },
    AGE_COLUMN,
  ],
};
