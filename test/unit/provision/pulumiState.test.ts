import { describe, expect, it } from "vitest";
import { ProvisionError } from "../../../operator/src/provision/port.ts";
import { nameFromUrn, resourcesFromDeployment, stackOutputsFrom } from "../../../operator/src/provision/pulumiState.ts";

const urn = (type: string, name: string, parent = ""): string => `urn:pulumi:landlord-acme-database::landlord::${parent}${type}::${name}`;

/** The shape `pulumi stack export` writes (apitype.DeploymentV3), trimmed to what matters here. */
const deployment = {
  manifest: { time: "2026-11-23T10:00:00Z", magic: "x", version: "v3.248.0" },
  secrets_providers: { type: "passphrase", state: { salt: "v1:abc" } },
  resources: [
    { urn: urn("pulumi:pulumi:Stack", "landlord-landlord-acme-database"), custom: false, type: "pulumi:pulumi:Stack", outputs: {} },
    {
      urn: urn("pulumi:providers:aws", "acme"),
      custom: true,
      id: "4f2c",
      type: "pulumi:providers:aws",
      outputs: { region: "eu-west-1" },
    },
    { urn: urn("landlord:tenant:Database", "acme", "pulumi:pulumi:Stack$"), custom: false, type: "landlord:tenant:Database" },
    {
      urn: urn("aws:rds/instance:Instance", "acme", "pulumi:pulumi:Stack$landlord:tenant:Database$"),
      custom: true,
      id: "landlord-acme",
      type: "aws:rds/instance:Instance",
      outputs: {
        arn: "arn:aws:rds:eu-west-1:123456789012:db:landlord-acme",
        tags: {},
        tagsAll: { "landlord.dev/tenant": "acme", "landlord.dev/tier": "database" },
        masterUserSecrets: [{ secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1" }],
      },
    },
    {
      urn: urn("aws:rds/subnetGroup:SubnetGroup", "acme"),
      custom: true,
      id: "landlord-acme",
      type: "aws:rds/subnetGroup:SubnetGroup",
      // No tagsAll (an older provider): the resource's own tags stand in.
      outputs: { arn: "arn:aws:rds:eu-west-1:123456789012:subgrp:landlord-acme", tags: { "landlord.dev/tenant": "acme" } },
    },
    {
      urn: urn("aws:ec2/securityGroup:SecurityGroup", "acme"),
      custom: true,
      id: "sg-1",
      type: "aws:ec2/securityGroup:SecurityGroup",
      // A secret tag value is an encrypted envelope in the state: dropped, not decrypted or leaked.
      outputs: { tagsAll: { plain: "yes", hidden: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "AAAA" } } },
    },
    { urn: urn("aws:s3/bucket:Bucket", "old"), custom: true, id: "old", type: "aws:s3/bucket:Bucket", delete: true, outputs: {} },
  ],
};

describe("resourcesFromDeployment", () => {
  it("reports the cloud resources with their type, logical name, id, arn and merged tags", () => {
    expect(resourcesFromDeployment(deployment)).toEqual([
      {
        type: "aws:rds/instance:Instance",
        name: "acme",
        id: "landlord-acme",
        arn: "arn:aws:rds:eu-west-1:123456789012:db:landlord-acme",
        tags: { "landlord.dev/tenant": "acme", "landlord.dev/tier": "database" },
      },
      {
        type: "aws:rds/subnetGroup:SubnetGroup",
        name: "acme",
        id: "landlord-acme",
        arn: "arn:aws:rds:eu-west-1:123456789012:subgrp:landlord-acme",
        tags: { "landlord.dev/tenant": "acme" },
      },
      { type: "aws:ec2/securityGroup:SecurityGroup", name: "acme", id: "sg-1", tags: { plain: "yes" } },
    ]);
  });

  it("leaves out the stack, components, providers and resources pending deletion", () => {
    const types = resourcesFromDeployment(deployment).map((r) => r.type);
    expect(types).not.toContain("pulumi:pulumi:Stack");
    expect(types).not.toContain("landlord:tenant:Database");
    expect(types).not.toContain("pulumi:providers:aws");
    expect(types).not.toContain("aws:s3/bucket:Bucket");
  });

  it("reports no resources for a stack that has none yet", () => {
    expect(resourcesFromDeployment({ manifest: {} })).toEqual([]);
    expect(resourcesFromDeployment({ resources: null })).toEqual([]);
  });

  it("refuses something that is not a deployment with a ProgramError", () => {
    expect(() => resourcesFromDeployment({ resources: "nope" })).toThrow(ProvisionError);
    expect(() => resourcesFromDeployment(undefined)).toThrow(/not a Pulumi deployment/);
  });
});

describe("nameFromUrn", () => {
  it("takes everything after the type as the name, even when the name holds '::'", () => {
    expect(nameFromUrn(urn("aws:rds/instance:Instance", "acme"))).toBe("acme");
    expect(nameFromUrn(urn("aws:rds/instance:Instance", "a::b"))).toBe("a::b");
  });
});

describe("stackOutputsFrom", () => {
  const out = (value: unknown, secret = false) => ({ value, secret });

  it("reads the cut-over outputs, with the account id when there is one", () => {
    expect(
      stackOutputsFrom({ endpoint: out("acme.db.example"), port: out(5432), masterSecretArn: out("arn:secret", true), accountId: out("123456789012"), extra: out("x") }),
    ).toEqual({ endpoint: "acme.db.example", port: 5432, masterSecretArn: "arn:secret", accountId: "123456789012" });
  });

  it("accepts a port the engine reports as a string", () => {
    expect(stackOutputsFrom({ endpoint: out("e"), port: out("3306"), masterSecretArn: out("a") }).port).toBe(3306);
  });

  it("names what is missing, and the keys it got, without their values", () => {
    const failure = (() => {
      try {
        stackOutputsFrom({ endpoint: out("e"), password: out("hunter22", true) });
      } catch (error) {
        return error as ProvisionError;
      }
      throw new Error("expected a failure");
    })();
    expect(failure).toBeInstanceOf(ProvisionError);
    expect(failure.kind).toBe("ProgramError");
    expect(failure.message).toMatch(/port/);
    expect(failure.message).toMatch(/masterSecretArn/);
    expect(failure.message).toContain("[endpoint, password]");
    expect(failure.message).not.toContain("hunter22");
  });
});
