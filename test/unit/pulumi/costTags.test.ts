import { describe, expect, it } from "vitest";
import { costTagsProgram, PLATFORM_TAGS } from "../../../pulumi/costTags.ts";
import { COST_KEYS, REQUIRED_COST_KEYS } from "../../../operator/src/api/labels.ts";
import { cloudResources, providers, runProgram } from "./harness.ts";

describe("cost allocation tags program", () => {
  it("activates each required cost key as an AWS cost allocation tag, through a provider with the platform's defaultTags", async () => {
    const result = await runProgram(() => costTagsProgram({ region: "us-east-1" }));
    const activated = cloudResources(result);
    expect(activated.map((r) => r.inputs)).toEqual(REQUIRED_COST_KEYS.map((tagKey) => ({ tagKey, status: "Active" })));
    expect(activated.every((r) => r.type === "aws:costexplorer/costAllocationTag:CostAllocationTag")).toBe(true);
    const [provider] = providers(result);
    expect(providers(result)).toHaveLength(1);
    for (const resource of activated) expect(result.providerTags(resource.provider)).toEqual(PLATFORM_TAGS);
    expect(provider?.inputs["region"]).toBe("us-east-1");
    expect(result.outputs["activatedKeys"]).toEqual([...REQUIRED_COST_KEYS]);
  });

  it("leaves landlord.dev/pool out: no AWS resource carries it, and AWS refuses to activate an unseen key", async () => {
    const result = await runProgram(() => costTagsProgram({ region: "us-east-1" }));
    expect(cloudResources(result).map((r) => r.inputs["tagKey"])).not.toContain(COST_KEYS.pool);
  });
});
