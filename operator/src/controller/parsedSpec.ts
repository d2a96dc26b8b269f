import type { z } from "zod";
import type { KubeObject } from "../kube/client.ts";
import { deepFreeze, FREEZE_CACHED } from "../kube/store.ts";

const caches = new WeakMap<z.ZodType, WeakMap<KubeObject, unknown>>();

/**
 * The object's spec parsed with `schema` (defaults applied), or undefined when it is invalid.
 * Memoized per object: the store holds one object per resourceVersion and replaces it on change,
 * so a spec is parsed once per version however many reconciles (a pool's, every share total) read it.
 */
export function parsedSpec<S extends z.ZodType>(schema: S, object: KubeObject): z.output<S> | undefined {
  let cache = caches.get(schema);
  if (!cache) {
    cache = new WeakMap();
    caches.set(schema, cache);
  }
  if (cache.has(object)) return cache.get(object) as z.output<S> | undefined;
  const parsed = schema.safeParse(object.spec);
  // Shared by every reconcile that reads this version, like the cached object: frozen with it.
  const value = parsed.success ? (FREEZE_CACHED ? deepFreeze(parsed.data) : parsed.data) : undefined;
  cache.set(object, value);
  return value;
}
