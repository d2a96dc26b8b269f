import type { MockCallArgs, MockCallResult, MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime/mocks.js";

/**
 * Pulumi mocks that answer like AWS would, with values that cannot be mistaken for real ones
 * (".planned.invalid" hosts, "planned" in place of account ids), and record every registration.
 * Type-only import of @pulumi/pulumi: this file is loaded with the plan adapter, Pulumi itself
 * only on the first plan.
 */

const PROVIDER_TYPE_PREFIX = "pulumi:providers:";
/** An AWS account id stand-in in planned ARNs. */
export const PLANNED_ACCOUNT = "planned";
export const PLANNED_DOMAIN = "planned.invalid";
/** The CIDR a planned VPC answers with (the default VPC's usual one). */
export const PLANNED_VPC_CIDR = "172.31.0.0/16";

export interface RecordedResource {
  type: string;
  name: string;
  id: string;
  arn?: string;
  /** Whether a provider plugin manages it (false for component resources such as the stack). */
  custom: boolean;
  /** Reference of the provider the resource was registered with (`<urn>::<id>`), if any. */
  provider?: string;
  /** Inputs as the program gave them (after Pulumi's serialization). */
  inputs: Record<string, unknown>;
  /**
   * The provider's defaultTags merged with the resource's own tags (the resource's win, as in the
   * AWS provider). Every type the tenant programs create is taggable; for one that is not (a cost
   * allocation tag) this is what its provider would have applied.
   */
  tags: Record<string, string>;
}

export interface RecordedCall {
  token: string;
  inputs: Record<string, unknown>;
  provider?: string;
}

export class PlanRecorder implements Mocks {
  readonly resources: RecordedResource[] = [];
  readonly calls: RecordedCall[] = [];
  /** Provider id → its defaultTags; a resource's provider reference ends in that id. */
  private readonly providerTags = new Map<string, Record<string, string>>();

  constructor(private readonly region: string) {}

  newResource(args: MockResourceArgs): MockResourceResult {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    const planned = plannedState(args.type, args.name, inputs, this.region);
    if (args.type.startsWith(PROVIDER_TYPE_PREFIX)) this.providerTags.set(planned.id, defaultTagsOf(inputs));
    const tags = { ...this.tagsOfProvider(args.provider), ...stringRecord(inputs["tags"]) };
    const arn = typeof planned.state["arn"] === "string" ? planned.state["arn"] : undefined;
    this.resources.push({
      type: args.type,
      name: args.name,
      id: planned.id,
      ...(arn ? { arn } : {}),
      custom: args.custom ?? true,
      ...(args.provider ? { provider: args.provider } : {}),
      inputs,
      tags,
    });
    // Under mocks the provider does not merge defaultTags into tagsAll: do it here, as AWS would.
    return { id: planned.id, state: { ...inputs, ...planned.state, tagsAll: tags } };
  }

  call(args: MockCallArgs): MockCallResult {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    this.calls.push({ token: args.token, inputs, ...(args.provider ? { provider: args.provider } : {}) });
    switch (args.token) {
      case "aws:ec2/getVpc:getVpc": {
        const id = typeof inputs["id"] === "string" ? inputs["id"] : "vpc-planned-default";
        return { id, cidrBlock: PLANNED_VPC_CIDR, default: inputs["id"] === undefined, arn: arn("ec2", this.region, `vpc/${id}`) };
      }
      default:
        throw new Error(
          `the plan provisioner has no answer for the data source ${args.token}: add one to PlanRecorder.call in operator/src/provision/planMocks.ts`,
        );
    }
  }

  /** The defaultTags of the provider a resource was registered with ({} for the default provider). */
  tagsOfProvider(reference: string | undefined): Record<string, string> {
    if (!reference) return {};
    const id = reference.slice(reference.lastIndexOf("::") + 2);
    return this.providerTags.get(id) ?? {};
  }
}

/** Providers receive object inputs JSON-encoded; accept both forms. */
function defaultTagsOf(inputs: Record<string, unknown>): Record<string, string> {
  let value = inputs["defaultTags"];
  if (typeof value === "string") value = JSON.parse(value) as unknown;
  return value && typeof value === "object" ? stringRecord((value as Record<string, unknown>)["tags"]) : {};
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object") return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

const arn = (service: string, region: string, resource: string): string =>
  `arn:aws:${service}:${region}:${PLANNED_ACCOUNT}:${resource}`;

const str = (value: unknown, fallback: string): string => (typeof value === "string" && value.length > 0 ? value : fallback);

/** What AWS would answer for a resource: its id and the computed outputs the programs read. */
export function plannedState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  region: string,
): { id: string; state: Record<string, unknown> } {
  if (type.startsWith(PROVIDER_TYPE_PREFIX)) return { id: `${name}-planned`, state: {} };
  switch (type) {
    case "aws:rds/instance:Instance": {
      const identifier = str(inputs["identifier"], name);
      const port = typeof inputs["port"] === "number" ? inputs["port"] : inputs["engine"] === "mysql" ? 3306 : 5432;
      const address = `${identifier}.${PLANNED_DOMAIN}`;
      return {
        id: identifier,
        state: {
          address,
          port,
          endpoint: `${address}:${port}`,
          arn: arn("rds", region, `db:${identifier}`),
          masterUserSecrets: [
            {
              secretArn: arn("secretsmanager", region, `secret:planned-rds!db-${identifier}`),
              secretStatus: "planned",
              kmsKeyId: "",
            },
          ],
        },
      };
    }
    case "aws:rds/subnetGroup:SubnetGroup": {
      const id = str(inputs["name"], name);
      return { id, state: { arn: arn("rds", region, `subgrp:${id}`) } };
    }
    case "aws:ec2/securityGroup:SecurityGroup": {
      const id = `sg-planned-${str(inputs["name"], name)}`;
      return { id, state: { arn: arn("ec2", region, `security-group/${id}`) } };
    }
    case "aws:organizations/account:Account": {
      const id = `planned-${str(inputs["name"], name)}`;
      return { id, state: { arn: `arn:aws:organizations::${PLANNED_ACCOUNT}:account/${id}`, status: "PLANNED" } };
    }
    case "aws:budgets/budget:Budget": {
      const budget = str(inputs["name"], name);
      return { id: `${PLANNED_ACCOUNT}:${budget}`, state: { arn: `arn:aws:budgets::${PLANNED_ACCOUNT}:budget/${budget}` } };
    }
    case "aws:costexplorer/costAllocationTag:CostAllocationTag":
      return { id: str(inputs["tagKey"], name), state: { type: "UserDefined" } };
    default:
      return { id: `${name}-planned`, state: {} };
  }
}
