import { describe, expect, it } from "vitest";
import { parseEgressAllowance } from "../../../operator/src/config.ts";
import { cidrContains, egressPolicy } from "../../../operator/src/controller/egress.ts";
import { namespaceTierObjects, shardObjects } from "../../../operator/src/controller/children.ts";
import { parseConfig } from "../../../operator/src/config.ts";

describe("egress (issue 15, item 7)", () => {
  it("parses CIDR[:port] allowances and refuses anything else with one line", () => {
    expect(parseEgressAllowance("10.0.32.0/20:5432")).toEqual({ cidr: "10.0.32.0/20", port: 5432 });
    expect(parseEgressAllowance("0.0.0.0/0")).toEqual({ cidr: "0.0.0.0/0" });
    for (const bad of ["10.0.0.0", "300.0.0.0/8", "10.0.0.0/33", "10.0.0.0/8:0", "10.0.0.0/8:x", "fd00::/8"]) {
      expect(() => parseEgressAllowance(bad), bad).toThrow(/invalid egress allowance/);
    }
  });

  it("never lets an allowance reach the instance metadata service", () => {
    expect(cidrContains("0.0.0.0/0", "169.254.169.254/32")).toBe(true);
    expect(cidrContains("10.0.0.0/8", "169.254.169.254/32")).toBe(false);
    const policy = egressPolicy("ns", {}, [{ cidr: "0.0.0.0/0", port: 443 }, { cidr: "10.0.0.0/16", port: 5432 }]);
    const rules = (policy.spec as { egress: Array<{ to: Array<{ ipBlock?: { cidr: string; except?: string[] } }> }> }).egress;
    expect(rules[2]?.to[0]?.ipBlock).toEqual({ cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] });
    expect(rules[3]?.to[0]?.ipBlock).toEqual({ cidr: "10.0.0.0/16" });
  });

  it("denies egress by default in tenant namespaces and pool shards: own pods and DNS only", () => {
    const tenantPolicy = namespaceTierObjects({ tenant: { tenantId: "acme", costCenter: "cc" }, quota: {} }).find((o) => o.metadata.name === "landlord-egress");
    const shardPolicy = shardObjects({ pool: "p", index: 1, namespace: "p-1", quota: {}, members: [] }).find((o) => o.metadata.name === "landlord-egress");
    for (const policy of [tenantPolicy, shardPolicy]) {
      expect(policy?.spec).toMatchObject({ podSelector: {}, policyTypes: ["Egress"] });
      expect((policy?.spec as { egress: unknown[] }).egress).toHaveLength(2);
    }
  });

  it("is configured by --egress-allow and the database by --aws-client-cidrs", () => {
    const deps = { hostname: () => "h", suffix: () => "s" };
    const parsed = parseConfig(["--egress-allow", "10.0.32.0/20:5432,10.1.0.0/16", "--aws-client-cidrs", "10.0.0.0/19"], {}, deps);
    expect(parsed.ok && parsed.config.egressAllow).toEqual([{ cidr: "10.0.32.0/20", port: 5432 }, { cidr: "10.1.0.0/16" }]);
    expect(parsed.ok && parsed.config.awsClientCidrs).toEqual(["10.0.0.0/19"]);
    expect(parseConfig([], {}, deps)).toMatchObject({ ok: true, config: { egressAllow: [] } });
    const bad = parseConfig(["--egress-allow", "everywhere"], {}, deps);
    expect(bad.ok ? "" : bad.error).toMatch(/^--egress-allow: expected .* got/);
  });
});
