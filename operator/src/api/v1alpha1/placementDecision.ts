import { z } from "zod";
import { COST_KEYS } from "../labels.ts";
import { dnsLabel, signalMap, tier, timestamp } from "./common.ts";
import { AGE_COLUMN, CATEGORIES, resource, type CrdDescriptor } from "./resource.ts";
import { immutable, withRules } from "./rules.ts";

export const TRIGGERS = ["Policy", "Pinned", "Manual", "Floor", "Ceiling"] as const;
export type Trigger = (typeof TRIGGERS)[number];
export const OUTCOMES = ["Succeeded", "Failed", "RolledBack"] as const;
export const STEP_OUTCOMES = ["Succeeded", "Failed", "Skipped"] as const;

/** Label that lists a tenant's history: kubectl get pdec -l landlord.dev/tenant=acme. */
export const TENANT_LABEL = COST_KEYS.tenant;

export const placementDecisionSpec = withRules(
  z.strictObject({
    tenant: dnsLabel.describe("Tenant id (TenantPlacement name) this decision is about, e.g. acme."),
    from: tier.optional().describe("Tier the tenant was served from, e.g. pooled; absent for the first placement."),
    to: tier.describe("Tier the tenant is moved to, e.g. namespace."),
    trigger: z
      .enum(TRIGGERS)
      .describe(
        "What caused the move: Policy (a threshold held), Pinned (spec.tier.mode Pinned), Manual (an approval annotation), Floor or Ceiling (spec.tier limits changed).",
      ),
    signals: signalMap(128, "Signal value at decision time, e.g. 21000.")
      .optional()
      .describe("Snapshot of the signal values the decision was based on, e.g. {monthlyRevenueUSD: 21000}."),
    rule: z
      .string()
      .max(1024)
      .optional()
      .describe("The policy rule that matched, e.g. namespace.promoteWhen.any[0]: monthlyRevenueUSD >= 20000."),
    policy: z
      .strictObject({
        name: z.string().min(1).max(253).describe("PlacementPolicy name, e.g. default."),
        generation: z.int().min(0).describe("metadata.generation of the policy when it decided, e.g. 4."),
      })
      .optional()
      .describe("The PlacementPolicy, and the version of it, that made the decision."),
    approval: z
      .strictObject({
        annotation: z.string().max(63).describe("Value of the landlord.dev/approve-tier annotation, e.g. namespace."),
      })
      .optional()
      .describe("The manual approval the move waited for, if any; actor and reason say who gave it and why."),
    actor: z
      .string()
      .max(253)
      .optional()
      .describe(
        "The authenticated user whose approval (Manual) or spec.tier change (Pinned, Floor, Ceiling) caused the move, as the API server stamped it (landlord.dev/approved-by or landlord.dev/tier-changed-by), e.g. alice@example.com. Absent when the policy moved the tenant on its own.",
      ),
    reason: z
      .string()
      .max(1024)
      .optional()
      .describe("Why, in that person's words (landlord.dev/approve-reason or landlord.dev/tier-reason), e.g. CHG-1234 contract ended."),
    previous: z
      .strictObject({
        name: z.string().min(1).max(253).describe("The tenant's decision before this one, e.g. acme-0002."),
        digest: z
          .string()
          .max(71)
          .regex(/^sha256:[0-9a-f]{64}$/)
          .describe("sha256 of the canonical JSON of that decision's name and spec, e.g. sha256:9f86d0…"),
        outcome: z.enum(OUTCOMES).optional().describe("That decision's final outcome when this one was recorded, e.g. Succeeded."),
      })
      .optional()
      .describe("The link of the tenant's hash chain of decisions; absent on its first decision. `landlord audit verify` walks it."),
    requestedAt: timestamp.describe("When the move was decided, RFC 3339, e.g. 2025-01-31T12:00:00Z."),
  }),
  immutable("PlacementDecision spec is immutable: decisions are an audit record"),
);
export type PlacementDecisionSpec = z.output<typeof placementDecisionSpec>;

export const step = z.strictObject({
  name: z.string().min(1).max(63).describe("Step name, e.g. Provisioning, Migrating or CuttingOver."),
  startedAt: timestamp.describe("When the step started, RFC 3339."),
  finishedAt: timestamp.optional().describe("When the step finished, RFC 3339; absent while it runs."),
  outcome: z.enum(STEP_OUTCOMES).optional().describe("Succeeded, Failed or Skipped; absent while the step runs."),
  message: z.string().max(4096).optional().describe("Details, e.g. pulumi up: 3 created."),
});

export const placementDecisionStatus = z.strictObject({
  outcome: z
    .enum(OUTCOMES)
    .optional()
    .describe("How the move ended: Succeeded, Failed or RolledBack (the tenant stayed where it was); absent while it runs."),
  steps: z.array(step).max(32).optional().describe("The steps of the move, in order, with timestamps."),
  error: z.string().max(32768).optional().describe("Why the move failed, e.g. RDS instance creation timed out."),
});
export type PlacementDecisionStatus = z.output<typeof placementDecisionStatus>;

export const placementDecision = resource({
  kind: "PlacementDecision",
  description:
    "PlacementDecision records one placement move of a tenant (or a refused one): what, when, why, on which signals, approved by whom. Immutable audit record, named <tenant>-<sequence>.",
  spec: placementDecisionSpec.describe("The decision. Immutable."),
  status: placementDecisionStatus.describe("Progress and outcome of the move, written by the operator."),
});
export type PlacementDecision = z.output<typeof placementDecision>;
export type PlacementDecisionInput = z.input<typeof placementDecision>;

export const placementDecisionCrd: CrdDescriptor = {
  kind: "PlacementDecision",
  listKind: "PlacementDecisionList",
  plural: "placementdecisions",
  singular: "placementdecision",
  shortNames: ["pdec"],
  categories: CATEGORIES,
  scope: "Cluster",
  schema: placementDecision,
  printerColumns: [
    { name: "Tenant", type: "string", jsonPath: ".spec.tenant", description: "Tenant the decision is about." },
    { name: "From", type: "string", jsonPath: ".spec.from", description: "Tier before the move." },
    { name: "To", type: "string", jsonPath: ".spec.to", description: "Tier after the move." },
    { name: "Trigger", type: "string", jsonPath: ".spec.trigger", description: "What caused the move." },
    { name: "Outcome", type: "string", jsonPath: ".status.outcome", description: "How the move ended." },
    { name: "Actor", type: "string", jsonPath: ".spec.actor", description: "Who approved or changed spec.tier, as the API server authenticated them." },
    { name: "Reason", type: "string", jsonPath: ".spec.reason", description: "Why, in their words.", priority: 1 },
    {
      name: "Rule",
      type: "string",
      jsonPath: ".spec.rule",
      description: "The policy rule that matched.",
      priority: 1,
    },
    AGE_COLUMN,
  ],
};
