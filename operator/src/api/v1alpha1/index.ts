import { costReportCrd } from "./costReport.ts";
import { placementDecisionCrd } from "./placementDecision.ts";
import { placementPolicyCrd } from "./placementPolicy.ts";
import type { CrdDescriptor } from "./resource.ts";
import { tenantPlacementCrd } from "./tenantPlacement.ts";
import { tenantPoolCrd } from "./tenantPool.ts";

export * from "./common.ts";
export * from "./resource.ts";
export type { CelRule } from "./rules.ts";
export {
  tenantPlacement,
  tenantPlacementSpec,
  tenantPlacementStatus,
  tenantPlacementCrd,
  TIER_MODES,
  DELETION_POLICIES,
  PHASES,
  ADMIN_KINDS,
  type Phase,
  type TenantPlacement,
  type TenantPlacementInput,
  type TenantPlacementSpec,
  type TenantPlacementStatus,
} from "./tenantPlacement.ts";
export {
  tenantPool,
  tenantPoolSpec,
  tenantPoolStatus,
  tenantPoolCrd,
  MAX_NAMESPACE_PREFIX,
  MAX_LISTED_UNSEATABLE,
  MAX_UNSEATABLE_REASON,
  type TenantPool,
  type TenantPoolInput,
  type TenantPoolSpec,
  type TenantPoolStatus,
} from "./tenantPool.ts";
export {
  placementPolicy,
  placementPolicySpec,
  placementPolicyStatus,
  placementPolicyCrd,
  conditionsOf,
  APPROVAL_MODES,
  DATABASE_ENGINES,
  type PlacementPolicy,
  type PlacementPolicyInput,
  type PlacementPolicySpec,
  type PlacementPolicyStatus,
  type PolicyCondition,
  type TierRule,
  type When,
} from "./placementPolicy.ts";
export {
  placementDecision,
  placementDecisionSpec,
  placementDecisionStatus,
  placementDecisionCrd,
  TRIGGERS,
  OUTCOMES,
  STEP_OUTCOMES,
  TENANT_LABEL,
  type Trigger,
  type PlacementDecision,
  type PlacementDecisionInput,
  type PlacementDecisionSpec,
  type PlacementDecisionStatus,
} from "./placementDecision.ts";

export {
  costReport,
  costReportSpec,
  costReportCrd,
  MAX_REPORT_LINES,
  type CostReport,
  type CostReportSpec,
} from "./costReport.ts";

/** Every kind of the API, in the order the generator writes them. */
export const CRDS: readonly CrdDescriptor[] = [tenantPlacementCrd, tenantPoolCrd, placementPolicyCrd, placementDecisionCrd, costReportCrd];
