import type { KubeObject } from "../kube/client.ts";
import type { PodSecurityLevel, Quota, Tier } from "../api/v1alpha1/index.ts";
import { LABELS, OWNER_UID_ANNOTATION } from "../api/labels.ts";
import { podSecurityLabels, poolLabels, tenantLabels } from "./labels.ts";
import { tenantNamespace } from "../api/names.ts";
import type { EgressAllowance } from "../config.ts";
import { EGRESS_POLICY_NAME, egressPolicy } from "./egress.ts";
import { formatQuantity, mergeQuota, parseQuantity } from "../placement/quantity.ts";

/** Names of the objects Landlord keeps inside every namespace it manages. */
export const CHILD_NAMES = {
  quota: "landlord-quota",
  limits: "landlord-defaults",
  networkPolicy: "landlord-default-deny",
  adminBinding: "landlord-tenant-admins",
  registry: "landlord-tenants",
  connection: "landlord-connection",
} as const;

/** Every NetworkPolicy name Landlord writes. */
export const CHILD_NETWORK_POLICIES: readonly string[] = [CHILD_NAMES.networkPolicy, EGRESS_POLICY_NAME];

/** Quota of a namespace tier when neither the tenant nor its policy sets one. */
export const DEFAULT_NAMESPACE_QUOTA: Required<Quota> = { cpu: "4", memory: "8Gi", storage: "50Gi", pods: 50 };

export interface TenantIdentity {
  tenantId: string;
  costCenter: string;
  tags?: Record<string, string>;
}

/**
 * Just the identity: callers pass a whole TenantPlacementSpec, whose `pool` would otherwise become
 * a landlord.dev/pool label on a dedicated tenant's objects (the key is for pooled tenants only, and
 * no AWS tag of the same tenant carries it).
 */
function identityOf(tenant: TenantIdentity): TenantIdentity {
  return { tenantId: tenant.tenantId, costCenter: tenant.costCenter, ...(tenant.tags ? { tags: tenant.tags } : {}) };
}

export interface Admin {
  kind: "User" | "Group" | "ServiceAccount";
  name: string;
  namespace?: string;
}

function quotaHard(quota: Quota): Record<string, string> {
  const hard: Record<string, string> = {};
  if (quota.cpu !== undefined) hard["requests.cpu"] = String(quota.cpu);
  if (quota.memory !== undefined) hard["requests.memory"] = String(quota.memory);
  if (quota.storage !== undefined) hard["requests.storage"] = String(quota.storage);
  // A ResourceQuota count must be a whole number; a quantity such as "1500m" (which the
  // TenantPlacement schema accepts) would have the API server refuse the quota: rounded up instead.
  if (quota.pods !== undefined) hard.pods = formatQuantity(parseQuantity(quota.pods), "count");
  return hard;
}

/** The owner annotation, when the owner's UID is known (always, except in some unit tests' stores). */
export function ownerAnnotations(owner: string | undefined): { annotations?: Record<string, string> } {
  return owner ? { annotations: { [OWNER_UID_ANNOTATION]: owner } } : {};
}

function namespaced(kind: string, apiVersion: string, name: string, namespace: string, labels: Record<string, string>, body: Record<string, unknown>, owner?: string): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace, labels, ...ownerAnnotations(owner) }, ...body };
}

/**
 * Pods that do not say what they request still count against the quota: the LimitRange gives them
 * modest defaults instead of having the quota reject them outright.
 */
function limitRange(namespace: string, labels: Record<string, string>, owner: string | undefined): KubeObject {
  return namespaced("LimitRange", "v1", CHILD_NAMES.limits, namespace, labels, {
    spec: {
      limits: [{ type: "Container", defaultRequest: { cpu: "100m", memory: "128Mi" }, default: { cpu: "1", memory: "512Mi" } }],
    },
  }, owner);
}

/** Default deny for ingress, except from the namespace itself and from namespaces labelled as ingress. */
function defaultDeny(namespace: string, labels: Record<string, string>, owner: string | undefined): KubeObject {
  return namespaced("NetworkPolicy", "networking.k8s.io/v1", CHILD_NAMES.networkPolicy, namespace, labels, {
    spec: {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { [LABELS.ingress]: "true" } } }] }],
    },
  }, owner);
}

/** Everything the namespace tier owns, in creation order (the Namespace first). */
export function namespaceTierObjects(options: {
  tenant: TenantIdentity;
  quota: Quota;
  admins?: Admin[];
  tier?: Tier;
  owner?: string;
  podSecurity?: PodSecurityLevel;
  /** Where pods may connect besides their namespace and DNS (the operator's configuration). */
  egress?: readonly EgressAllowance[];
}): KubeObject[] {
  const { tenant, owner } = options;
  const namespace = tenantNamespace(tenant.tenantId);
  // The dedicated tiers (database, account) keep the namespace; its tier label says which one serves.
  const labels = tenantLabels({ ...identityOf(tenant), tier: options.tier ?? "namespace" });
  const objects: KubeObject[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { ...labels, ...podSecurityLabels(options.podSecurity ?? "restricted") }, ...ownerAnnotations(owner) } },
    namespaced("ResourceQuota", "v1", CHILD_NAMES.quota, namespace, labels, { spec: { hard: quotaHard(options.quota) } }, owner),
    limitRange(namespace, labels, owner),
    defaultDeny(namespace, labels, owner),
    egressPolicy(namespace, labels, options.egress ?? [], ownerAnnotations(owner).annotations),
  ];
  if (options.admins && options.admins.length > 0) {
    objects.push(
      namespaced("RoleBinding", "rbac.authorization.k8s.io/v1", CHILD_NAMES.adminBinding, namespace, labels, {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
        subjects: options.admins.map((admin) =>
          admin.kind === "ServiceAccount"
            ? { kind: "ServiceAccount", name: admin.name, namespace: admin.namespace ?? namespace }
            : { kind: admin.kind, name: admin.name, apiGroup: "rbac.authorization.k8s.io" },
        ),
      }, owner),
    );
  }
  return objects;
}

