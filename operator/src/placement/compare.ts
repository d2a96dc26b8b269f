/**
 * "Is what we would apply already there?": the check that lets the operator skip a server-side
 * apply, so that an idle cluster sees zero writes.
 */
import { quantitiesEqual } from "./quantity.ts";

/**
 * True when `desired` is contained in `actual`:
 * - `undefined` in desired means "don't care" (at any depth, including object properties);
 * - objects: every key of desired (whose value is not undefined) is an own key of actual and
 *   matches recursively; extra keys in actual (server defaults, other managers' fields) are ignored;
 *   an empty map or list in desired also matches a key actual lacks, as the server omits them;
 * - arrays: same length, element-wise match (lists are compared as a whole, as apply replaces them);
 * - primitives: equal, or, when desired is a string or number, both are Kubernetes quantities with
 *   the same value ("0.5" and "500m", 1 and "1"), since the API server normalises quantities.
 *
 * Caveat: the quantity rule applies to every string, not only to quota fields: a label value "1.10"
 * matches an actual "1.1", and "0123" matches "123".
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === undefined || desired === actual) return true;
  if (typeof desired !== "object" || desired === null) {
    // Two different numbers are never equal quantities; only a string on either side can be.
    if (
      (typeof desired === "string" || typeof desired === "number") &&
      (typeof actual === "string" || typeof actual === "number") &&
      (typeof desired === "string" || typeof actual === "string")
    ) {
      return quantitiesEqual(desired, actual);
    }
    return false;
  }
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    for (let i = 0; i < desired.length; i++) {
      if (!isSubset(desired[i], actual[i])) return false;
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
    if (!isSubset(want, have[key])) return false;
  }
  return true;
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}
