import { z } from "zod";
import { timestamp } from "./common.ts";
import { AGE_COLUMN, CATEGORIES, resource, type CrdDescriptor } from "./resource.ts";
import { immutable, listMap, matching, withRules } from "./rules.ts";

/**
 * CostReport: the record of one `landlord costs --record` run. Totals only — per-tenant figures go
 * onto each TenantPlacement as reported signals — so the object stays a few KiB however many
 * tenants there are. Immutable like PlacementDecision: it is evidence of what was charged.
 */

const cents = (what: string) => z.int().describe(`${what}, in integer cents of the report's currency, e.g. 1200000 for 12,000.00.`);
const fraction = (what: string) => z.number().min(0).max(1).describe(`${what}, a fraction 0..1, e.g. 0.42 for 42%.`);
const isoDate = withRules(z.string().length(10), matching(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "must be a date such as 2026-11-01"));
const USD_TEXT = /^-?\d+\.\d\d$/;

const total = z.strictObject({
  tenants: z.int().min(0).describe("Tenants in this group, e.g. 11."),
  costCents: cents("Cost allocated to the group"),
  revenueCents: cents("Monthly revenue the group's tenants report"),
});

export const MAX_REPORT_LINES = 128;

export const costReportSpec = withRules(
  z.strictObject({
    period: z
      .strictObject({
        start: isoDate.describe("First day of the billing period, e.g. 2026-11-01."),
        end: isoDate.describe("Day after the last day of the billing period (exclusive), e.g. 2026-12-01."),
      })
      .describe("The billing period the run charged."),
    basis: z.string().min(1).max(64).describe("Cost basis of the amounts, e.g. unblended, net or amortized."),
    currency: withRules(z.string().min(3).max(3), matching(/^[A-Z]{3}$/, "must be an ISO 4217 currency code such as USD")).describe(
      "ISO 4217 currency of every amount, e.g. USD.",
    ),
    inputs: z
      .array(
        z.strictObject({
          name: z.string().min(1).max(1024).describe("File, URL or flag the input came from, e.g. s3://billing/cur/2026-11/ or --pool-cost standard."),
          rows: z.int().min(0).describe("Data rows read from it, e.g. 48213."),
          sha256: withRules(z.string().length(64), matching(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256")).describe("sha256 of the input's bytes, hex."),
        }),
      )
      .max(64)
      .describe("Every input of the run, so the same figures can be reproduced and a changed bill is visible."),
    totals: z
      .strictObject({
        totalCents: cents("Sum of every input; equals tenantsCents + unallocatedCents"),
        totalUSD: withRules(z.string().max(24), matching(USD_TEXT, "must be an amount with two decimals such as 12000.00")).describe(
          "totalCents written as a decimal amount, e.g. 12000.00 (for kubectl get).",
        ),
        tenantsCents: cents("Cost allocated to tenants"),
        unallocatedCents: cents("Cost allocated to no tenant: shared platform cost, untagged rows, tags naming no known tenant"),
        revenueCents: cents("Sum of the tenants' monthly revenue signal"),
        byTier: listMap(
          z.array(total.extend({ tier: z.string().max(16).describe("Tier served from, e.g. pooled; empty for tenants not placed yet.") })).max(8),
          "tier",
        ).describe("Cost and revenue per tier."),
        byPool: listMap(
          z.array(total.extend({ pool: z.string().min(1).max(253).describe("TenantPool name, e.g. standard.") })).max(MAX_REPORT_LINES),
          "pool",
        ).describe("Cost and revenue of the pooled tenants per pool."),
      })
      .describe("Totals of the run. Per-tenant figures are on each TenantPlacement's reported signals, not here."),
    unallocated: z
      .array(
        z.strictObject({
          basis: z.string().min(1).max(1024).describe("Why it is no tenant's, e.g. untagged/shared AWS cost (3 rows)."),
          pool: z.string().max(253).optional().describe("The pool, for a pool's cost that no pooled tenant carries."),
          cents: cents("The amount"),
        }),
      )
      .max(MAX_REPORT_LINES)
      .describe("Shared and unallocated lines, largest first; beyond the limit the rest are summed into one line."),
    pareto: z
      .strictObject({
        tenants: z.int().min(0).describe("Tenants charged, e.g. 5000."),
        top1PctShare: fraction("Share of the tenants' cost carried by the costliest 1% of tenants (at least one)"),
        top10PctShare: fraction("Share of the tenants' cost carried by the costliest 10% of tenants (at least one)"),
      })
      .describe("How concentrated the cost is."),
    signals: z
      .strictObject({
        cost: z.string().max(63).describe("Signal the run wrote each tenant's monthly cost to, e.g. monthlyCostUSD."),
        share: z.string().max(63).describe("Signal of each tenant's cost share, e.g. costShare."),
        margin: z.string().max(63).describe("Signal of each tenant's margin (revenue minus cost), e.g. marginUSD."),
        revenue: z.string().max(63).describe("Signal the revenue was read from, e.g. monthlyRevenueUSD."),
        written: z.int().min(0).describe("TenantPlacements whose signals this run changed, e.g. 12."),
      })
      .optional()
      .describe("The reported signals the run wrote onto the TenantPlacements, when it wrote any."),
    actor: z.string().max(512).describe("Who ran it: the user the API server authenticated, e.g. system:serviceaccount:landlord-system:landlord-costs."),
    createdAt: timestamp.describe("When the run finished, RFC 3339."),
  }),
  immutable("CostReport spec is immutable: a report is a record of what was charged"),
);
export type CostReportSpec = z.output<typeof costReportSpec>;

export const costReportStatus = z.strictObject({}).describe("Unused: a CostReport is complete when created.");

export const costReport = resource({
  kind: "CostReport",
  description:
    "CostReport records one cost run (landlord costs --record): billing period, basis, inputs with their sha256, totals per tier and pool, unallocated lines, Pareto figures and who ran it. Immutable.",
  spec: costReportSpec.describe("The run's record. Immutable."),
  status: costReportStatus,
});
export type CostReport = z.output<typeof costReport>;

export const costReportCrd: CrdDescriptor = {
  kind: "CostReport",
  listKind: "CostReportList",
  plural: "costreports",
  singular: "costreport",
  shortNames: ["crep"],
  categories: CATEGORIES,
  scope: "Cluster",
  schema: costReport,
  printerColumns: [
    { name: "Period", type: "string", jsonPath: ".spec.period.start", description: "First day of the billing period." },
    { name: "Basis", type: "string", jsonPath: ".spec.basis", description: "Cost basis." },
    { name: "Total", type: "string", jsonPath: ".spec.totals.totalUSD", description: "Sum of every input." },
    { name: "Currency", type: "string", jsonPath: ".spec.currency", description: "Currency of the amounts." },
    { name: "Tenants", type: "integer", jsonPath: ".spec.pareto.tenants", description: "Tenants charged." },
    { name: "Top-10%", type: "number", jsonPath: ".spec.pareto.top10PctShare", description: "Share of cost carried by the costliest 10% of tenants." },
    { name: "Actor", type: "string", jsonPath: ".spec.actor", description: "Who ran it." },
    AGE_COLUMN,
  ],
};
