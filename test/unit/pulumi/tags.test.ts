import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LABEL_KEY, LABEL_VALUE, TIERS, tenantPlacementSpec } from "../../../operator/src/api/v1alpha1/index.ts";
import { COST_KEYS, LABELS, MANAGED_BY_VALUE, REQUIRED_COST_KEYS } from "../../../operator/src/api/labels.ts";
import { tenantLabels } from "../../../operator/src/controller/labels.ts";
import {
  AWS_TAG_LIMITS,
  costLabels,
  labelKeyOf,
  costTags,
  missingCostTags,
  TagError,
  tagProblems,
  toLabelValue,
} from "../../../pulumi/tags.ts";

const base = { tenantId: "acme", tier: "database", costCenter: "cc-1234" } as const;
const AWS_CHARS = /^[\p{L}\p{N} _.:/=+\-@]*$/u;

/** The rules AWS applies to one resource's tags, written independently of tags.ts. */
function validAwsTags(tags: Record<string, string>): boolean {
  const entries = Object.entries(tags);
  return (
    entries.length <= 50 &&
    entries.every(
      ([k, v]) => k.length >= 1 && k.length <= 128 && v.length <= 256 && AWS_CHARS.test(k) && AWS_CHARS.test(v) && !/^aws:/i.test(k),
    )
  );
}
const validLabels = (labels: Record<string, string>): boolean =>
  Object.entries(labels).every(([k, v]) => LABEL_KEY.test(k) && v.length <= 63 && LABEL_VALUE.test(v));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof TagError) return error.problems;
    throw error;
  }
  return [];
}

describe("costTags", () => {
  it("makes the required cost keys, then the tenant's own tags", () => {
    expect(costTags({ ...base, tags: { team: "growth" } })).toEqual({
      team: "growth",
      "landlord.dev/tenant": "acme",
      "landlord.dev/tier": "database",
      "landlord.dev/cost-center": "cc-1234",
      "landlord.dev/managed-by": "landlord",
    });
  });

  it("adds landlord.dev/pool only for a pooled tenant with a pool", () => {
    expect(costTags({ ...base, tier: "pooled", pool: "standard" })[COST_KEYS.pool]).toBe("standard");
    expect(costTags(base)).not.toHaveProperty(COST_KEYS.pool);
  });

  it("never lets a tenant tag stand in for a required key: landlord.dev/ keys are refused", () => {
    const problems = problemsOf(() => costTags({ ...base, tags: { "landlord.dev/tenant": "someone-else", "landlord.dev/x": "y" } }));
    expect(problems).toEqual([
      expect.stringMatching(/^tag key landlord\.dev\/tenant is reserved for the tags Landlord sets itself: remove it from spec\.tags/),
      expect.stringMatching(/^tag key landlord\.dev\/x is reserved/),
    ]);
  });

  it.each<{ name: string; tags: Record<string, string>; message: RegExp }>([
    { name: "an aws: prefix in any case", tags: { "AWS:owner": "me" }, message: /starts with aws:, which AWS reserves/ },
    { name: "a key over 128 characters", tags: { [`example.com/${"k".repeat(63)}`.padStart(129, "a")]: "v" }, message: /has 129 characters; AWS needs 1 to 128/ },
    { name: "a value over 256 characters", tags: { team: "v".repeat(257) }, message: /value of 257 characters; AWS allows at most 256/ },
    { name: "characters AWS rejects in a value", tags: { team: "a#b" }, message: /tag team has value "a#b" with characters AWS rejects/ },
    { name: "characters AWS rejects in a key", tags: { "te$m": "a" }, message: /tag key "te\$m" has characters AWS rejects/ },
    { name: "a key that is no label key", tags: { "cost center": "a" }, message: /tag key "cost center" is not a Kubernetes label key/ },
    { name: "an empty key", tags: { "": "a" }, message: /tag key "" has 0 characters/ },
  ])("refuses $name, saying what and how to fix it", ({ tags, message }) => {
    const problems = problemsOf(() => costTags({ ...base, tags }));
    expect(problems.some((p) => message.test(p)), problems.join("\n")).toBe(true);
  });

  it("refuses more than 50 tags in all, counting the ones Landlord sets", () => {
    const tags = Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`t${i}`, "v"]));
    expect(problemsOf(() => costTags({ ...base, tags }))).toEqual([expect.stringMatching(/^51 tags, but AWS allows at most 50 per resource \(Landlord sets 4 or 5 itself\)/)]);
    const { t0: _t0, ...fits } = tags;
    expect(Object.keys(costTags({ ...base, tags: fits }))).toHaveLength(AWS_TAG_LIMITS.maxTags);
  });

  it("refuses an empty tenant id or cost center", () => {
    expect(problemsOf(() => costTags({ ...base, costCenter: "" }))).toContain("costCenter is empty; every tenant needs one (e.g. cc-1234)");
  });

  it("accepts what AWS accepts even where a label could not hold it, such as a space, a colon or a letter outside ASCII", () => {
    const tags = costTags({ ...base, tags: { owner: "Zoë: ops/data team" } });
    expect(validAwsTags(tags)).toBe(true);
    expect(validLabels(costLabels({ ...base, tags: { owner: "Zoë: ops/data team" } }))).toBe(true);
  });

  it("keeps a tenant's tags out of every label space but tags.landlord.dev/ (issue 15)", () => {
    expect(problemsOf(() => costTags({ ...base, tags: { "pod-security.kubernetes.io/enforce": "privileged" } }))).toEqual([
      expect.stringContaining("is not a label name without a prefix"),
    ]);
    const labels = costLabels({ ...base, tags: { team: "growth" } });
    expect(labels["tags.landlord.dev/team"]).toBe("growth");
    expect(labels).not.toHaveProperty("team");
  });
});

