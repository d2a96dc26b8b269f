import type { z } from "zod";
import type { accountSettings, databaseSettings } from "../api/v1alpha1/placementPolicy.ts";
import type { DELETION_POLICIES } from "../api/v1alpha1/tenantPlacement.ts";

/**
 * The Provisioner port: what the controller asks of whatever creates AWS
 * resources. Two adapters implement StackBackend: `plan` (the Pulumi programs under Pulumi's mocks,
 * nothing created) and `pulumi` (Automation API). The controller never talks to a backend
 * directly: it goes through the OperationRunner, which makes every call non-blocking.
 */

export const STACK_KINDS = ["database", "account"] as const;
export type StackKind = (typeof STACK_KINDS)[number];
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];
export type DatabaseSettings = z.output<typeof databaseSettings>;
export type AccountSettings = z.output<typeof accountSettings>;

/** Everything one tenant's stack must contain: plain data, so a request can be hashed and compared. */
export interface StackRequest {
  tenantId: string;
  kind: StackKind;
  /** Required cost tags plus the tenant's own (pulumi/tags.ts); set through the provider's defaultTags. */
  tags: Record<string, string>;
  database: DatabaseSettings;
  /** Present for the account kind only; email already has {{tenantId}} substituted. */
  account?: AccountSettings & { email: string };
  deletionPolicy: DeletionPolicy;
  /** Set by destroy for its preparatory up: the program turns deletion protection off. Never set on a serving stack. */
  releasing?: boolean;
  /** clientCidrs: where the database admits connections from (the cluster's nodes and pods); absent, the VPC. */
  aws: { region: string; vpcId?: string; subnetIds?: string[]; clientCidrs?: string[] };
}

/** Stack outputs the cut-over needs. Never a password: RDS manages it in Secrets Manager. */
export interface StackOutputs {
  endpoint: string;
  port: number;
  masterSecretArn: string;
  /** The dedicated account's id (account kind). */
  accountId?: string;
}

/** One resource the stack created (pulumi) or would create (plan). */
export interface StackResource {
  /** Pulumi type token, e.g. aws:rds/instance:Instance. */
  type: string;
  /** Pulumi logical name. */
  name: string;
  id?: string;
  arn?: string;
  /** The tags the resource carries (defaultTags merged with its own). */
  tags: Record<string, string>;
}

export interface StackResult {
  outputs: StackOutputs;
  resources: StackResource[];
  /** True when nothing was created (the plan adapter). */
  planned: boolean;
}

/** Deterministic stack name: landlord-<tenant>-database, landlord-<tenant>-account. */
export const stackName = (tenantId: string, kind: StackKind): string => `landlord-${tenantId}-${kind}`;

export type ProvisionErrorKind =
  /** Another update holds the stack's lock: retried soon. */
  | "ConcurrentUpdate"
  /** The program or the cloud refused (bad settings, quota, permissions): retried with a long backoff; the message says why. */
  | "ProgramError"
  /** The operation ran past --provision-timeout and was cancelled. */
  | "Timeout"
  /** Cancelled because the operator is shutting down. */
  | "Cancelled";

export class ProvisionError extends Error {
  override name = "ProvisionError";
  constructor(
    readonly kind: ProvisionErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An adapter: blocking calls, cancelled through the signal. The runner bounds and schedules them. */
export interface StackBackend {
  readonly kind: "plan" | "pulumi";
  /** Brings the stack to the request (create or update) and returns its outputs and resources. */
  up(request: StackRequest, signal: AbortSignal): Promise<StackResult>;
  /**
   * Removes what the stack created, honouring request.deletionPolicy: Retain leaves the cloud
   * resources in place and only forgets the stack (e.g. `stack rm --force`: nothing is deleted);
   * Snapshot and Delete first run an `up` of the program with `releasing: true` (deletion
   * protection off, final snapshot per policy — `pulumi destroy` acts on the options recorded in
   * the state, not on the program), then destroy and remove the stack. Destroying a stack that
   * does not exist succeeds.
   */
  destroy(request: StackRequest, signal: AbortSignal): Promise<void>;
  /** Releases workspaces, temp dirs; called once at shutdown after every operation settled. */
  close?(): Promise<void>;
  /**
   * Loads what the first operation would load (the Pulumi SDK and programs: a synchronous require
   * of thousands of modules that blocks the event loop for seconds). A replica that campaigns for
   * the leader Lease calls it first, so that stall never happens while it must renew the Lease.
   */
  prepare?(): Promise<void>;
}
