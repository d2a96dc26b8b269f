import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { examplesDir } from "../../operator/src/local/paths.ts";
import { invalidSpecs } from "../fixtures/invalidSpecs.ts";
import { k, kAsOperator, kFails, kJson } from "./cluster.ts";

describe("the Landlord CRDs on a real API server", () => {
  // The examples would otherwise be placed by the operator tests that share this cluster.
  afterAll(async () => {
    await k(["delete", "--ignore-not-found", "--wait=false", "-f", examplesDir]);
  });

  it("are established, in the landlord category, with short names", async () => {
    const crds = await kJson<{ items: { metadata: { name: string }; spec: { names: { categories?: string[]; shortNames?: string[] } } }[] }>([
      "get",
      "crd",
      "-l",
      "app.kubernetes.io/part-of=landlord",
    ]);
    const byName = new Map(crds.items.map((crd) => [crd.metadata.name, crd.spec.names]));
    expect([...byName.keys()].sort()).toEqual([
      "costreports.landlord.dev",
      "placementdecisions.landlord.dev",
      "placementpolicies.landlord.dev",
      "tenantplacements.landlord.dev",
      "tenantpools.landlord.dev",
    ]);
    for (const names of byName.values()) expect(names.categories).toContain("landlord");
    expect(byName.get("tenantplacements.landlord.dev")?.shortNames).toContain("tp");
    expect(byName.get("costreports.landlord.dev")?.shortNames).toContain("crep");
    await k(["get", "landlord"]);
  });

  it("teach the API through kubectl explain", async () => {
    const explained = await k(["explain", "tenantplacement.spec.tier"]);
    expect(explained).toMatch(/DESCRIPTION/);
    for (const field of ["mode", "pinned", "floor", "ceiling"]) expect(explained).toContain(field);
    // Every field printed by explain carries a description, not just a type.
    const fields = await k(["explain", "tenantplacement.spec", "--recursive=false"]);
    expect(fields).toMatch(/costCenter\s+<string>[^\n]*\n\s+\S/);
  });

  it("accept every example, applied the way a user does", async () => {
    const files = readdirSync(examplesDir).filter((file) => /\.ya?ml$/.test(file));
    expect(files.length).toBeGreaterThan(0);
    const applied = await k(["apply", "--server-side", "--field-manager=examples-test", "-f", examplesDir]);
    expect(applied).toMatch(/serverside-applied/);
    const pools = await kJson<{ items: unknown[] }>(["get", "tenantpools"]);
    expect(pools.items.length).toBeGreaterThan(0);
    // The API server fills defaults from the schema: a tenant that omits policyRef gets "default".
    const tenants = await kJson<{ items: { spec: { policyRef: string; tier: { mode: string } } }[] }>(["get", "tenantplacements"]);
    expect(tenants.items.length).toBeGreaterThan(0);
    for (const tenant of tenants.items) {
      expect(tenant.spec.policyRef).toBeTruthy();
      expect(tenant.spec.tier.mode).toMatch(/^(Auto|Pinned)$/);
    }
  });

  describe("reject bad specs with a message that names the field", () => {
    it.each(invalidSpecs.map((spec) => [spec.name, spec] as const))("%s", async (_name, spec) => {
      const stderr = await kFails(["create", "-f", "-"], JSON.stringify(spec.manifest));
      expect(stderr).toContain(spec.expectField);
      if (spec.expectMessage) expect(stderr).toContain(spec.expectMessage);
    });
  });

  it("keep tenantId immutable", async () => {
    const name = `immutable-${Date.now()}`;
    const tenant = {
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPlacement",
      metadata: { name },
      spec: { tenantId: name, costCenter: "cc-1" },
    };
    await k(["create", "-f", "-"], JSON.stringify(tenant));
    const stderr = await kFails(["patch", "tp", name, "--type=merge", "-p", JSON.stringify({ spec: { tenantId: "other" } })]);
    expect(stderr).toContain("spec.tenantId");
    await k(["delete", "tp", name]);
  });

  it("keep a PlacementDecision's spec immutable: it is an audit record", async () => {
    const name = `audit-${Date.now()}-0001`;
    const decision = {
      apiVersion: "landlord.dev/v1alpha1",
      kind: "PlacementDecision",
      metadata: { name, labels: { "landlord.dev/tenant": "audit" } },
      spec: {
        tenant: "audit",
        from: "pooled",
        to: "namespace",
        trigger: "Policy",
        signals: { monthlyRevenueUSD: 21000 },
        rule: "monthlyRevenueUSD >= 20000",
        policy: { name: "default", generation: 1 },
        requestedAt: new Date().toISOString(),
      },
    };
    // Created as the operator: the chart's admission policy lets nobody else record decisions.
    await kAsOperator(["create", "-f", "-"], JSON.stringify(decision));
    const stderr = await kFails(["patch", "pdec", name, "--type=merge", "-p", JSON.stringify({ spec: { to: "account" } })]);
    expect(stderr).toMatch(/immutable/);
    await k(["delete", "pdec", name, "--as=it-cleanup", "--as-group=system:masters", "--as-group=landlord-retention"]);
  });
});
