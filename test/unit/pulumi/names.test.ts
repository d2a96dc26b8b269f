import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DNS_LABEL } from "../../../operator/src/api/v1alpha1/index.ts";
import { ACCOUNT_NAME_MAX, awsName } from "../../../pulumi/names.ts";

/** RDS DB instance identifiers: a letter first, letters, digits and single hyphens, no trailing hyphen. */
const RDS_IDENTIFIER = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const tenantId = fc
  .string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), minLength: 1, maxLength: 63 })
  .filter((id) => DNS_LABEL.test(id));

describe("awsName", () => {
  it("is landlord-<tenant> when that is already a valid identifier", () => {
    expect(awsName("acme")).toBe("landlord-acme");
    expect(awsName("acme", { suffix: "db" })).toBe("landlord-acme-db");
  });

  it("shortens long names and repairs double hyphens, ending in a hash of the original", () => {
    expect(awsName("a".repeat(63))).toMatch(/^landlord-a{45}-[0-9a-f]{8}$/);
    expect(awsName("a--b")).toMatch(/^landlord-a-b-[0-9a-f]{8}$/);
    expect(awsName("a--b")).not.toBe(awsName("a-b"));
  });

  it("gives every DNS-1123 tenant id a valid RDS identifier and account name, deterministic and distinct per tenant", () => {
    fc.assert(
      fc.property(tenantId, tenantId, (a, b) => {
        const id = awsName(a);
        expect(id).toMatch(RDS_IDENTIFIER);
        expect(id.length).toBeLessThanOrEqual(63);
        expect(awsName(a)).toBe(id);
        expect(awsName(a, { max: ACCOUNT_NAME_MAX }).length).toBeLessThanOrEqual(ACCOUNT_NAME_MAX);
        if (a !== b) expect(awsName(b)).not.toBe(id);
      }),
      { numRuns: 1000 },
    );
  });
});
