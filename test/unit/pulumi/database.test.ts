import { describe, expect, it } from "vitest";
import { DELETION_POLICIES } from "../../../operator/src/api/v1alpha1/index.ts";
import type { StackRequest } from "../../../operator/src/provision/port.ts";
import { BACKUP_RETENTION_DAYS } from "../../../pulumi/database.ts";
import { programFor } from "../../../pulumi/program.ts";
import { REQUIRED_COST_KEYS } from "../../../operator/src/api/labels.ts";
import { allKeys, cloudResources, only, providers, request, runProgram, type ProgramRun } from "./harness.ts";

const INSTANCE = "aws:rds/instance:Instance";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup";
const run = (overrides: Partial<StackRequest> = {}): Promise<ProgramRun> => runProgram(programFor(request(overrides)));

describe("database program", () => {
  it("tags every AWS resource it registers with every cost key, through its provider's defaultTags", async () => {
    const req = request({ aws: { region: "eu-west-1", vpcId: "vpc-123", subnetIds: ["subnet-a", "subnet-b"] } });
    const result = await runProgram(programFor(req));
    const resources = cloudResources(result);
    expect(resources.map((r) => r.type).sort()).toEqual([SECURITY_GROUP, INSTANCE, SUBNET_GROUP].sort());
    for (const resource of resources) {
      // An explicit provider on each resource: the default provider would carry no defaultTags.
      expect(resource.provider, `${resource.type} provider`).toBeTruthy();
      expect(result.providerTags(resource.provider)).toEqual(req.tags);
      expect(resource.tags).toEqual(req.tags);
      for (const key of REQUIRED_COST_KEYS) expect(resource.tags[key], `${resource.type} ${key}`).toBeTruthy();
      // Tags come only from defaultTags, so no resource can drift from them.
      expect(resource.inputs["tags"]).toBeUndefined();
    }
    expect(providers(result)).toHaveLength(1);
    expect(req.tags).toMatchObject({ "landlord.dev/tenant": "acme", "landlord.dev/tier": "database", team: "growth" });
  });

  it("creates an encrypted, deletion-protected instance with 7 days of backups, tags copied to snapshots and an RDS-managed password", async () => {
    const instance = only(await run(), INSTANCE).inputs;
    expect(instance).toMatchObject({
      storageEncrypted: true,
      deletionProtection: true,
      copyTagsToSnapshot: true,
      manageMasterUserPassword: true,
      publiclyAccessible: false,
      identifier: "landlord-acme",
      engine: "postgres",
      instanceClass: "db.t4g.medium",
      allocatedStorage: 50,
    });
    expect(instance["backupRetentionPeriod"]).toBeGreaterThanOrEqual(7);
    expect(BACKUP_RETENTION_DAYS).toBeGreaterThanOrEqual(7);
  });

  it("admits database clients only from the configured cluster CIDRs, on the engine port (issue 15)", async () => {
    const group = only(await run({ aws: { region: "eu-west-1", clientCidrs: ["10.0.0.0/19", "100.64.0.0/16"] } }), SECURITY_GROUP).inputs;
    expect(group["ingress"]).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/19", "100.64.0.0/16"] })]);
  });

  it("passes no password anywhere: no resource, provider or data source input names one", async () => {
    const result = await run({ aws: { region: "eu-west-1", subnetIds: ["subnet-a"] } });
    const keys = [...result.resources.flatMap((r) => allKeys(r.inputs)), ...result.calls.flatMap((c) => allKeys(c.inputs))];
    expect(keys).toContain("manageMasterUserPassword");
    expect(keys.filter((k) => /password|passwd|secret/i.test(k) && k !== "manageMasterUserPassword")).toEqual([]);
  });

  it.each([
    { policy: "Retain", retained: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "landlord-acme-final" },
    { policy: "Snapshot", retained: false, skipFinalSnapshot: false, finalSnapshotIdentifier: "landlord-acme-final" },
    { policy: "Delete", retained: false, skipFinalSnapshot: true, finalSnapshotIdentifier: undefined },
  ] as const)("deletionPolicy $policy: final snapshot $finalSnapshotIdentifier, retained on destroy: $retained", async (c) => {
    const result = await run({ deletionPolicy: c.policy, aws: { region: "eu-west-1", subnetIds: ["subnet-a"] } });
    const instance = only(result, INSTANCE);
    expect(instance.inputs["skipFinalSnapshot"]).toBe(c.skipFinalSnapshot);
    expect(instance.inputs["finalSnapshotIdentifier"]).toBe(c.finalSnapshotIdentifier);
    // What the instance stands on must outlive it too, or RDS would refuse the deletes.
    for (const resource of cloudResources(result)) expect(resource.retainOnDelete, resource.type).toBe(c.retained);
  });

  it("turns deletion protection off only for destroy's preparatory run, and never for Retain", async () => {
    for (const policy of DELETION_POLICIES) {
      const instance = only(await run({ deletionPolicy: policy, releasing: true }), INSTANCE);
      expect(instance.inputs["deletionProtection"], policy).toBe(policy === "Retain");
    }
  });

  it("uses the given subnets through a subnet group, else the RDS default subnet group of the default VPC", async () => {
    const withSubnets = await run({ aws: { region: "eu-west-1", vpcId: "vpc-123", subnetIds: ["subnet-a", "subnet-b"] } });
    const group = only(withSubnets, SUBNET_GROUP);
    expect(group.inputs).toMatchObject({ name: "landlord-acme", subnetIds: ["subnet-a", "subnet-b"] });
    expect(only(withSubnets, INSTANCE).inputs["dbSubnetGroupName"]).toBe("landlord-acme");
    expect(only(withSubnets, SECURITY_GROUP).inputs["vpcId"]).toBe("vpc-123");

    const defaults = await run();
    expect(defaults.resources.some((r) => r.type === SUBNET_GROUP)).toBe(false);
    expect(only(defaults, INSTANCE).inputs["dbSubnetGroupName"]).toBeUndefined();
    expect(defaults.calls).toEqual([expect.objectContaining({ token: "aws:ec2/getVpc:getVpc", inputs: { default: true } })]);
  });

  it.each([
    { engine: "postgres", port: 5432 },
    { engine: "mysql", port: 3306 },
  ] as const)("opens only the $engine port $port, only to the VPC", async ({ engine, port }) => {
    const result = await run({ database: { engine, instanceClass: "db.t4g.medium", allocatedStorageGB: 20, engineVersion: "8.0" } });
    const group = only(result, SECURITY_GROUP).inputs;
    expect(group["ingress"]).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["172.31.0.0/16"] })]);
    expect(group["egress"]).toBeUndefined();
    expect(only(result, INSTANCE).inputs).toMatchObject({ port, engine, engineVersion: "8.0" });
    expect(result.outputs["port"]).toBe(port);
  });

  it("outputs the endpoint address, port and the master secret's ARN, and nothing else", async () => {
    const { outputs } = await run();
    expect(outputs).toEqual({
      endpoint: "landlord-acme.planned.invalid",
      port: 5432,
      masterSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:eu-west-1:planned:secret:/),
    });
  });

  it("derives valid, deterministic RDS identifiers from any tenant id", async () => {
    const long = "a".repeat(30) + "-" + "b".repeat(23);
    const first = only(await run({ tenantId: long, tags: request({ tenantId: long }).tags }), INSTANCE).inputs;
    const again = only(await run({ tenantId: long, tags: request({ tenantId: long }).tags }), INSTANCE).inputs;
    expect(first["identifier"]).toBe(again["identifier"]);
    expect(first["identifier"]).toBe(`landlord-${long}`);
    expect(String(first["identifier"]).length).toBeLessThanOrEqual(63);
    expect(String(first["finalSnapshotIdentifier"])).toBe(`${String(first["identifier"])}-final`);
  });

  it("refuses, before Pulumi runs anything, tags that lack a cost key or name another tenant or tier", () => {
    const { "landlord.dev/cost-center": _dropped, ...missing } = request().tags;
    expect(() => programFor(request({ tags: missing }))).toThrow(/lack the required cost keys landlord\.dev\/cost-center/);
    expect(() => programFor(request({ tags: { ...request().tags, "landlord.dev/tenant": "other" } }))).toThrow(
      /tag landlord\.dev\/tenant is "other" but this is the database stack of tenant acme: expected "acme"/,
    );
    expect(() => programFor(request({ tags: { ...request().tags, "landlord.dev/tier": "account" } }))).toThrow(/expected "database"/);
    expect(() => programFor(request({ tags: { ...request().tags, "aws:createdBy": "me" } }))).toThrow(/aws:, which AWS reserves/);
  });
});
