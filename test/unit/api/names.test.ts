import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tenantPlacementSpec } from "../../../operator/src/api/v1alpha1/index.ts";
import { ACCOUNT_NAME_MAX, awsDisplayName, awsName, AwsNameError, dnsLabelName, shortenWithHash, tenantNamespace } from "../../../operator/src/api/names.ts";

/** RDS DB instance identifiers: a letter first, letters, digits and single hyphens, no trailing hyphen. */
const RDS_IDENTIFIER = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Any string over the DNS alphabet that the TenantPlacement schema accepts as a tenant id. */
const tenantId = fc
  .string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), minLength: 1, maxLength: 64 })
  .filter((id) => tenantPlacementSpec.shape.tenantId.safeParse(id).success);

describe("awsName", () => {
  it("is landlord-<tenant>[-suffix], verbatim", () => {
    expect(awsName("acme")).toBe("landlord-acme");
    expect(awsName("acme", { suffix: "db" })).toBe("landlord-acme-db");
    expect(awsName("a".repeat(54))).toBe(`landlord-${"a".repeat(54)}`);
  });

  it("refuses ids it could only shorten or repair (the collision of acme--corp with acme-corp-<hash>)", () => {
    expect(() => awsName("acme--corp")).toThrow(AwsNameError);
    expect(() => awsName("a".repeat(55))).toThrow(/at most 63/);
    expect(() => awsName("acme-")).toThrow(AwsNameError);
  });

  it("gives every tenant id the schema accepts a valid, distinct RDS identifier and tenant namespace", () => {
    fc.assert(
      fc.property(tenantId, tenantId, (a, b) => {
        const id = awsName(a);
        expect(id).toMatch(RDS_IDENTIFIER);
        expect(id.length).toBeLessThanOrEqual(63);
        expect(tenantNamespace(a)).toBe(`tenant-${a}`);
        expect(tenantNamespace(a).length).toBeLessThanOrEqual(63);
        expect(awsDisplayName(a, ACCOUNT_NAME_MAX).length).toBeLessThanOrEqual(ACCOUNT_NAME_MAX);
        if (a !== b) {
          expect(awsName(b)).not.toBe(id);
          expect(tenantNamespace(b)).not.toBe(tenantNamespace(a));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("the schema refuses the ids that collided before", () => {
    for (const id of ["acme--corp", "a".repeat(55), `${"a".repeat(47)}-deadbeef0`]) {
      expect(tenantPlacementSpec.shape.tenantId.safeParse(id).success, id).toBe(false);
    }
  });
});

describe("shortened names (dnsLabelName, awsDisplayName, label values)", () => {
  it("keep a name that fits, and shorten a longer one to a readable prefix and a hash of the whole", () => {
    expect(dnsLabelName("a".repeat(63))).toBe("a".repeat(63));
    expect(dnsLabelName(`${"a".repeat(54)}-b-${"c".repeat(20)}`)).toMatch(/^a{54}-[0-9a-f]{8}$/);
    expect(awsDisplayName("a".repeat(50), ACCOUNT_NAME_MAX)).toMatch(/^landlord-a{32}-[0-9a-f]{8}$/);
    expect(shortenWithHash("@@", 63, "x y")).toMatch(/^[0-9a-f]{8}$/);
  });

  it("are DNS labels, stable, and distinct for distinct names", () => {
    const name = fc.string({ unit: fc.constantFrom(..."abc-"), minLength: 64, maxLength: 120 }).map((s) => `a${s}a`);
    fc.assert(
      fc.property(name, name, (a, b) => {
        const short = dnsLabelName(a);
        expect(short.length).toBeLessThanOrEqual(63);
        expect(short).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        expect(dnsLabelName(a)).toBe(short);
        if (a !== b) expect(dnsLabelName(b)).not.toBe(short);
      }),
      { numRuns: 300 },
    );
  });
});
