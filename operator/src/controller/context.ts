import type { Logger } from "pino";
import { ApiError, type KubeObject } from "../kube/client.ts";
import type { EventRecorder } from "../kube/events.ts";
import { FINALIZER_FIELD_MANAGER, STATUS_FIELD_MANAGER, type Kind, type Resources } from "../kube/resources.ts";
import type { ObjectStore } from "../kube/store.ts";
import type { SignalReading } from "../policy/engine.ts";
import type { OperationRunner } from "../provision/runner.ts";
import { jsonEqual } from "./conditions.ts";
import { alreadyApplied, withAppliedHash } from "./lastApplied.ts";
import { foreignOwner, isManaged, ownerOfDesired } from "./ownership.ts";
import type { EgressAllowance } from "../config.ts";

/** Counters the reconcilers bump; implemented by the metrics module, a no-op in unit tests. */
export interface ControllerMetrics {
  move(from: string, to: string, outcome: string): void;
}

/** Everything a reconcile needs; the reconcilers themselves hold no state. */
export interface ControllerContext {
  store: ObjectStore;
  resources: Resources;
  log: Logger;
  events: EventRecorder;
  metrics: ControllerMetrics;
  now(): Date;
  enqueue(key: string): void;
  /** Cached Prometheus readings, refreshed per evaluationInterval outside the reconcile. */
  prometheus: { reading(tenantId: string, signal: string): SignalReading | undefined };
  /** Runs the Pulumi stacks of the database and account tiers in the background. */
  provisioner: OperationRunner;
  /** Where dedicated stacks go (from the operator's configuration). */
  aws: { region: string; vpcId?: string | undefined; subnetIds?: string[] | undefined; clientCidrs?: string[] | undefined };
  /** Egress every namespace Landlord creates allows besides its own pods and DNS (see egress.ts). */
  egress?: readonly EgressAllowance[];
}

export const tenantKey = (tenantId: string): string => `tenant/${tenantId}`;
export const poolKey = (pool: string): string => `pool/${pool}`;
export const policyKey = (policy: string): string => `policy/${policy}`;

/** The controllers, each with a work queue of its own; a key names the controller and the object. */
export const CONTROLLERS = ["tenant", "pool", "policy"] as const;
export type ControllerName = (typeof CONTROLLERS)[number];

/** Which controller's queue a key from tenantKey/poolKey/policyKey goes to, and the object's name. */
export function splitKey(key: string): { controller: ControllerName; name: string } | undefined {
  const slash = key.indexOf("/");
  const controller = key.slice(0, slash);
  const name = key.slice(slash + 1);
  return slash > 0 && name !== "" && (CONTROLLERS as readonly string[]).includes(controller) ? { controller: controller as ControllerName, name } : undefined;
}

/** A name Landlord wants is taken by an object it did not create: it is never adopted. */
export class ForeignObjectError extends Error {
  override name = "ForeignObjectError";
}

export { isManaged };

/**
 * Server-side applies `desired` unless Landlord last applied exactly this and nothing drifted (see
 * lastApplied.ts), so an idle cluster sees no writes, and a field removed from `desired` is removed
 * from the object: the apply under the same field manager drops what the manager no longer sets.
 * Before creating a Namespace the store has not seen, it checks the live cluster: the informers
 * only watch Landlord's own objects, and someone else's namespace is never taken over.
 */
export async function applyIfChanged(ctx: ControllerContext, desired: KubeObject): Promise<{ changed: boolean; object: KubeObject }> {
  const kind = desired.kind as Kind;
  const cached = ctx.store.get(kind, desired.metadata.name, desired.metadata.namespace);
  const owner = ownerOfDesired(desired);
  // Never written over, nor into a namespace of, another tenant or pool (see ownership.ts).
  const namespace = desired.metadata.namespace ? ctx.store.get("Namespace", desired.metadata.namespace) : undefined;
  const conflict = foreignOwner(cached, owner) ?? foreignOwner(namespace, owner);
  if (conflict) throw new ForeignObjectError(`${conflict}: Landlord does not take it over; rename or remove it`);
  if (cached && alreadyApplied(desired, cached)) return { changed: false, object: cached };
  if (!cached && kind === "Namespace") {
    const live = await ctx.resources.get(kind, desired.metadata.name);
    const foreign = live ? (isManaged(live) ? foreignOwner({ ...live, kind }, owner) : `namespace ${desired.metadata.name} exists and was not created by Landlord`) : undefined;
    if (foreign) throw new ForeignObjectError(`${foreign}; rename or remove it`);
  }
  const object = await ctx.resources.apply(withAppliedHash(desired));
  ctx.store.upsert(kind, { ...object, kind });
  return { changed: true, object };
}

/** Writes `status` through the status subresource, only when it differs from what is stored. */
export async function applyStatus(ctx: ControllerContext, object: KubeObject, status: Record<string, unknown>): Promise<boolean> {
  if (jsonEqual(object.status, status)) return false;
  const kind = object.kind as Kind;
  const written = await ctx.resources.apply(
    { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) }, status },
    { fieldManager: STATUS_FIELD_MANAGER, subresource: "status" },
  );
  ctx.store.upsert(kind, { ...written, kind });
  return true;
}

/** Adds or removes Landlord's finalizer by applying exactly that field under its own manager. */
export async function setFinalizer(ctx: ControllerContext, object: KubeObject, finalizer: string, present: boolean): Promise<void> {
  const has = object.metadata.finalizers?.includes(finalizer) ?? false;
  if (has === present) return;
  const kind = object.kind as Kind;
  try {
    const written = await ctx.resources.apply(
      { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, ...(present ? { finalizers: [finalizer] } : {}) } },
      { fieldManager: FINALIZER_FIELD_MANAGER },
    );
    ctx.store.upsert(kind, { ...written, kind });
  } catch (error) {
    // Removing the last finalizer of a deleted object makes it vanish; the apply may then 404.
    if (!(error instanceof ApiError && error.notFound && !present)) throw error;
  }
}
