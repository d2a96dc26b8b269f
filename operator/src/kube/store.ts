import { COST_KEYS } from "../api/labels.ts";
import type { KubeObject } from "./client.ts";
import type { Kind } from "./resources.ts";

/** Label keys the store indexes, so per-tenant and per-pool lookups do not scan every object. */
export const INDEXED_LABELS = [COST_KEYS.tenant, COST_KEYS.pool] as const;
export type IndexedLabel = (typeof INDEXED_LABELS)[number];

export type ChangeListener = (kind: Kind, object: KubeObject, change: "upsert" | "delete") => void;

/** The store's key of an object within its kind: `namespace/name`, `/name` when cluster-scoped. */
export const objectKey = (object: KubeObject): string => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
const keyOf = objectKey;

function rv(object: KubeObject | undefined): bigint {
  try {
    return BigInt(object?.metadata.resourceVersion ?? "0");
  } catch {
    return 0n;
  }
}

/**
 * The operator's own reads of managedFields are when, and by whom, a TenantPlacement's spec or
 * annotations were written (signal ages, who approved a move). Everything else in managedFields —
 * every field of every status, of every child, of every PlacementDecision — was a quarter of the
 * cache's size at 5,000 tenants and is never read, so it is not kept. Returns the trimmed list, or
 * undefined to drop it; `unchanged` when there is nothing to trim.
 */
export function usedManagedFields(kind: Kind, object: KubeObject): unknown[] | undefined | "unchanged" {
  const fields = object.metadata.managedFields;
  if (fields === undefined) return "unchanged";
  if (kind !== "TenantPlacement") return undefined;
  const kept = fields.filter((entry) => (entry as { subresource?: string }).subresource !== "status");
  return kept.length === fields.length ? "unchanged" : kept;
}

/** Trims `object`'s managedFields in place (see usedManagedFields): only for objects nobody else holds yet. */
export function trimManagedFieldsInPlace(kind: Kind, object: KubeObject): void {
  const used = usedManagedFields(kind, object);
  if (used === "unchanged") return;
  if (used === undefined) delete object.metadata.managedFields;
  else object.metadata.managedFields = used;
}

/**
 * The operator's view of the cluster: what the informers delivered, overlaid with the answers to
 * its own writes. Without the overlay a reconcile that runs right after a write would read the
 * informer's older copy and decide again on stale data (a pool placing the same tenant twice).
 * resourceVersions are compared as numbers: the API server documents them as opaque, but etcd's
 * are monotonic integers, and the comparison only ever chooses the newer of two copies.
 */
export class ObjectStore {
  private readonly objects = new Map<Kind, Map<string, KubeObject>>();
  private readonly tombstones = new Map<Kind, Map<string, bigint>>();
  private readonly indexes = new Map<string, Set<string>>();
  private readonly listeners: ChangeListener[] = [];

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  get<T extends KubeObject = KubeObject>(kind: Kind, name: string, namespace?: string): T | undefined {
    return this.objects.get(kind)?.get(`${namespace ?? ""}/${name}`) as T | undefined;
  }

  list<T extends KubeObject = KubeObject>(kind: Kind): T[] {
    return [...(this.objects.get(kind)?.values() ?? [])] as T[];
  }

  /** Objects of `kind` whose label `label` has `value`. */
  byLabel<T extends KubeObject = KubeObject>(kind: Kind, label: IndexedLabel, value: string): T[] {
    const keys = this.indexes.get(`${kind}|${label}|${value}`);
    if (!keys) return [];
    const objects = this.objects.get(kind);
    return [...keys].map((key) => objects?.get(key)).filter((o): o is KubeObject => o !== undefined) as T[];
  }

  count(kind: Kind): number {
    return this.objects.get(kind)?.size ?? 0;
  }

  /** Records a copy the informer delivered or a write returned, unless the store has a newer one. */
  upsert(kind: Kind, stored: KubeObject): void {
    const used = usedManagedFields(kind, stored);
    // A copy of the metadata: the caller may still hold the object it passed (a write's answer).
    const object = used === "unchanged" ? stored : { ...stored, metadata: { ...stored.metadata, managedFields: used } };
    if (used === undefined) delete object.metadata.managedFields;
    const key = keyOf(object);
    const byKind = this.objects.get(kind) ?? new Map<string, KubeObject>();
    this.objects.set(kind, byKind);
    const current = byKind.get(key);
    const version = rv(object);
    if (current && rv(current) > version) return;
    if (current && version > 0n && rv(current) === version) {
      // The same version again: the watch event of the operator's own write, whose answer the
      // overlay already holds. Nothing changed, so nobody is woken (each write used to wake its
      // object's reconciler once more, for nothing). The informer's copy is kept in its place.
      byKind.set(key, object);
      return;
    }
    const tombstone = this.tombstones.get(kind)?.get(key);
    if (tombstone !== undefined && tombstone >= version) return;
    this.tombstones.get(kind)?.delete(key);
    if (current) this.unindex(kind, key, current);
    byKind.set(key, object);
    this.index(kind, key, object);
    for (const listener of this.listeners) listener(kind, object, "upsert");
  }

  remove(kind: Kind, object: KubeObject): void {
    const key = keyOf(object);
    const current = this.objects.get(kind)?.get(key);
    const tombstones = this.tombstones.get(kind) ?? new Map<string, bigint>();
    this.tombstones.set(kind, tombstones);
    tombstones.set(key, rv(object) > rv(current) ? rv(object) : rv(current));
    if (!current) return;
    this.objects.get(kind)?.delete(key);
    this.unindex(kind, key, current);
    for (const listener of this.listeners) listener(kind, current, "delete");
  }

  /** Replaces everything of `kind` with a fresh list (see removeUnlisted for `listResourceVersion`). */
  replaceAll(kind: Kind, objects: KubeObject[], listResourceVersion?: string): void {
    for (const object of objects) this.upsert(kind, object);
    this.removeUnlisted(kind, new Set(objects.map(keyOf)), listResourceVersion);
  }

  /**
   * After a re-list (at `listResourceVersion`): removes the objects of `kind` whose keys the list did
   * not have, i.e. deleted while the informer was not watching. An object newer than the list (the
   * answer to one of the operator's own writes, made after the list's snapshot) is kept: its watch
   * events follow. The deletion is recorded at the list's version, so a re-created object is taken.
   * Without a version, every unlisted object goes.
   */
  removeUnlisted(kind: Kind, listed: ReadonlySet<string>, listResourceVersion?: string): void {
    const version = listResourceVersion === undefined ? undefined : rv({ metadata: { resourceVersion: listResourceVersion } } as KubeObject);
    for (const [key, current] of this.objects.get(kind) ?? []) {
      if (listed.has(key)) continue;
      if (version === undefined) this.remove(kind, current);
      else if (rv(current) <= version) this.remove(kind, { ...current, metadata: { ...current.metadata, resourceVersion: listResourceVersion } });
    }
  }

  private index(kind: Kind, key: string, object: KubeObject): void {
    for (const label of INDEXED_LABELS) {
      const value = object.metadata.labels?.[label];
      if (value === undefined) continue;
      const indexKey = `${kind}|${label}|${value}`;
      const keys = this.indexes.get(indexKey) ?? new Set<string>();
      keys.add(key);
      this.indexes.set(indexKey, keys);
    }
  }

  private unindex(kind: Kind, key: string, object: KubeObject): void {
    for (const label of INDEXED_LABELS) {
      const value = object.metadata.labels?.[label];
      if (value !== undefined) this.indexes.get(`${kind}|${label}|${value}`)?.delete(key);
    }
  }
}
