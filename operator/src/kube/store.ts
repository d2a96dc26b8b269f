import { COST_KEYS } from "../api/labels.ts";
import type { KubeObject } from "./client.ts";
import { systemClock, type Clock } from "./clock.ts";
import { RESOURCES, type Kind } from "./resources.ts";

/** Label keys the store indexes, so per-tenant and per-pool lookups do not scan every object. */
export const INDEXED_LABELS = [COST_KEYS.tenant, COST_KEYS.pool] as const;
export type IndexedLabel = (typeof INDEXED_LABELS)[number];

/**
 * What the store hands out: the one shared copy every reconcile and listener reads. Changing it in
 * place would change every other reader's view and the store's own (its indexes, its versions)
 * behind its back: copy first (`{...object, metadata: {...object.metadata}}`, structuredClone).
 */
export type DeepReadonly<T> = T extends (infer U)[] ? DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
export type Cached<T extends KubeObject = KubeObject> = DeepReadonly<T>;

export type ChangeListener = (kind: Kind, object: Cached, change: "upsert" | "delete") => void;

/** The store's key of an object within its kind: `namespace/name`, `/name` when cluster-scoped. */
export const objectKey = (object: KubeObject): string => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
const keyOf = objectKey;

/**
 * Kinds whose resourceVersions may be ordered as integers. The API documents it for every resource
 * served by kube-apiserver itself, built-in or CRD, since Kubernetes 1.35 (KEP-5504; before, only
 * equality was promised, though etcd's revisions were the same integers): every kind Landlord
 * reads. A kind served by an aggregated API server would not be in this set: its versions are
 * opaque, and a different one counts as newer by arrival.
 */
export const ORDERED_VERSION_KINDS: ReadonlySet<Kind> = new Set(Object.keys(RESOURCES) as Kind[]);

/** A resourceVersion as an integer where it is one: positive, decimal, no leading zero (as client-go's CompareResourceVersion). */
function integerVersion(version: string | undefined): bigint | undefined {
  return version !== undefined && /^[1-9][0-9]*$/.test(version) ? BigInt(version) : undefined;
}

/**
 * -1, 0 or 1 when `a` and `b` can be ordered (an ordered kind, both integers); otherwise undefined,
 * and the caller may only ask whether they are equal.
 */
