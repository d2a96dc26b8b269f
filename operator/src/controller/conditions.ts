export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/**
 * The new condition list: each input condition keeps its old lastTransitionTime unless its status
 * changed (Kubernetes convention), so recomputing identical conditions writes nothing.
 */
export function mergeConditions(previous: readonly Condition[] | undefined, next: readonly ConditionInput[], now: string, generation: number | undefined): Condition[] {
  return next.map((condition) => {
    const old = previous?.find((c) => c.type === condition.type);
    return {
      ...condition,
      lastTransitionTime: old && old.status === condition.status ? old.lastTransitionTime : now,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

/** Deep equality of JSON values, treating absent and undefined members alike. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const key of keys) if (!jsonEqual(ra[key], rb[key])) return false;
  return true;
}

/** Drops undefined members so the object serializes to exactly what the operator means to own. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) if (member !== undefined) out[key] = compact(member);
  return out as T;
}

/** One line naming every invalid field of a spec, for an InvalidSpec condition. */
export function specIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues.map((issue) => `spec.${issue.path.map(String).join(".")}: ${issue.message}`).join("; ");
}
