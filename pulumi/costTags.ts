import { CostAllocationTag } from "@pulumi/aws/costexplorer/costAllocationTag.js";
import { taggedProvider } from "./provider.ts";
import { COST_KEYS, MANAGED_BY_VALUE, REQUIRED_COST_KEYS } from "../operator/src/api/labels.ts";

/**
 * The platform stack that turns the cost keys into AWS cost allocation tags, so Cost Explorer and
 * budgets can group and filter by them. Run once, with the management (payer) account's
 * credentials. landlord.dev/pool is left out: only pooled tenants carry it and they own no AWS
 * resources, and AWS refuses to activate a key it has never seen on a resource.
 */

export interface CostTagsArgs {
  region: string;
}

/** Tags of the platform stack's own provider: it belongs to no tenant. */
export const PLATFORM_TAGS = { [COST_KEYS.managedBy]: MANAGED_BY_VALUE } as const;

export function costTagsProgram(args: CostTagsArgs): Record<string, unknown> {
  // Cost allocation tags carry no tags themselves; the provider keeps the defaultTags discipline anyway.
  const provider = taggedProvider("aws", { region: args.region, tags: { ...PLATFORM_TAGS } });
  const activated = REQUIRED_COST_KEYS.map(
    (key) => new CostAllocationTag(`cost-key-${key.replace(/[^A-Za-z0-9-]/g, "-")}`, { tagKey: key, status: "Active" }, { provider }),
  );
  return { activatedKeys: activated.map((tag) => tag.tagKey) };
}
