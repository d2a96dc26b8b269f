import { describe, expect, it } from "vitest";
import { z } from "zod";
import { crdSchema, customResourceDefinition, structural, toJsonSchema } from "../../../operator/src/api/crd.ts";
import {
  CRDS,
  placementDecisionCrd,
  placementPolicyCrd,
  tenantPlacementCrd,
  tenantPoolCrd,
  type CrdDescriptor,
} from "../../../operator/src/api/v1alpha1/index.ts";
import { celRules, nodeAt, structuralProblems, undescribed } from "./structural.ts";

const kinds = CRDS.map((d) => [d.kind, d] as const);

/** The CEL rule texts on the schema node at `path`. */
function rules(descriptor: CrdDescriptor, path: string): string[] {
  return (nodeAt(crdSchema(descriptor), path)["x-kubernetes-validations"] ?? []).map((r) => r.rule);
}

describe("generated CRD schemas", () => {
  it.each(kinds)("%s is structural and bounded for CEL cost estimation", (_kind, descriptor) => {
    expect(structuralProblems(crdSchema(descriptor))).toEqual([]);
  });

  it.each(kinds)("%s describes every property for kubectl explain", (_kind, descriptor) => {
    expect(undescribed(crdSchema(descriptor))).toEqual([]);
  });

  it.each(kinds)("%s has a status subresource, the landlord category and Cluster scope", (_kind, descriptor) => {
    const crd = customResourceDefinition(descriptor) as {
      spec: { scope: string; names: { categories: string[] }; versions: { subresources: unknown }[] };
    };
    expect(crd.spec.scope).toBe("Cluster");
    expect(crd.spec.names.categories).toEqual(["landlord"]);
    expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });
  });

  it("uses the design's short names", () => {
    expect(CRDS.map((d) => d.shortNames)).toEqual([["tp"], ["tpool"], ["ppol"], ["pdec"], ["crep"]]);
  });

  it("prints tier, target, pool, phase, revenue, cost, margin, readiness and age for tenants", () => {
    expect(tenantPlacementCrd.printerColumns.map((c) => [c.name, c.jsonPath])).toEqual([
      ["Tier", ".status.tier"],
      ["Target", ".status.targetTier"],
      ["Pool", ".status.pool"],
      ["Phase", ".status.phase"],
      ["Revenue", ".status.signals.monthlyRevenueUSD"],
      ["Cost", ".spec.reportedSignals.monthlyCostUSD"],
      ["Margin", ".spec.reportedSignals.marginUSD"],
      ["Ready", '.status.conditions[?(@.type=="Ready")].status'],
      ["Age", ".metadata.creationTimestamp"],
    ]);
    expect(tenantPlacementCrd.printerColumns.find((c) => c.name === "Revenue")?.type).toBe("number");
  });

  it("lets the API server apply the defaults zod applies", () => {
    const schema = crdSchema(tenantPlacementCrd);
    expect(nodeAt(schema, ".spec.policyRef").default).toBe("default");
    expect(nodeAt(schema, ".spec.pool").default).toBe("standard");
    expect(nodeAt(schema, ".spec.deletionPolicy").default).toBe("Retain");
    // {} on the parent makes the API server fill the nested defaults when tier is omitted.
    expect(nodeAt(schema, ".spec.tier").default).toEqual({});
    expect(nodeAt(schema, ".spec.tier.mode").default).toBe("Auto");
    expect(nodeAt(schema, ".spec.tier.floor").default).toBe("pooled");
    expect(nodeAt(schema, ".spec.tier.ceiling").default).toBe("account");
    const policy = crdSchema(placementPolicyCrd);
    expect(nodeAt(policy, ".spec.approval.demotion").default).toBe("Manual");
    expect(nodeAt(policy, ".spec.stabilization.cooldown").default).toBe("168h");
  });

  it("keeps conditions a list-map keyed by type", () => {
    const conditions = nodeAt(crdSchema(tenantPlacementCrd), ".status.conditions");
    expect(conditions["x-kubernetes-list-type"]).toBe("map");
    expect(conditions["x-kubernetes-list-map-keys"]).toEqual(["type"]);
  });

  it("makes quantities int-or-string checked with the CEL quantity library", () => {
    const cpu = nodeAt(crdSchema(tenantPlacementCrd), ".spec.quota.cpu");
    expect(cpu["x-kubernetes-int-or-string"]).toBe(true);
    expect(cpu["x-kubernetes-validations"]?.[0]?.rule).toContain("isQuantity(self)");
  });

  it("keeps the migration job template free-form", () => {
    const job = nodeAt(crdSchema(placementPolicyCrd), ".spec.migration.jobTemplate");
    expect(job).toMatchObject({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
  });
});

