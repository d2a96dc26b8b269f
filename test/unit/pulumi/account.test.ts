import { describe, expect, it } from "vitest";
import type { StackRequest } from "../../../operator/src/provision/port.ts";
import { DEFAULT_MONTHLY_BUDGET_USD } from "../../../pulumi/account.ts";
import { programFor } from "../../../pulumi/program.ts";
import { REQUIRED_COST_KEYS } from "../../../operator/src/api/labels.ts";
import { allKeys, cloudResources, only, providers, request, runProgram, type ProgramRun } from "./harness.ts";

const ACCOUNT = "aws:organizations/account:Account";
const BUDGET = "aws:budgets/budget:Budget";
const INSTANCE = "aws:rds/instance:Instance";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";

const accountRequest = (overrides: Partial<StackRequest> = {}): StackRequest =>
  request({ kind: "account", aws: { region: "eu-west-1", vpcId: "vpc-platform", subnetIds: ["subnet-platform"] }, ...overrides });
const run = (overrides: Partial<StackRequest> = {}): Promise<ProgramRun> => runProgram(programFor(accountRequest(overrides)));

describe("account program", () => {
  it("tags every AWS resource, in both accounts, with every cost key through its provider's defaultTags", async () => {
    const req = accountRequest();
    const result = await run();
    const resources = cloudResources(result);
    expect(resources.map((r) => r.type).sort()).toEqual([ACCOUNT, BUDGET, SECURITY_GROUP, INSTANCE].sort());
    for (const resource of resources) {
      expect(resource.provider, `${resource.type} provider`).toBeTruthy();
      expect(result.providerTags(resource.provider)).toEqual(req.tags);
      for (const key of REQUIRED_COST_KEYS) expect(resource.tags[key], `${resource.type} ${key}`).toBe(req.tags[key]);
      expect(resource.inputs["tags"]).toBeUndefined();
    }
    expect(req.tags["landlord.dev/tier"]).toBe("account");
    expect(providers(result).map((p) => p.name).sort()).toEqual(["management", "tenant-account"]);
  });

  it("creates the account in the OU with the request's email and role, and no IAM access to billing", async () => {
    const account = only(await run(), ACCOUNT).inputs;
    expect(account).toMatchObject({
      name: "landlord-acme",
      email: "aws+acme@example.com",
      parentId: "ou-ab12-cdef3456",
      roleName: "OrganizationAccountAccessRole",
      iamUserAccessToBilling: "DENY",
    });
  });

  it("places the tenant's RDS instance in the new account by assuming its role, in that account's default VPC", async () => {
    const result = await run();
    const tenant = providers(result).find((p) => p.name === "tenant-account")!;
    const accountId = only(result, ACCOUNT).id;
    expect(JSON.parse(String(tenant.inputs["assumeRoles"]))).toEqual([
      { roleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, sessionName: "landlord-acme" },
    ]);
    for (const type of [INSTANCE, SECURITY_GROUP]) expect(only(result, type).provider).toMatch(/::tenant-account::/);
    for (const type of [ACCOUNT, BUDGET]) expect(only(result, type).provider).toMatch(/::management::/);
    // The platform's VPC and subnets do not exist in the new account.
    expect(result.resources.some((r) => r.type === "aws:rds/subnetGroup:SubnetGroup")).toBe(false);
    expect(only(result, SECURITY_GROUP).inputs["vpcId"]).not.toBe("vpc-platform");
    expect(result.calls).toEqual([expect.objectContaining({ token: "aws:ec2/getVpc:getVpc", inputs: { default: true }, provider: expect.stringMatching(/::tenant-account::/) })]);
  });

  it("keeps the RDS guarantees inside the account: encryption, deletion protection, backups, tags on snapshots, managed password", async () => {
    const result = await run();
    const instance = only(result, INSTANCE).inputs;
    expect(instance).toMatchObject({ storageEncrypted: true, deletionProtection: true, copyTagsToSnapshot: true, manageMasterUserPassword: true });
    expect(instance["backupRetentionPeriod"]).toBeGreaterThanOrEqual(7);
    const keys = [...result.resources.flatMap((r) => allKeys(r.inputs)), ...result.calls.flatMap((c) => allKeys(c.inputs))];
    expect(keys.filter((k) => /password|passwd|secret/i.test(k) && k !== "manageMasterUserPassword")).toEqual([]);
  });

  it("budgets the tenant's monthly cost by its tenant tag, 1000 USD unless the policy says otherwise", async () => {
    const budget = only(await run(), BUDGET).inputs;
    expect(budget).toMatchObject({
      budgetType: "COST",
      timeUnit: "MONTHLY",
      limitUnit: "USD",
      limitAmount: String(DEFAULT_MONTHLY_BUDGET_USD),
      costFilters: [{ name: "TagKeyValue", values: ["user:landlord.dev/tenant$acme"] }],
    });
    expect(DEFAULT_MONTHLY_BUDGET_USD).toBe(1000);
    expect(budget["notifications"]).toEqual([
      expect.objectContaining({ threshold: 80, notificationType: "ACTUAL", subscriberEmailAddresses: ["aws+acme@example.com"] }),
      expect.objectContaining({ threshold: 100, notificationType: "FORECASTED" }),
    ]);

    const base = accountRequest().account!;
    const custom = only(await run({ account: { ...base, monthlyBudgetUSD: 25000 } }), BUDGET).inputs;
    expect(custom["limitAmount"]).toBe("25000");
  });

  it.each([
    { policy: "Retain", closeOnDeletion: false, accountRetained: true, instanceRetained: true, finalSnapshot: true },
    { policy: "Snapshot", closeOnDeletion: false, accountRetained: true, instanceRetained: false, finalSnapshot: true },
    { policy: "Delete", closeOnDeletion: true, accountRetained: false, instanceRetained: false, finalSnapshot: false },
  ] as const)(
    "deletionPolicy $policy: closeOnDeletion $closeOnDeletion, account kept $accountRetained, instance kept $instanceRetained",
    async (c) => {
      const result = await run({ deletionPolicy: c.policy });
      const account = only(result, ACCOUNT);
      expect(account.inputs["closeOnDeletion"]).toBe(c.closeOnDeletion);
      expect(account.retainOnDelete).toBe(c.accountRetained);
      expect(only(result, BUDGET).retainOnDelete).toBe(c.accountRetained);
      const instance = only(result, INSTANCE);
      expect(instance.retainOnDelete).toBe(c.instanceRetained);
      expect(instance.inputs["skipFinalSnapshot"]).toBe(!c.finalSnapshot);
      expect(instance.inputs["finalSnapshotIdentifier"]).toBe(c.finalSnapshot ? "landlord-acme-final" : undefined);
    },
  );

  it("outputs the endpoint, port, master secret ARN and the new account's id", async () => {
    const result = await run();
    expect(result.outputs).toEqual({
      endpoint: "landlord-acme.planned.invalid",
      port: 5432,
      masterSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:/),
      accountId: only(result, ACCOUNT).id,
    });
  });

  it("names the account within the 50 characters AWS allows, deterministically", async () => {
    const tenantId = "t".repeat(54);
    const req = accountRequest({ tenantId, tags: request({ tenantId, kind: "account" }).tags, account: { ...accountRequest().account!, email: "aws+t@example.com" } });
    const name = String(only(await runProgram(programFor(req)), ACCOUNT).inputs["name"]);
    expect(name.length).toBeLessThanOrEqual(50);
    expect(name).toMatch(/^landlord-t+-[0-9a-f]{8}$/);
  });

  it("refuses an account stack without account settings", () => {
    const { account: _none, ...rest } = accountRequest();
    expect(() => programFor(rest)).toThrow(/account stack of tenant acme has no account settings/);
  });
});
