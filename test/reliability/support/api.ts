import { ApiError, createKubeClient, type KubeClient, type KubeList, type KubeObject } from "../../../operator/src/kube/client.ts";
import { loadClusterAccess } from "../../../operator/src/kube/kubeconfig.ts";
import { collectionPath, createResources, type Kind, type Resources } from "../../../operator/src/kube/resources.ts";
import { sleep, until } from "../../poll.ts";

export { sleep, until };

/**
 * The tests' own door to the API server: the operator's small JSON client with the admin's
 * kubeconfig. A kubectl process per read costs ~100 ms; the invariant checker reads the whole
 * cluster several times a second, which only a kept-alive HTTPS connection affords.
 */
export interface Api {
  client: KubeClient;
  resources: Resources;
  /** Server-side apply as the field manager `reliability`, like `kubectl apply --server-side`. */
  apply(object: KubeObject | Record<string, unknown>): Promise<KubeObject>;
  /** A JSON merge patch of the object (what `kubectl patch --type=merge` sends). */
  merge(kind: Kind, name: string, patch: Record<string, unknown>, options?: { namespace?: string; fieldManager?: string }): Promise<KubeObject>;
  list<T extends KubeObject = KubeObject>(kind: Kind, options?: { labelSelector?: string; namespace?: string }): Promise<T[]>;
}

export function connect(kubeconfig: string): Api {
  const client = createKubeClient(loadClusterAccess(kubeconfig));
  const resources = createResources(client);
  return {
    client,
    resources,
    apply: (object) => resources.apply(object as KubeObject, { fieldManager: "reliability" }),
    merge: (kind, name, patch, options = {}) =>
      client.request<KubeObject>({
        method: "PATCH",
        path: `${collectionPath(kind, options.namespace)}/${encodeURIComponent(name)}`,
        query: { fieldManager: options.fieldManager ?? "reliability" },
        body: patch,
        contentType: "application/merge-patch+json",
      }),
    list: async <T extends KubeObject>(kind: Kind, options: { labelSelector?: string; namespace?: string } = {}) => (await resources.list<T>(kind, options)).items,
  };
}

/**
 * The annotations a platform admin gives with a change of spec.tier: the chart's admission policy
 * (charts/landlord/templates/admission-policies.yaml) refuses one without a reason, or with the
 * reason of the previous change, so each call gives a reason of its own.
 */
let tierChanges = 0;
export const tierReason = (why: string): Record<string, string> => ({ "landlord.dev/tier-reason": `${why} (reliability change ${++tierChanges})` });

/** A status condition as Landlord writes it. */
export interface ConditionJson {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface TenantJson extends KubeObject {
  spec: { tenantId: string; pool?: string; tier?: { mode?: string; pinned?: string }; [key: string]: unknown };
  status?: {
    observedGeneration?: number;
    phase?: string;
    tier?: string;
    targetTier?: string;
    pool?: string;
    namespace?: string;
    lastDecision?: string;
    stacks?: Array<{ kind: string; name: string; state: string; failures?: number; retryAt?: string; lastError?: string; endpoint?: string; planned?: boolean }>;
    conditions?: ConditionJson[];
    [key: string]: unknown;
  };
}

export interface DecisionJson extends KubeObject {
  spec: { tenant: string; from?: string; to: string; trigger: string; requestedAt: string };
  status?: { outcome?: string; steps?: Array<{ name: string }>; error?: string };
}

/** Everything the invariants are judged on, read at one etcd revision. */
export interface Snapshot {
  resourceVersion: string;
  takenAt: number;
  tenants: TenantJson[];
  /** Namespaces, ConfigMaps and ResourceQuotas Landlord labelled as its own. */
  namespaces: KubeObject[];
  configMaps: KubeObject[];
  quotas: KubeObject[];
  decisions: DecisionJson[];
}

const MANAGED = "landlord.dev/managed-by=landlord";

/**
 * Reads tenants, decisions and Landlord's namespaces, ConfigMaps and quotas as of one etcd
 * revision: the first list fixes the revision and the others are read with
 * resourceVersionMatch=Exact. Lists read one after another would otherwise see a tenant's status
 * from one moment and its namespaces from another, and report a move in flight as a violation.
 * (Every kind lives in the same etcd, so one revision is one instant of the whole cluster.)
 */
export async function takeSnapshot(api: Api): Promise<Snapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      const takenAt = Date.now();
      const first = await api.resources.list<TenantJson>("TenantPlacement");
      const resourceVersion = first.metadata.resourceVersion ?? "";
      const at = async <T extends KubeObject>(kind: Kind, labelSelector?: string): Promise<T[]> =>
        (
          await api.client.request<KubeList<T>>({
            method: "GET",
            path: collectionPath(kind),
            query: { labelSelector, resourceVersion, resourceVersionMatch: "Exact" },
          })
        ).items;
      const [namespaces, configMaps, quotas, decisions] = await Promise.all([
        at("Namespace", MANAGED),
        at("ConfigMap", MANAGED),
        at("ResourceQuota", MANAGED),
        at<DecisionJson>("PlacementDecision"),
      ]);
      return { resourceVersion, takenAt, tenants: first.items, namespaces, configMaps, quotas, decisions };
    } catch (error) {
      // A revision compacted between the two reads (410), or the API server restarting: read again.
      if (attempt >= 20) throw error;
      await sleep(error instanceof ApiError ? 50 : 500);
    }
  }
}
