import { ApiError, type KubeClient, type KubeList, type KubeObject } from "./client.ts";

/** The kinds Landlord reads or writes, with where the API server serves them. */
export const RESOURCES = {
  TenantPlacement: { apiVersion: "landlord.dev/v1alpha1", plural: "tenantplacements", namespaced: false },
  TenantPool: { apiVersion: "landlord.dev/v1alpha1", plural: "tenantpools", namespaced: false },
  PlacementPolicy: { apiVersion: "landlord.dev/v1alpha1", plural: "placementpolicies", namespaced: false },
  PlacementDecision: { apiVersion: "landlord.dev/v1alpha1", plural: "placementdecisions", namespaced: false },
  CostReport: { apiVersion: "landlord.dev/v1alpha1", plural: "costreports", namespaced: false },
  Namespace: { apiVersion: "v1", plural: "namespaces", namespaced: false },
  ResourceQuota: { apiVersion: "v1", plural: "resourcequotas", namespaced: true },
  LimitRange: { apiVersion: "v1", plural: "limitranges", namespaced: true },
  ConfigMap: { apiVersion: "v1", plural: "configmaps", namespaced: true },
  NetworkPolicy: { apiVersion: "networking.k8s.io/v1", plural: "networkpolicies", namespaced: true },
  RoleBinding: { apiVersion: "rbac.authorization.k8s.io/v1", plural: "rolebindings", namespaced: true },
  Event: { apiVersion: "v1", plural: "events", namespaced: true },
  Secret: { apiVersion: "v1", plural: "secrets", namespaced: true },
  Job: { apiVersion: "batch/v1", plural: "jobs", namespaced: true },
} as const;
export type Kind = keyof typeof RESOURCES;

function groupPath(apiVersion: string): string {
  return apiVersion === "v1" ? "/api/v1" : `/apis/${apiVersion}`;
}

/** Collection path, across all namespaces when `namespace` is undefined. */
export function collectionPath(kind: Kind, namespace?: string): string {
  const resource = RESOURCES[kind];
  const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${groupPath(resource.apiVersion)}${ns}/${resource.plural}`;
}

export function objectPath(kind: Kind, name: string, namespace?: string): string {
  if (RESOURCES[kind].namespaced && !namespace) throw new Error(`${kind} ${name} needs a namespace`);
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`;
}

export const FIELD_MANAGER = "landlord";
export const STATUS_FIELD_MANAGER = "landlord/status";
export const FINALIZER_FIELD_MANAGER = "landlord/finalizer";

/** Typed operations on top of the JSON client; every write is server-side apply unless noted. */
export interface Resources {
  get<T extends KubeObject>(kind: Kind, name: string, namespace?: string): Promise<T | undefined>;
  list<T extends KubeObject>(kind: Kind, options?: { labelSelector?: string; namespace?: string }): Promise<KubeList<T>>;
  /** Server-side apply of `object` (which must carry apiVersion, kind and metadata.name). */
  apply<T extends KubeObject>(object: KubeObject, options?: { fieldManager?: string; subresource?: "status" }): Promise<T>;
  create<T extends KubeObject>(object: KubeObject): Promise<T>;
  /** RFC 6902 JSON patch, for the rare edit that must be conditional (a `test` op first). */
  patchJson<T extends KubeObject>(kind: Kind, name: string, operations: unknown[], namespace?: string): Promise<T>;
  /** Deletes; a missing object is not an error. Returns the object as the server answered, if any. */
  delete(kind: Kind, name: string, namespace?: string, options?: { uid?: string }): Promise<KubeObject | undefined>;
}

export function createResources(client: KubeClient): Resources {
  return {
    async get<T extends KubeObject>(kind: Kind, name: string, namespace?: string) {
      try {
        return await client.request<T>({ method: "GET", path: objectPath(kind, name, namespace) });
      } catch (error) {
        if (error instanceof ApiError && error.notFound) return undefined;
        throw error;
      }
    },
    list<T extends KubeObject>(kind: Kind, options: { labelSelector?: string; namespace?: string } = {}) {
      return client.request<KubeList<T>>({
        method: "GET",
        path: collectionPath(kind, options.namespace),
        query: { labelSelector: options.labelSelector },
      });
    },
    apply<T extends KubeObject>(object: KubeObject, options: { fieldManager?: string; subresource?: "status" } = {}) {
      const kind = object.kind as Kind;
      const path = objectPath(kind, object.metadata.name, object.metadata.namespace);
      return client.request<T>({
        method: "PATCH",
        path: options.subresource ? `${path}/${options.subresource}` : path,
        // force: Landlord owns these fields; a human's conflicting edit is drift to repair.
        query: { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: true },
        body: object,
        contentType: "application/apply-patch+yaml",
      });
    },
    patchJson<T extends KubeObject>(kind: Kind, name: string, operations: unknown[], namespace?: string) {
      return client.request<T>({
        method: "PATCH",
        path: objectPath(kind, name, namespace),
        query: { fieldManager: FIELD_MANAGER },
        body: operations,
        contentType: "application/json-patch+json",
      });
    },
    create<T extends KubeObject>(object: KubeObject) {
      return client.request<T>({
        method: "POST",
        path: collectionPath(object.kind as Kind, object.metadata.namespace),
        query: { fieldManager: FIELD_MANAGER },
        body: object,
      });
    },
    async delete(kind: Kind, name: string, namespace?: string, options: { uid?: string } = {}) {
      try {
        return await client.request<KubeObject>({
          method: "DELETE",
          path: objectPath(kind, name, namespace),
          body: {
            apiVersion: "v1",
            kind: "DeleteOptions",
            propagationPolicy: "Background",
            ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
          },
        });
      } catch (error) {
        if (error instanceof ApiError && error.notFound) return undefined;
        throw error;
      }
    },
  };
}
