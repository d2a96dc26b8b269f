import { z } from "zod";

/**
 * One entry of `x-kubernetes-validations`. The API server prefixes `message` with the path of the
 * node the rule sits on (or `fieldPath`, when set), so messages name the problem, not the field.
 */
export interface CelRule {
  rule: string;
  message: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

// zod copies every metadata key verbatim into z.toJSONSchema output; typing the Kubernetes
// extensions here lets crd.ts and the schemas agree on them without casts.
declare module "zod" {
  interface GlobalMeta {
    "x-kubernetes-validations"?: CelRule[];
    "x-kubernetes-int-or-string"?: true;
    "x-kubernetes-preserve-unknown-fields"?: true;
    "x-kubernetes-list-type"?: "atomic" | "set" | "map";
    "x-kubernetes-list-map-keys"?: string[];
  }
}

/**
 * A rule the API server enforces with CEL and zod enforces with `check`, so an object the operator
 * accepts is one the cluster accepts. `check` is omitted only for transition rules (`oldSelf`),
 * which zod cannot see.
 */
export interface Rule<T> {
  cel: CelRule;
  check?: (value: T) => boolean;
}

/** ".spec.tier" → ["spec", "tier"]: CEL's fieldPath and zod's issue path name the same field. */
function zodPath(fieldPath: string | undefined): string[] {
  return fieldPath ? fieldPath.split(".").filter((part) => part !== "") : [];
}

function appendCel<T extends z.ZodType>(schema: T, rules: CelRule[]): T {
  const existing = schema.meta()?.["x-kubernetes-validations"] ?? [];
  return schema.meta({ "x-kubernetes-validations": [...existing, ...rules] }) as T;
}

/** Attaches rules to a schema: each becomes a zod refinement and a CEL validation. */
export function withRules<T extends z.ZodType>(schema: T, ...rules: Rule<z.output<T>>[]): T {
  let refined: T = schema;
  for (const { cel, check } of rules) {
    if (check) {
      refined = refined.refine(check, { message: cel.message, path: zodPath(cel.fieldPath) }) as T;
    }
  }
  return appendCel(refined, rules.map((r) => r.cel));
}

/** A string format as a CEL `matches` rule (for a human message) plus the same regex in zod. */
export function matching(pattern: RegExp, message: string): Rule<string> {
  if (pattern.source.includes("'")) throw new Error(`pattern ${pattern} cannot be quoted in CEL`);
  return { cel: { rule: `self.matches(r'${pattern.source}')`, message }, check: (v) => pattern.test(v) };
}

/** `self == oldSelf`: the API server rejects a change; zod has no old object to compare. */
export function immutable(message: string): Rule<unknown> {
  return { cel: { rule: "self == oldSelf", message } };
}

/** A rule every key of a map must satisfy. `cel` is an expression over the key variable `k`. */
export interface KeyRule {
  cel: string;
  test: (key: string) => boolean;
  message: string;
}

/**
 * Structural schemas cannot constrain map keys, so key rules become `self.all(k, ...)` on the map.
 * zod reports each bad key at its own path; the API server's message cannot name the key, because
 * a messageExpression joining keys has no size bound and blows the CEL cost budget.
 */
export function withKeyRules<T extends z.ZodRecord>(schema: T, ...rules: KeyRule[]): T {
  const refined = schema.superRefine((value, ctx) => {
    for (const key of Object.keys(value as Record<string, unknown>)) {
      for (const rule of rules) {
        if (!rule.test(key)) ctx.addIssue({ code: "custom", message: `${rule.message}: ${key}`, path: [key] });
      }
    }
  });
  return appendCel(refined, rules.map((r) => ({ rule: `self.all(k, ${r.cel})`, message: r.message })));
}

/** A bound on a map's size: `maxProperties` for the API server (and CEL cost estimation), a check for zod. */
export function maxEntries<T extends z.ZodRecord>(schema: T, max: number, message?: string): T {
  const refined = schema.refine((m) => Object.keys(m as Record<string, unknown>).length <= max, {
    message: message ?? `must have at most ${max} entries`,
  });
  return refined.meta({ maxProperties: max }) as T;
}

/**
 * A list whose items are identified by one field (x-kubernetes-list-type: map): the API server
 * rejects duplicates and server-side apply merges items by that key. zod checks uniqueness too.
 */
export function listMap<T extends z.ZodArray>(schema: T, key: string): T {
  const refined = schema.superRefine((items, ctx) => {
    const seen = new Set<unknown>();
    (items as Record<string, unknown>[]).forEach((item, index) => {
      const value = item[key];
      if (seen.has(value)) {
        const message = `duplicate ${key} ${String(value)}: each may appear once`;
        ctx.addIssue({ code: "custom", path: [index, key], message });
      }
      seen.add(value);
    });
  });
  return refined.meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key] }) as T;
}

/** A key rule from a regex, with the same regex in CEL. */
export function keyMatching(pattern: RegExp, message: string): KeyRule {
  return { cel: `k.matches(r'${pattern.source}')`, test: (k) => pattern.test(k), message };
}
