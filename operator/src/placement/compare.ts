/**
 * "Is what we would apply already there?": the check that lets the operator skip a server-side
 * apply, so that an idle cluster sees zero writes. It cannot see a field that was removed from the
 * desired object: controller/lastApplied.ts pairs it with a hash of what was last applied.
 */
import { quantitiesEqual } from "./quantity.ts";

/** Whether the value at `path` (object keys and array indices, from the root) is a Kubernetes quantity. */
export type QuantityField = (path: readonly string[]) => boolean;

const NO_QUANTITIES: QuantityField = () => false;

/**
 * True when `desired` is contained in `actual`:
 * - `undefined` in desired means "don't care" (at any depth, including object properties);
 * - objects: every key of desired (whose value is not undefined) is an own key of actual and
 *   matches recursively; extra keys in actual (server defaults, other managers' fields) are ignored;
 *   an empty map or list in desired also matches a key actual lacks, as the server omits them;
 * - arrays: same length, element-wise match (lists are compared as a whole, as apply replaces them);
 * - primitives: equal, or, where `isQuantity` says the field is a quantity, both are Kubernetes
 *   quantities with the same value ("0.5" and "500m", 1 and "1"), since the API server normalises
 *   them. Nowhere else: a label value "1.10" is not "1.1".
 */
export function isSubset(desired: unknown, actual: unknown, isQuantity: QuantityField = NO_QUANTITIES): boolean {
  return subset(desired, actual, isQuantity, []);
}

function subset(desired: unknown, actual: unknown, isQuantity: QuantityField, path: string[]): boolean {
  if (desired === undefined || desired === actual) return true;
  if (typeof desired !== "object" || desired === null) {
    // Two different numbers are never equal quantities; only a string on either side can be.
    if (
      (typeof desired === "string" || typeof desired === "number") &&
      (typeof actual === "string" || typeof actual === "number") &&
      (typeof desired === "string" || typeof actual === "string") &&
      isQuantity(path)
    ) {
      return quantitiesEqual(desired, actual);
    }
    return false;
  }
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    for (let i = 0; i < desired.length; i++) {
      path.push(String(i));
      const same = subset(desired[i], actual[i], isQuantity, path);
      path.pop();
      if (!same) return false;
    }
    return true;
  }
  if (Array.isArray(actual)) return false;
  const have = actual as Record<string, unknown>;
  for (const key in desired) {
    if (!Object.hasOwn(desired, key)) continue;
    const want = (desired as Record<string, unknown>)[key];
    if (want === undefined) continue;
    if (!Object.hasOwn(have, key)) {
      // The API server leaves empty maps and lists out of what it returns (an empty shard's registry
      // comes back without `data`): counted as a difference, every reconcile of an empty shard, and
      // every restart, rewrote it.
      if (isEmpty(want)) continue;
      return false;
    }
    path.push(key);
    const same = subset(want, have[key], isQuantity, path);
    path.pop();
    if (!same) return false;
  }
  return true;
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}
