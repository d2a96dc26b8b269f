import { describe, expect, it } from "vitest";
import { wantsPoolSeat } from "../../../operator/src/controller/poolRegistry.ts";

describe("wantsPoolSeat", () => {
  it("keeps the seat of a tenant moving out until it is served elsewhere", () => {
    expect(wantsPoolSeat({ deleting: false, servedTier: "pooled", targetTier: "namespace" })).toBe(true);
    expect(wantsPoolSeat({ deleting: false, servedTier: "namespace", targetTier: undefined })).toBe(false);
  });
  it("seats a tenant moving in, a settled pooled tenant, and never a deleting one", () => {
    expect(wantsPoolSeat({ deleting: false, servedTier: "namespace", targetTier: "pooled" })).toBe(true);
    expect(wantsPoolSeat({ deleting: false, servedTier: undefined, targetTier: "pooled" })).toBe(true);
    expect(wantsPoolSeat({ deleting: false, servedTier: "pooled", targetTier: undefined })).toBe(true);
    expect(wantsPoolSeat({ deleting: true, servedTier: "pooled", targetTier: undefined })).toBe(false);
  });
});
