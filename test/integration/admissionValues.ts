/**
 * The chart's admission values the integration suite installs (globalSetup.ts): the default groups,
 * plus the suite's admin (system:masters, the kubeconfig every test's kubectl uses) as a platform
 * admin, approver and reporter of every signal, so the other test files keep driving tenants as
 * they do; personas.test.ts proves each persona with impersonated users who are not. Nobody is a
 * retention member by default: deleting a decision takes --as-group=landlord-retention.
 */
export const TEST_ADMISSION = {
  approverGroups: ["landlord-approvers", "system:masters"],
  platformAdminGroups: ["landlord-platform-admins", "system:masters"],
  reporters: [
    { signals: ["*"], groups: ["system:masters"] },
    { signals: ["monthlyRevenueUSD", "hipaa", "requestsPerDay"], groups: ["landlord-reporters"] },
    { signals: ["requestsPerDay"], serviceAccounts: ["landlord-it-usage/usage-exporter"] },
  ],
  retentionGroups: ["landlord-retention"],
} as const;