export function compareVersions(ordered: boolean, a: string | undefined, b: string | undefined): -1 | 0 | 1 | undefined {
  if (!ordered) return undefined;
  const x = integerVersion(a);
  const y = integerVersion(b);
  if (x === undefined || y === undefined) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether a copy at `incoming` is older than, or the same as, one at `known` (false when that cannot be known and they differ). */
function notNewer(ordered: boolean, known: string | undefined, incoming: string | undefined): boolean {
  const order = compareVersions(ordered, known, incoming);
  return order === undefined ? known === incoming : order >= 0;
}

/**
 * How long a deleted object's tombstone is kept. It stops a copy older than the deletion from
 * bringing the object back: the answer to one of the operator's own writes that was in flight when
 * the deletion's watch event arrived, or a list made before the deletion and answered after it.
 * Both are requests, which the client ends after 60 s (REQUEST_TIMEOUT_MS in client.ts); five
 * times that is ample. Kept for the life of the process instead, every deleted Job, decision and
 * namespace was remembered forever.
 */
export const TOMBSTONE_TTL_MS = 5 * 60_000;

interface Tombstone {
  version: string | undefined;
  /** When it was recorded (the store's clock). */
  at: number;
}

export interface StoreOptions {
  /** For tombstone expiry; the system clock by default. */
  clock?: Pick<Clock, "now">;
  tombstoneTtlMs?: number;
  /** Kinds whose versions are ordered as integers (ORDERED_VERSION_KINDS by default). */
  orderedKinds?: ReadonlySet<Kind>;
  /**
   * Deep-freeze every object cached, so that changing one in place throws where it happens. The
   * type system stops assignments to a Cached object's properties but not a push into one of its
   * arrays (zod's inferred types, which the pure modules take, are mutable). On under `npm test`
   * (LANDLORD_FREEZE_CACHE=1, set in vitest.config.ts), off in production and the bench: freezing
   * costs a walk of every object.
   */
  freeze?: boolean;
}

/** Whether caches freeze what they hold by default (see StoreOptions.freeze). */
export const FREEZE_CACHED = process.env.LANDLORD_FREEZE_CACHE === "1";

/** Freezes `value` and everything reachable from it; what is frozen already is not walked again. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
  return value;
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
 * Choosing the newer of two copies needs their versions ordered: where the API allows it (see
 * ORDERED_VERSION_KINDS), as integers; elsewhere a copy with a different version is newer because
 * it arrived later. Deleted objects leave a tombstone for TOMBSTONE_TTL_MS.
 */
export class ObjectStore {
  private readonly objects = new Map<Kind, Map<string, KubeObject>>();
  /** By `kind|key`, oldest first (a tombstone set again moves to the end), so expiry trims the front. */
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly indexes = new Map<string, Set<string>>();
  private readonly listeners: ChangeListener[] = [];
  private readonly clock: Pick<Clock, "now">;
  private readonly tombstoneTtlMs: number;
  private readonly orderedKinds: ReadonlySet<Kind>;
  private readonly freeze: boolean;

  constructor(options: StoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.tombstoneTtlMs = options.tombstoneTtlMs ?? TOMBSTONE_TTL_MS;
    this.orderedKinds = options.orderedKinds ?? ORDERED_VERSION_KINDS;
    this.freeze = options.freeze ?? FREEZE_CACHED;
  }

  /** `object` as the store keeps it: frozen only once accepted, so a copy it turns down stays its caller's to change. */
  private kept(object: KubeObject): KubeObject {
    return this.freeze ? deepFreeze(object) : object;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  get<T extends KubeObject = KubeObject>(kind: Kind, name: string, namespace?: string): Cached<T> | undefined {
    return this.objects.get(kind)?.get(`${namespace ?? ""}/${name}`) as Cached<T> | undefined;
  }

  list<T extends KubeObject = KubeObject>(kind: Kind): Cached<T>[] {
    return [...(this.objects.get(kind)?.values() ?? [])] as Cached<T>[];
  }

  /** Objects of `kind` whose label `label` has `value`. */
  byLabel<T extends KubeObject = KubeObject>(kind: Kind, label: IndexedLabel, value: string): Cached<T>[] {
    const keys = this.indexes.get(`${kind}|${label}|${value}`);
    if (!keys) return [];
    const objects = this.objects.get(kind);
    return [...keys].map((key) => objects?.get(key)).filter((o): o is KubeObject => o !== undefined) as Cached<T>[];
  }

  count(kind: Kind): number {
    return this.objects.get(kind)?.size ?? 0;
  }

  /** Deleted objects still remembered (see TOMBSTONE_TTL_MS). */
  tombstoneCount(): number {
    this.expireTombstones();
    return this.tombstones.size;
  }

  /** Records a copy the informer delivered or a write returned, unless the store has a newer one. */
  upsert(kind: Kind, stored: KubeObject): void {
    this.expireTombstones();
    const used = usedManagedFields(kind, stored);
    // A copy of the metadata: the caller may still hold the object it passed (a write's answer).
    const object = used === "unchanged" ? stored : { ...stored, metadata: { ...stored.metadata, managedFields: used } };
    if (used === undefined) delete object.metadata.managedFields;
    const key = keyOf(object);
    const byKind = this.objects.get(kind) ?? new Map<string, KubeObject>();
    this.objects.set(kind, byKind);
    const current = byKind.get(key);
    const ordered = this.orderedKinds.has(kind);
    const version = object.metadata.resourceVersion;
    if (current) {
      const order = compareVersions(ordered, current.metadata.resourceVersion, version);
      if (order === 1) return;
      if (version !== undefined && current.metadata.resourceVersion === version) {
        // The same version again: the watch event of the operator's own write, whose answer the
        // overlay already holds. Nothing changed, so nobody is woken (each write used to wake its
        // object's reconciler once more, for nothing). The informer's copy is kept in its place.
        byKind.set(key, this.kept(object));
        return;
      }
    }
    const tombstone = this.tombstones.get(`${kind}|${key}`);
    if (tombstone !== undefined && notNewer(ordered, tombstone.version, version)) return;
    this.tombstones.delete(`${kind}|${key}`);
    if (current) this.unindex(kind, key, current);
    byKind.set(key, this.kept(object));
    this.index(kind, key, object);
    for (const listener of this.listeners) listener(kind, object, "upsert");
  }

  remove(kind: Kind, object: KubeObject): void {
    this.expireTombstones();
    const key = keyOf(object);
    const current = this.objects.get(kind)?.get(key);
    // The deletion happened at the later of the two versions, where that can be known.
    const known = current?.metadata.resourceVersion;
    const deleted = object.metadata.resourceVersion;
    const later = compareVersions(this.orderedKinds.has(kind), known, deleted) === 1 ? known : (deleted ?? known);
    this.tombstones.delete(`${kind}|${key}`);
    this.tombstones.set(`${kind}|${key}`, { version: later, at: this.clock.now() });
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
   * Without a version that can be ordered, every unlisted object goes (a newer one comes back with
   * its watch event).
   */
  removeUnlisted(kind: Kind, listed: ReadonlySet<string>, listResourceVersion?: string): void {
    const ordered = this.orderedKinds.has(kind);
    for (const [key, current] of this.objects.get(kind) ?? []) {
      if (listed.has(key)) continue;
      const order = compareVersions(ordered, current.metadata.resourceVersion, listResourceVersion);
      if (order === undefined) this.remove(kind, current);
      else if (order <= 0) this.remove(kind, { ...current, metadata: { ...current.metadata, resourceVersion: listResourceVersion } });
    }
  }

  /** Drops the tombstones older than the TTL: the oldest are first in the map. */
  private expireTombstones(): void {
    const cutoff = this.clock.now() - this.tombstoneTtlMs;
    for (const [key, tombstone] of this.tombstones) {
      if (tombstone.at > cutoff) return;
      this.tombstones.delete(key);
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