/**
 * Where the application finds the tenant's dedicated database: endpoint, port and the ARN of the
 * RDS-managed master secret. Never the password, which only Secrets Manager holds.
 */
export function connectionConfigMap(options: { tenant: TenantIdentity; tier: Tier; endpoint: string; port: number; masterSecretArn: string; planned: boolean; owner?: string }): KubeObject {
  const namespace = tenantNamespace(options.tenant.tenantId);
  return namespaced("ConfigMap", "v1", CHILD_NAMES.connection, namespace, tenantLabels({ ...identityOf(options.tenant), tier: options.tier }), {
    data: {
      tier: options.tier,
      endpoint: options.endpoint,
      port: String(options.port),
      masterSecretArn: options.masterSecretArn,
      // A plan records what would exist: an application must not try to connect to it.
      ...(options.planned ? { planned: "true" } : {}),
    },
  }, options.owner);
}

/** One member's entry in a shard's landlord-tenants ConfigMap, read by the application or gateway. */
export interface RegistryEntry {
  tenantId: string;
  costCenter: string;
  quota: Quota;
  tier: "pooled";
}

/**
 * The registry entry of a pooled tenant. Key order is fixed so the JSON text is a stable
 * fingerprint: the tenant reconciler compares it to decide whether the pool must rewrite it.
 */
export function registryEntry(tenant: TenantIdentity & { quota?: Quota }, defaults: Quota): RegistryEntry {
  const merged = mergeQuota(tenant.quota ?? {}, defaults);
  const quota: Quota = {};
  for (const key of ["cpu", "memory", "storage", "pods"] as const) if (merged[key] !== undefined) quota[key] = merged[key];
  return { tenantId: tenant.tenantId, costCenter: tenant.costCenter, quota, tier: "pooled" };
}

/** Everything a pool shard owns: namespace, summed quota, defaults, default deny and the registry. */
export function shardObjects(options: {
  pool: string;
  index: number;
  namespace: string;
  quota: Quota;
  members: RegistryEntry[];
  nodeSelector?: Record<string, string>;
  /** The TenantPool's UID. */
  owner?: string;
  podSecurity?: PodSecurityLevel;
  egress?: readonly EgressAllowance[];
}): KubeObject[] {
  const { owner } = options;
  const labels = poolLabels(options.pool, options.index);
  const annotations = options.nodeSelector && Object.keys(options.nodeSelector).length > 0
    ? {
        // Read by the PodNodeSelector admission plugin where the cluster enables it.
        "scheduler.alpha.kubernetes.io/node-selector": Object.entries(options.nodeSelector)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      }
    : undefined;
  const data = Object.fromEntries(
    [...options.members].sort((a, b) => a.tenantId.localeCompare(b.tenantId)).map((entry) => [entry.tenantId, JSON.stringify(entry)]),
  );
  const namespaceAnnotations = { ...(annotations ?? {}), ...(ownerAnnotations(owner).annotations ?? {}) };
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: options.namespace,
        labels: { ...labels, ...podSecurityLabels(options.podSecurity ?? "restricted") },
        ...(Object.keys(namespaceAnnotations).length > 0 ? { annotations: namespaceAnnotations } : {}),
      },
    },
    namespaced("ResourceQuota", "v1", CHILD_NAMES.quota, options.namespace, labels, { spec: { hard: quotaHard(options.quota) } }, owner),
    limitRange(options.namespace, labels, owner),
    defaultDeny(options.namespace, labels, owner),
    egressPolicy(options.namespace, labels, options.egress ?? [], ownerAnnotations(owner).annotations),
    namespaced("ConfigMap", "v1", CHILD_NAMES.registry, options.namespace, labels, { data }, owner),
  ];
}

/**
 * Parses a shard's registry ConfigMap. An entry that is not valid JSON (a hand edit) is skipped:
 * the pool then rewrites it from the tenant's status, like any other lost entry.
 */
export function readRegistry(configMap: KubeObject | undefined): RegistryEntry[] {
  const data = (configMap?.data ?? {}) as Record<string, string>;
  const entries: RegistryEntry[] = [];
  for (const [key, value] of Object.entries(data)) {
    try {
      entries.push({ ...(JSON.parse(value) as RegistryEntry), tenantId: key });
    } catch {
      // Skipped; see above.
    }
  }
  return entries;
}