describe("CEL rules", () => {
  it("tie spec.tenantId to metadata.name and freeze it", () => {
    expect(rules(tenantPlacementCrd, "")).toContain("self.spec.tenantId == self.metadata.name");
    expect(rules(tenantPlacementCrd, ".spec.tenantId")).toContain("self == oldSelf");
  });

  it("require pinned for Pinned and keep floor at or below ceiling", () => {
    const tier = rules(tenantPlacementCrd, ".spec.tier");
    expect(tier.some((r) => r.includes("has(self.pinned)"))).toBe(true);
    expect(tier.some((r) => r.includes("'pooled': 0") && r.includes("self.ceiling"))).toBe(true);
  });

  it("check tag keys are label names without a prefix (their labels are tags.landlord.dev/<key>)", () => {
    const tags = rules(tenantPlacementCrd, ".spec.tags").join("\n");
    expect(tags).toContain("k.matches(r'^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')");
    expect(nodeAt(crdSchema(tenantPlacementCrd), ".spec.tags").maxProperties).toBe(45);
    expect(rules(tenantPlacementCrd, ".spec.tags[*]")[0]).toContain("self.matches(");
  });

  it("make a PlacementDecision's spec immutable", () => {
    expect(rules(placementDecisionCrd, ".spec")).toEqual(["self == oldSelf"]);
  });

  it("validate policy conditions, rules, tiers and durations", () => {
    const cond = ".spec.tiers[].promoteWhen.any[]";
    expect(rules(placementPolicyCrd, cond)[0]).toContain("has(self.gte)");
    expect(rules(placementPolicyCrd, ".spec.tiers[].promoteWhen")).toContain("has(self.any) != has(self.all)");
    const tier = rules(placementPolicyCrd, ".spec.tiers[]");
    expect(tier).toContain("self.tier != 'pooled'");
    expect(tier).toContain("self.tier != 'database' || has(self.database)");
    expect(rules(placementPolicyCrd, ".spec.signals[].source")[0]).toContain("has(self.prometheus)");
    expect(rules(placementPolicyCrd, ".spec.stabilization.promoteAfter")[0]).toContain("self.matches(");
  });

  it("keep a pool's namespacePrefix short enough for the shard suffix", () => {
    const prefix = nodeAt(crdSchema(tenantPoolCrd), ".spec.namespacePrefix");
    expect(prefix.maxLength).toBe(50);
    expect(prefix["x-kubernetes-validations"]?.[0]?.rule).toContain("self.matches(");
    expect(prefix["x-kubernetes-validations"]?.[1]?.rule).toContain("!self.startsWith('tenant-')");
  });

  it("keep tenant ids short and free of '--', so names never need shortening", () => {
    const id = nodeAt(crdSchema(tenantPlacementCrd), ".spec.tenantId");
    expect(id.maxLength).toBe(54);
    expect(id["x-kubernetes-validations"]?.map((r) => r.rule)).toContain("!self.contains('--')");
  });

  it.each(kinds)("%s: every rule has a message for people", (_kind, descriptor) => {
    const found = celRules(crdSchema(descriptor));
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter(({ rule }) => rule.message.trim().length < 10)).toEqual([]);
  });
});

describe("structural()", () => {
  it("refuses a union it cannot express, instead of emitting a CRD the API server rejects", () => {
    expect(() => structural(toJsonSchema(z.union([z.string().max(3), z.number()])))).toThrow(/anyOf/);
  });

  it("turns a union of literals into one enum", () => {
    const node = structural(toJsonSchema(z.union([z.literal("a"), z.literal("b")]).describe("ab")));
    expect(node).toEqual({ description: "ab", type: "string", enum: ["a", "b"] });
  });

  it("refuses an unmarked free-form object", () => {
    expect(() => structural(toJsonSchema(z.record(z.string(), z.unknown())))).toThrow(/preserve-unknown-fields/);
  });

  it("drops additionalProperties: false and zod's safe-integer bounds", () => {
    const node = structural(toJsonSchema(z.strictObject({ n: z.int().describe("n") }).describe("o")));
    expect(node).toEqual({
      description: "o",
      type: "object",
      properties: { n: { description: "n", type: "integer" } },
      required: ["n"],
    });
  });
});
