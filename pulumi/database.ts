import * as pulumi from "@pulumi/pulumi";
import type { Provider } from "@pulumi/aws/provider.js";
import { getVpcOutput } from "@pulumi/aws/ec2/getVpc.js";
import { SecurityGroup } from "@pulumi/aws/ec2/securityGroup.js";
import { Instance } from "@pulumi/aws/rds/instance.js";
import { SubnetGroup } from "@pulumi/aws/rds/subnetGroup.js";
import type { DatabaseSettings, DeletionPolicy, StackRequest } from "../operator/src/provision/port.ts";
import { awsName } from "../operator/src/api/names.ts";
import { taggedProvider } from "./provider.ts";
import { checkStackTags } from "./stackTags.ts";

/** A tenant's dedicated RDS instance (database tier, and inside the tenant account for the account tier). */

export const ENGINE_PORTS = { postgres: 5432, mysql: 3306 } as const;
/** RDS keeps automated backups this many days (the design asks for at least 7). */
export const BACKUP_RETENTION_DAYS = 7;
const MASTER_USERNAME = "landlord";

export interface DatabaseArgs {
  tenantId: string;
  /** The cost tags; become the provider's defaultTags when this function creates the provider. */
  tags: Record<string, string>;
  settings: DatabaseSettings;
  deletionPolicy: DeletionPolicy;
  region: string;
  /** Absent: the default VPC of the account. */
  vpcId?: string;
  /** Absent or empty: the RDS default subnet group (the default VPC's subnets). */
  subnetIds?: string[];
  /** Where clients connect from (the cluster's node and pod CIDRs). Absent: the whole VPC. */
  clientCidrs?: string[];
  /** Turns deletion protection off ahead of a destroy that deletes (Snapshot, Delete). */
  releasing?: boolean;
}

export interface DatabaseOutputs {
  endpoint: pulumi.Output<string>;
  port: pulumi.Output<number>;
  masterSecretArn: pulumi.Output<string>;
}

export interface TenantDatabase {
  instance: Instance;
  securityGroup: SecurityGroup;
  subnetGroup?: SubnetGroup;
  outputs: DatabaseOutputs;
}

export function databaseArgs(request: StackRequest): DatabaseArgs {
  return {
    tenantId: request.tenantId,
    tags: request.tags,
    settings: request.database,
    deletionPolicy: request.deletionPolicy,
    region: request.aws.region,
    ...(request.aws.vpcId ? { vpcId: request.aws.vpcId } : {}),
    ...(request.aws.subnetIds ? { subnetIds: request.aws.subnetIds } : {}),
    ...(request.aws.clientCidrs ? { clientCidrs: request.aws.clientCidrs } : {}),
    ...(request.releasing ? { releasing: true } : {}),
  };
}

/**
 * Registers the subnet group (when subnets are given), the security group and the instance.
 * `provider` places them elsewhere (the tenant account); its defaultTags must be the cost tags.
 * Without one, a provider with defaultTags = args.tags is created here.
 */
export function tenantDatabase(args: DatabaseArgs, provider?: Provider): TenantDatabase {
  const aws = provider ?? taggedProvider("aws", { region: args.region, tags: args.tags });
  const port = ENGINE_PORTS[args.settings.engine];
  const identifier = awsName(args.tenantId);
  // Retain: the instance outlives the stack, and so must what it stands on (RDS refuses to lose
  // its security group or subnet group).
  const retain = args.deletionPolicy === "Retain";
  const opts: pulumi.CustomResourceOptions = { provider: aws, ...(retain ? { retainOnDelete: true } : {}) };

  const vpc = getVpcOutput(args.vpcId ? { id: args.vpcId } : { default: true }, { provider: aws });
  const securityGroup = new SecurityGroup(
    "database",
    {
      name: awsName(args.tenantId, { suffix: "db", max: 255 }),
      description: `Landlord: RDS instance of tenant ${args.tenantId}`,
      vpcId: vpc.id,
      // Only the engine port, only from the cluster's configured node and pod CIDRs (else the whole
      // VPC, which every other workload there shares); no egress (RDS answers on the open connection).
      ingress: [
        args.clientCidrs && args.clientCidrs.length > 0
          ? { protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: args.clientCidrs, description: "Database clients: the cluster's nodes and pods" }
          : { protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: [vpc.cidrBlock], description: "Database clients in the VPC" },
      ],
    },
    opts,
  );

  const subnetGroup =
    args.subnetIds && args.subnetIds.length > 0
      ? new SubnetGroup(
          "database",
          {
            name: awsName(args.tenantId, { max: 255 }),
            description: `Landlord: subnets of tenant ${args.tenantId}'s RDS instance`,
            subnetIds: args.subnetIds,
          },
          opts,
        )
      : undefined;

  const deletes = args.deletionPolicy === "Delete";
  const instance = new Instance(
    "database",
    {
      identifier,
      engine: args.settings.engine,
      ...(args.settings.engineVersion ? { engineVersion: args.settings.engineVersion } : {}),
      instanceClass: args.settings.instanceClass,
      allocatedStorage: args.settings.allocatedStorageGB,
      storageType: "gp3",
      storageEncrypted: true,
      username: MASTER_USERNAME,
      // RDS generates the password and keeps it in Secrets Manager: it never passes through Landlord.
      manageMasterUserPassword: true,
      port,
      ...(subnetGroup ? { dbSubnetGroupName: subnetGroup.name } : {}),
      vpcSecurityGroupIds: [securityGroup.id],
      publiclyAccessible: false,
      backupRetentionPeriod: BACKUP_RETENTION_DAYS,
      copyTagsToSnapshot: true,
      deletionProtection: !(args.releasing && !retain),
      autoMinorVersionUpgrade: true,
      skipFinalSnapshot: deletes,
      ...(deletes ? {} : { finalSnapshotIdentifier: `${identifier}-final` }),
    },
    opts,
  );

  return {
    instance,
    securityGroup,
    ...(subnetGroup ? { subnetGroup } : {}),
    outputs: {
      endpoint: instance.address,
      port: instance.port,
      masterSecretArn: instance.masterUserSecrets.apply((secrets) => {
        const arn = secrets[0]?.secretArn;
        if (!arn) {
          throw new Error(
            `RDS instance ${identifier} reports no master user secret although manageMasterUserPassword is set: check the instance in the RDS console (it may have been changed by hand)`,
          );
        }
        return arn;
      }),
    },
  };
}

/** The database stack: one tenant's RDS instance in the platform account. */
export function databaseProgram(request: StackRequest): Record<string, unknown> {
  checkStackTags(request);
  const { outputs } = tenantDatabase(databaseArgs(request));
  return { ...outputs };
}
