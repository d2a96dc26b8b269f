import * as pulumi from "@pulumi/pulumi";
import { Budget } from "@pulumi/aws/budgets/budget.js";
import { Account } from "@pulumi/aws/organizations/account.js";
import type { StackRequest } from "../operator/src/provision/port.ts";
import { databaseArgs, tenantDatabase } from "./database.ts";
import { ACCOUNT_NAME_MAX, awsDisplayName, awsName, SESSION_NAME_MAX } from "../operator/src/api/names.ts";
import { taggedProvider } from "./provider.ts";
import { checkStackTags } from "./stackTags.ts";
import { COST_KEYS } from "../operator/src/api/labels.ts";

/**
 * The account stack: a dedicated AWS account in the organization, a monthly budget on the tenant's
 * spend, and the tenant's RDS instance inside that account. Runs with the management account's
 * credentials and reaches the new account by assuming its organization role.
 */

export const DEFAULT_MONTHLY_BUDGET_USD = 1000;
/** Budget alerts: share of the limit, and whether actual or forecast spend crossed it. */
export const BUDGET_ALERTS = [
  { threshold: 80, notificationType: "ACTUAL" },
  { threshold: 100, notificationType: "FORECASTED" },
] as const;

/** Value of a budget's TagKeyValue cost filter: user-defined tag key, "$", value. */
export const tenantBudgetFilter = (tenantId: string): string => `user:${COST_KEYS.tenant}$${tenantId}`;

/** The role in the new account the operator assumes (AWS partition only; GovCloud and China use other ARNs). */
export const tenantRoleArn = (accountId: pulumi.Input<string>, roleName: string): pulumi.Output<string> =>
  pulumi.interpolate`arn:aws:iam::${accountId}:role/${roleName}`;

export function accountProgram(request: StackRequest): Record<string, unknown> {
  checkStackTags(request);
  const settings = accountSettingsOf(request);
  const management = taggedProvider("management", { region: request.aws.region, tags: request.tags });
  // Retain and Snapshot keep the account: closing one is limited (10% of members per 30 days) and
  // removing a new account from the organization fails for 7 days; a Snapshot's final snapshot lives in it.
  const keepAccount = request.deletionPolicy !== "Delete";
  const keep: pulumi.CustomResourceOptions = keepAccount ? { retainOnDelete: true } : {};

  const account = new Account(
    "account",
    {
      name: awsDisplayName(request.tenantId, ACCOUNT_NAME_MAX),
      email: settings.email,
      parentId: settings.organizationalUnitId,
      roleName: settings.roleName,
      iamUserAccessToBilling: "DENY",
      closeOnDeletion: request.deletionPolicy === "Delete",
    },
    { provider: management, ...keep },
  );

  const budgetUSD = settings.monthlyBudgetUSD ?? DEFAULT_MONTHLY_BUDGET_USD;
  new Budget(
    "budget",
    {
      name: awsName(request.tenantId, { suffix: "monthly", max: 100 }),
      budgetType: "COST",
      limitAmount: String(budgetUSD),
      limitUnit: "USD",
      timeUnit: "MONTHLY",
      costFilters: [{ name: "TagKeyValue", values: [tenantBudgetFilter(request.tenantId)] }],
      notifications: BUDGET_ALERTS.map((alert) => ({
        comparisonOperator: "GREATER_THAN",
        threshold: alert.threshold,
        thresholdType: "PERCENTAGE",
        notificationType: alert.notificationType,
        subscriberEmailAddresses: [settings.email],
      })),
    },
    { provider: management, ...keep },
  );

  const tenant = taggedProvider("tenant-account", {
    region: request.aws.region,
    tags: request.tags,
    assumeRole: {
      roleArn: tenantRoleArn(account.id, settings.roleName),
      sessionName: awsName(request.tenantId, { max: SESSION_NAME_MAX }),
    },
  });
  // The platform's VPC and subnets do not exist in the new account: its default VPC serves.
  const { vpcId: _vpc, subnetIds: _subnets, ...args } = databaseArgs(request);
  const { outputs } = tenantDatabase(args, tenant);
  return { ...outputs, accountId: account.id };
}

function accountSettingsOf(request: StackRequest): NonNullable<StackRequest["account"]> {
  if (!request.account) {
    throw new Error(
      `the account stack of tenant ${request.tenantId} has no account settings: give the policy's account tier an account block (organizationalUnitId, emailTemplate)`,
    );
  }
  return request.account;
}
