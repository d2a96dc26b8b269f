import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSubset, type QuantityField } from "../../../operator/src/placement/compare.ts";

/** Every leaf is a quantity: what the quantity rule does, apart from where it applies. */
const everywhere: QuantityField = () => true;
/** A ResourceQuota's quantities. */
const quotaHard: QuantityField = (path) => path.length === 3 && path[0] === "spec" && path[1] === "hard";

const desiredQuota = {
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name: "landlord-quota", namespace: "tenant-acme", labels: { "landlord.dev/tenant": "acme" } },
  spec: { hard: { "requests.cpu": "0.5", "requests.memory": "4Gi", pods: 20 } },
};

/** What the API server returns for desiredQuota: normalised quantities, defaults and metadata added. */
const liveQuota = {
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: {
    name: "landlord-quota",
    namespace: "tenant-acme",
    uid: "8d6c…",
    resourceVersion: "4711",
    labels: { "landlord.dev/tenant": "acme", "kubernetes.io/extra": "x" },
    managedFields: [{ manager: "landlord", operation: "Apply" }],
  },
  spec: { hard: { "requests.cpu": "500m", "requests.memory": "4Gi", pods: "20" } },
  status: { hard: {}, used: {} },
};

describe("isSubset", () => {
  it("finds an applied object unchanged despite server defaults and normalised quantities", () => {
    expect(isSubset(desiredQuota, liveQuota, quotaHard)).toBe(true);
  });

  it("compares quantities by value only where the field is a quantity", () => {
    // The same normalised values anywhere else are different strings: a label "1.10" is not "1.1".
    expect(isSubset(desiredQuota, liveQuota)).toBe(false);
    const labelled = (value: string) => ({ metadata: { labels: { version: value } }, spec: { hard: { cpu: value } } });
    expect(isSubset(labelled("1.10"), labelled("1.1"), quotaHard)).toBe(false);
    expect(isSubset({ spec: { hard: { cpu: "1.10" } } }, { spec: { hard: { cpu: "1.1" } } }, quotaHard)).toBe(true);
    // Array indices are part of the path.
    const limits: QuantityField = (path) => path.join(".") === "limits.0.max.cpu";
    expect(isSubset({ limits: [{ max: { cpu: "0.5" } }] }, { limits: [{ max: { cpu: "500m" } }] }, limits)).toBe(true);
    expect(isSubset({ limits: [{ min: { cpu: "0.5" } }] }, { limits: [{ min: { cpu: "500m" } }] }, limits)).toBe(false);
  });

  it("sees a changed quota, label or missing key", () => {
    const changedCpu = structuredClone(liveQuota);
    changedCpu.spec.hard["requests.cpu"] = "1";
    expect(isSubset(desiredQuota, changedCpu, quotaHard)).toBe(false);

    const changedLabel = structuredClone(liveQuota);
    changedLabel.metadata.labels["landlord.dev/tenant"] = "other";
    expect(isSubset(desiredQuota, changedLabel, quotaHard)).toBe(false);

    const missing = structuredClone(liveQuota) as { spec: { hard: Record<string, unknown> } };
    delete missing.spec.hard.pods;
    expect(isSubset(desiredQuota, missing, quotaHard)).toBe(false);
  });

  it("matches an empty map or list the API server left out, and nothing else that is missing", () => {
    // An empty shard's registry: applied with `data: {}`, returned without `data`.
    const stored = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "landlord-tenants", namespace: "pool-1" } };
    expect(isSubset({ ...stored, data: {} }, stored)).toBe(true);
    expect(isSubset({ ...stored, metadata: { ...stored.metadata, finalizers: [] } }, stored)).toBe(true);
    expect(isSubset({ ...stored, data: { acme: "{}" } }, stored)).toBe(false);
    expect(isSubset({ ...stored, data: "" }, stored)).toBe(false);
  });

  it("treats undefined in desired as don't care, but null as a value", () => {
    expect(isSubset({ a: undefined, b: 1 }, { b: 1 })).toBe(true);
    expect(isSubset(undefined, { anything: true })).toBe(true);
    expect(isSubset({ a: null }, { a: null })).toBe(true);
    expect(isSubset({ a: null }, {})).toBe(false);
    expect(isSubset({ a: null }, { a: 0 })).toBe(false);
  });

  it("compares arrays by length and element-wise", () => {
    expect(isSubset([{ name: "a" }, { name: "b" }], [{ name: "a", x: 1 }, { name: "b" }])).toBe(true);
    expect(isSubset([{ name: "a" }], [{ name: "a" }, { name: "b" }])).toBe(false);
    expect(isSubset([{ name: "b" }, { name: "a" }], [{ name: "a" }, { name: "b" }])).toBe(false);
    expect(isSubset([], [])).toBe(true);
  });

  it("does not confuse arrays, objects and primitives", () => {
    expect(isSubset([], {})).toBe(false);
    expect(isSubset({}, [])).toBe(false);
    expect(isSubset({}, "x")).toBe(false);
    expect(isSubset({}, null)).toBe(false);
    expect(isSubset("x", { x: 1 })).toBe(false);
    expect(isSubset(true, "true")).toBe(false);
    expect(isSubset(1, true)).toBe(false);
    expect(isSubset({ length: 0 }, [])).toBe(false);
  });

  it("compares numbers and strings as quantities only when both parse", () => {
    expect(isSubset("0.5", "500m", everywhere)).toBe(true);
    expect(isSubset(1, "1", everywhere)).toBe(true);
    expect(isSubset("1", 1, everywhere)).toBe(true);
    expect(isSubset("1Gi", "1024Mi", everywhere)).toBe(true);
    expect(isSubset("1Gi", "1G", everywhere)).toBe(false);
    expect(isSubset("abc", "ABC", everywhere)).toBe(false);
    expect(isSubset(1, 2, everywhere)).toBe(false);
    expect(isSubset("", 0, everywhere)).toBe(false);
  });

  it("ignores inherited properties on both sides", () => {
    const desired = Object.create({ inherited: 1 }) as Record<string, unknown>;
    desired.own = 1;
    expect(isSubset(desired, { own: 1 })).toBe(true);
    expect(isSubset({ toString: "x" }, {})).toBe(false);
  });

  it("holds for any JSON value against itself and against a copy with extra keys", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), fc.jsonValue(), (value, extraKey, extraValue) => {
        expect(isSubset(value, value)).toBe(true);
        expect(isSubset(value, structuredClone(value))).toBe(true);
        if (value !== null && typeof value === "object" && !Array.isArray(value) && !(extraKey in value)) {
          expect(isSubset(value, { ...value, [extraKey]: extraValue })).toBe(true);
        }
      }),
    );
  });

  it("is false when a desired key with a non-empty value is dropped from actual", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), (desired) => {
        const [key] = Object.keys(desired);
        const value = desired[key as string];
        // An empty map or list matches a missing key (the API server omits them; see above).
        fc.pre(!(typeof value === "object" && value !== null && Object.keys(value).length === 0));
        const actual: Record<string, unknown> = { ...desired };
        delete actual[key as string];
        expect(isSubset(desired, actual)).toBe(false);
      }),
    );
  });
});