describe("toLabelValue", () => {
  it("keeps a valid label value as it is", () => {
    for (const value of ["", "cc-1234", "a", "A.b_c-9", "x".repeat(63)]) expect(toLabelValue(value)).toBe(value);
  });

  it("maps anything else to a valid label value that names its origin by a hash", () => {
    expect(toLabelValue("Zoë: ops/data team")).toMatch(/^Zo___ops_data_team-[0-9a-f]{8}$/);
    expect(toLabelValue("x".repeat(64))).toMatch(/^x{54}-[0-9a-f]{8}$/);
    expect(toLabelValue("@@@")).toMatch(/^[0-9a-f]{8}$/);
  });

  it("gives a valid label value for any string, deterministically, and different ones for different strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: "grapheme" }), fc.string({ maxLength: 300 }), (a, b) => {
        const la = toLabelValue(a);
        expect(la.length).toBeLessThanOrEqual(63);
        expect(la).toMatch(LABEL_VALUE);
        expect(toLabelValue(a)).toBe(la);
        if (a !== b) expect(toLabelValue(b)).not.toBe(la);
      }),
      { numRuns: 500 },
    );
  });
});

describe("tags and labels agree", () => {
  const labelChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
  const alnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789");
  const labelName = fc
    .tuple(alnum, fc.string({ unit: labelChar, maxLength: 20 }), alnum)
    .map(([a, mid, z]) => `${a}${mid}${z}`);
  // Mostly plausible tags (label keys; label values or AWS-only values), some arbitrary strings.
  const awsValue = fc.string({ unit: fc.constantFrom(..."aZ09 _.:/=+-@ëé"), maxLength: 80 });
  const anyTags = fc.dictionary(
    fc.oneof(
      { arbitrary: labelName, weight: 6 },
      { arbitrary: labelName.map((n) => `example.com/${n}`), weight: 3 },
      { arbitrary: fc.string({ maxLength: 140 }), weight: 1 },
      { arbitrary: fc.constantFrom("aws:x", "AWS:y", "landlord.dev/tenant"), weight: 1 },
    ),
    fc.oneof({ arbitrary: labelName, weight: 4 }, { arbitrary: awsValue, weight: 3 }, { arbitrary: fc.string({ maxLength: 300 }), weight: 1 }),
    { maxKeys: 55 },
  );
  const tenant = fc.record({
    tenantId: labelName.map((n) => n.toLowerCase().replace(/[_.]/g, "-")),
    tier: fc.constantFrom(...TIERS),
    costCenter: labelName,
    pool: fc.option(labelName, { nil: undefined }),
  });

  it("any tag set costTags accepts is valid as AWS tags, carries every required key, and its labels are valid Kubernetes labels", () => {
    fc.assert(
      fc.property(tenant, anyTags, (t, tags) => {
        const input = { ...t, tags, ...(t.pool === undefined ? {} : { pool: t.pool }) };
        let accepted: Record<string, string>;
        try {
          accepted = costTags(input);
        } catch (error) {
          expect(error).toBeInstanceOf(TagError);
          expect((error as TagError).problems.length).toBeGreaterThan(0);
          return;
        }
        expect(validAwsTags(accepted)).toBe(true);
        expect(missingCostTags({ [COST_KEYS.tenant]: t.tenantId, [COST_KEYS.managedBy]: MANAGED_BY_VALUE }, accepted)).toEqual([]);
        for (const key of REQUIRED_COST_KEYS) expect(accepted[key]).toBeTruthy();
        const labels = costLabels(input);
        expect(validLabels(labels)).toBe(true);
        expect(Object.keys(labels)).toEqual(Object.keys(accepted).map(labelKeyOf));
        for (const key of Object.keys(labels)) expect(key.startsWith("landlord.dev/") || key.startsWith("tags.landlord.dev/"), key).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("any tags a TenantPlacement spec accepts make identical tags and labels", () => {
    fc.assert(
      fc.property(tenant, fc.dictionary(labelName, labelName, { maxKeys: 45 }), (t, tags) => {
        const spec = { tenantId: t.tenantId, costCenter: t.costCenter, tags };
        fc.pre(tenantPlacementSpec.safeParse(spec).success);
        const input = { ...t, tags, ...(t.pool === undefined ? {} : { pool: t.pool }) };
        expect(costLabels(input)).toEqual(Object.fromEntries(Object.entries(costTags(input)).map(([key, value]) => [labelKeyOf(key), value])));
        expect(tagProblems(costTags(input))).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it("tenantLabels is costLabels: same keys and values as before for existing callers", () => {
    const options = { tenantId: "acme", tier: "namespace", costCenter: "cc-1234", tags: { team: "growth" } } as const;
    expect(tenantLabels(options)).toEqual(costLabels(options));
    expect(tenantLabels(options)).toEqual({
      "tags.landlord.dev/team": "growth",
      [LABELS.tenant]: "acme",
      [LABELS.tier]: "namespace",
      [LABELS.costCenter]: "cc-1234",
      [LABELS.managedBy]: MANAGED_BY_VALUE,
    });
    expect(tenantLabels({ ...options, tier: "pooled", pool: "standard" })[LABELS.pool]).toBe("standard");
  });

  it("the operator's label keys include the cost keys", () => {
    expect({ tenant: LABELS.tenant, tier: LABELS.tier, pool: LABELS.pool, costCenter: LABELS.costCenter, managedBy: LABELS.managedBy }).toEqual(COST_KEYS);
  });
});
