import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { REPO_ROOT } from "../../../operator/src/api/generate.ts";
import {
  placementDecision,
  placementPolicy,
  tenantPlacement,
  tenantPool,
  TIERS,
} from "../../../operator/src/api/v1alpha1/index.ts";
import { invalidSpecs } from "../../fixtures/invalidSpecs.ts";

const schemaByKind: Record<string, z.ZodType> = {
  TenantPlacement: tenantPlacement,
  TenantPool: tenantPool,
  PlacementPolicy: placementPolicy,
  PlacementDecision: placementDecision,
};

function schemaFor(manifest: unknown): z.ZodType {
  const kind = (manifest as { kind?: string }).kind ?? "";
  const schema = schemaByKind[kind];
  if (!schema) throw new Error(`no schema for kind ${kind}`);
  return schema;
}

const examplesDir = path.join(REPO_ROOT, "examples");
const examples = readdirSync(examplesDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(examplesDir, file), "utf8")).map((doc) => {
      const manifest = doc.toJSON() as { kind: string; metadata: { name: string } };
      return { label: `${file}: ${manifest.kind} ${manifest.metadata.name}`, manifest };
    }),
  );

/** "spec.tiers[0].promoteWhen" (API server) → "spec.tiers.0.promoteWhen" (zod issue path). */
const asZodPath = (field: string) => field.replace(/\[(\w+)\]/g, ".$1");

describe("the examples", () => {
  it("cover every kind a newcomer applies", () => {
    const kinds = new Set(examples.map((e) => e.manifest.kind));
    expect([...kinds].sort()).toEqual(["PlacementPolicy", "TenantPlacement", "TenantPool"]);
    expect(examples.filter((e) => e.manifest.kind === "TenantPlacement").length).toBeGreaterThanOrEqual(6);
  });

  it.each(examples.map((e) => [e.label, e.manifest] as const))("%s passes its schema", (_label, manifest) => {
    const result = schemaFor(manifest).safeParse(manifest);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it("show a pinned tenant and one with a floor", () => {
    const tenants = examples
      .filter((e) => e.manifest.kind === "TenantPlacement")
      .map((e) => tenantPlacement.parse(e.manifest));
    expect(tenants.some((t) => t.spec.tier.mode === "Pinned" && t.spec.tier.pinned === "namespace")).toBe(true);
    expect(tenants.some((t) => t.spec.tier.floor === "namespace")).toBe(true);
  });
});

describe("defaults", () => {
  it("fills a minimal tenant the way the API server does", () => {
    const tenant = tenantPlacement.parse({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPlacement",
      metadata: { name: "acme" },
      spec: { tenantId: "acme", costCenter: "cc-1234" },
    });
    expect(tenant.spec).toEqual({
      tenantId: "acme",
      costCenter: "cc-1234",
      policyRef: "default",
      pool: "standard",
      tier: { mode: "Auto", floor: "pooled", ceiling: "account" },
      deletionPolicy: "Retain",
    });
  });

  it("fills a minimal policy with the design's hysteresis, approvals and rate limits", () => {
    const policy = placementPolicy.parse({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "PlacementPolicy",
      metadata: { name: "default" },
      spec: {
        signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
        tiers: [
          {
            tier: "account",
            promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 250000 }] },
            account: { organizationalUnitId: "ou-ab12-cdef3456", emailTemplate: "aws+{{tenantId}}@example.com" },
          },
        ],
      },
    });
    expect(policy.spec.stabilization).toEqual({ promoteAfter: "24h", demoteAfter: "720h", cooldown: "168h" });
    expect(policy.spec.approval).toEqual({ promotion: "Automatic", demotion: "Manual" });
    expect(policy.spec.rateLimit).toEqual({ maxConcurrentMoves: 2, maxMovesPerHour: 10 });
    expect(policy.spec.maxSignalAge).toBe("48h");
    expect(policy.spec.evaluationInterval).toBe("5m");
    expect(policy.spec.tiers[0]?.account?.roleName).toBe("OrganizationAccountAccessRole");
  });

  it("gives pooled tenants the design's default quota", () => {
    const pool = tenantPool.parse({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPool",
      metadata: { name: "standard" },
      spec: { namespacePrefix: "pool-standard", capacity: { maxTenants: 200, cpu: "64", memory: "256Gi" } },
    });
    expect(pool.spec.tenantDefaults).toEqual({ cpu: "250m", memory: "512Mi", storage: "5Gi", pods: 5 });
  });
});

describe("invalid specs", () => {
  it.each(invalidSpecs.map((s) => [s.name, s] as const))("zod rejects %s at the same field", (_name, spec) => {
    const result = schemaFor(spec.manifest).safeParse(spec.manifest);
    expect(result.success).toBe(false);
    const paths = (result.error?.issues ?? []).map((issue) => issue.path.join("."));
    // API errors for map keys name the map; zod names the key below it.
    expect(paths.some((p) => p.startsWith(asZodPath(spec.expectField)))).toBe(true);
  });

  it("explains a CEL-only rule in the words the API server uses", () => {
    const pinned = invalidSpecs.find((s) => s.name === "mode Pinned without pinned");
    const result = tenantPlacement.safeParse(pinned?.manifest);
    expect(result.error?.issues).toMatchObject([
      { path: ["spec", "tier", "pinned"], message: "pinned is required when mode is Pinned" },
    ]);
  });

  it("names the offending tag key", () => {
    const aws = invalidSpecs.find((s) => s.name === "tag key with the aws: prefix");
    const messages = tenantPlacement.safeParse(aws?.manifest).error?.issues.map((i) => i.message) ?? [];
    expect(messages).toContain(
      "tag keys must be at most 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit, without a prefix or '/' (e.g. team): each becomes the label tags.landlord.dev/<key>: aws:createdBy",
    );
  });
});

describe("tiers", () => {
  it("are ordered from cheapest to most isolated", () => {
    expect(TIERS).toEqual(["pooled", "namespace", "database", "account"]);
  });
});
