import { pino } from "pino";
import type { ControllerContext } from "../../../operator/src/controller/context.ts";
import { ApiError, type KubeObject } from "../../../operator/src/kube/client.ts";
import { FINALIZER_FIELD_MANAGER, type Kind, type Resources } from "../../../operator/src/kube/resources.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";
import type { StackBackend, StackRequest, StackResult } from "../../../operator/src/provision/port.ts";
import { createOperationRunner } from "../../../operator/src/provision/runner.ts";

/**
 * An in-memory stand-in for the API server and the informers, for unit tests of the reconcilers:
 * every write lands in the ObjectStore the reconcilers read (as the watch would deliver it), with
 * the few server behaviours they depend on: UIDs, resource versions, generations, a new
 * Namespace is Active, deleting a Namespace or a finalized object only marks it (`settle()` plays
 * the namespace controller and the garbage collector), `reject` makes the server refuse a write.
 * No HTTP, no cluster: what the integration tests prove against a real API server is not
 * re-proved here; this is for the reconcilers' own logic, step by step.
 */
export interface MemoryCluster {
  ctx: ControllerContext;
  store: ObjectStore;
  /** "verb Kind namespace/name" of every write, in order. */
  writes: string[];
  events: Array<{ object: string; type: string; reason: string; message: string }>;
  enqueued: string[];
  moves: string[];
  clock: { now: number };
  /** Objects the API server has but the informers do not watch (no Landlord label). */
  unwatched: Map<string, KubeObject>;
  /** Makes the server refuse writes the predicate picks with the error it returns. */
  reject(predicate: (object: KubeObject) => ApiError | undefined): void;
  /** Finishes deletions: terminating Namespaces go with everything in them, finalized-away objects go. */
  settle(): void;
  /** Creates or replaces an object as a user would (a new generation when its spec changes). */
  put(object: KubeObject): KubeObject;
  /** Marks an object deleted, as `kubectl delete` does for an object with finalizers. */
  remove(kind: Kind, name: string, namespace?: string): void;
}

const key = (kind: string, name: string, namespace?: string): string => `${kind} ${namespace ? `${namespace}/` : ""}${name}`;

/** A backend whose stacks come up at once as plans, unless `fail` says otherwise. */
export function planBackend(options: { fail?: (request: StackRequest) => Error | undefined } = {}): StackBackend {
  return {
    kind: "plan",
    up: async (request): Promise<StackResult> => {
      const error = options.fail?.(request);
      if (error) throw error;
      return {
        outputs: { endpoint: `${request.tenantId}.db.example`, port: 5432, masterSecretArn: `arn:aws:secretsmanager:us-east-1:1:secret:${request.tenantId}` },
        resources: [{ type: "aws:rds/instance:Instance", name: `${request.tenantId}-db`, tags: request.tags }],
        planned: true,
      };
    },
    destroy: async () => undefined,
  };
}

export function memoryCluster(options: { backend?: StackBackend; start?: string } = {}): MemoryCluster {
  const store = new ObjectStore();
  const writes: string[] = [];
  const events: MemoryCluster["events"] = [];
  const enqueued: string[] = [];
  const moves: string[] = [];
  const unwatched = new Map<string, KubeObject>();
  const rejections: Array<(object: KubeObject) => ApiError | undefined> = [];
  const clock = { now: Date.parse(options.start ?? "2026-12-01T10:00:00Z") };
  let version = 100;
  let uid = 0;

  const stamp = (kind: Kind, object: KubeObject, previous: KubeObject | undefined): KubeObject => {
    const specChanged = previous === undefined || JSON.stringify(previous.spec) !== JSON.stringify(object.spec);
    const written: KubeObject = {
      ...object,
      kind,
      metadata: {
        ...object.metadata,
        uid: previous?.metadata.uid ?? `uid-${++uid}`,
        resourceVersion: String(++version),
        generation: (previous?.metadata.generation ?? 0) + (specChanged ? 1 : 0),
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date(clock.now).toISOString(),
      },
    };
    store.upsert(kind, written);
    return written;
  };
  const refused = (object: KubeObject): void => {
    for (const rule of rejections) {
      const error = rule(object);
      if (error) throw error;
    }
  };
  const existing = (kind: Kind, name: string, namespace?: string): KubeObject | undefined => store.get(kind, name, namespace);

  const resources: Resources = {
    async get<T extends KubeObject>(kind: Kind, name: string, namespace?: string) {
      return (existing(kind, name, namespace) ?? unwatched.get(key(kind, name, namespace))) as T | undefined;
    },
    async list<T extends KubeObject>(kind: Kind) {
      return { apiVersion: "v1", kind: `${kind}List`, metadata: {}, items: store.list<T>(kind).map((object) => structuredClone(object) as T) }; // copies, as the API server hands out
    },
    async apply<T extends KubeObject>(object: KubeObject, applyOptions: { fieldManager?: string; subresource?: "status" } = {}) {
      const kind = object.kind as Kind;
      const { name, namespace } = object.metadata;
      const previous = existing(kind, name, namespace);
      refused(object);
      writes.push(`${applyOptions.subresource === "status" ? "status" : "apply"} ${key(kind, name, namespace)}`);
      if (applyOptions.subresource === "status") {
        if (!previous) throw new ApiError(404, "NotFound", `${kind} ${name} not found`, {});
        return stamp(kind, { ...previous, status: object.status }, previous) as T;
      }
      if (applyOptions.fieldManager === FINALIZER_FIELD_MANAGER) {
        if (!previous) throw new ApiError(404, "NotFound", `${kind} ${name} not found`, {});
        return stamp(kind, { ...previous, metadata: { ...previous.metadata, finalizers: object.metadata.finalizers ?? [] } }, previous) as T;
      }
      const status = previous?.status ?? (kind === "Namespace" ? { phase: "Active" } : undefined);
      const metadata = { ...previous?.metadata, ...object.metadata };
      return stamp(kind, { ...object, metadata, ...(status ? { status } : {}) }, previous) as T;
    },
    async create<T extends KubeObject>(object: KubeObject) {
      const kind = object.kind as Kind;
      const { name, namespace } = object.metadata;
      if (existing(kind, name, namespace)) throw new ApiError(409, "AlreadyExists", `${kind} ${name} already exists`, {});
      refused(object);
      writes.push(`create ${key(kind, name, namespace)}`);
      return stamp(kind, object, undefined) as T;
    },
    async patchJson<T extends KubeObject>(kind: Kind, name: string, operations: unknown[], namespace?: string) {
      const previous = existing(kind, name, namespace);
      if (!previous) throw new ApiError(404, "NotFound", `${kind} ${name} not found`, {});
      const annotations = { ...(previous.metadata.annotations ?? {}) };
      for (const op of operations as Array<{ op: string; path: string; value?: string }>) {
        const annotation = op.path.replace("/metadata/annotations/", "").replace(/~1/g, "/").replace(/~0/g, "~");
        if (op.op === "test" && annotations[annotation] !== op.value) throw new ApiError(422, "Invalid", "test failed", {});
        if (op.op === "remove") delete annotations[annotation];
      }
      writes.push(`patch ${key(kind, name, namespace)}`);
      return stamp(kind, { ...previous, metadata: { ...previous.metadata, annotations } }, previous) as T;
    },
    async delete(kind: Kind, name: string, namespace?: string) {
      const previous = existing(kind, name, namespace);
      if (!previous) return undefined;
      writes.push(`delete ${key(kind, name, namespace)}`);
      if (kind === "Namespace" || (previous.metadata.finalizers?.length ?? 0) > 0) {
        const terminating = { ...previous, metadata: { ...previous.metadata, deletionTimestamp: new Date(clock.now).toISOString() } };
        return stamp(kind, kind === "Namespace" ? { ...terminating, status: { phase: "Terminating" } } : terminating, previous);
      }
      store.remove(kind, previous);
      return previous;
    },
  };

  const ctx: ControllerContext = {
    store,
    resources,
    log: pino({ level: "silent" }),
    events: { record: (object, type, reason, message) => void events.push({ object: object.metadata.name, type, reason, message }) },
    metrics: { move: (from, to, outcome) => void moves.push(`${from}→${to} ${outcome}`) },
    now: () => new Date(clock.now),
    enqueue: (k) => void enqueued.push(k),
    prometheus: { reading: () => undefined },
    provisioner: createOperationRunner({ backend: options.backend ?? planBackend(), concurrency: 2, timeoutMs: 60_000, onSettled: (t) => void enqueued.push(`tenant/${t}`), now: () => new Date(clock.now) }),
    aws: { region: "us-east-1" },
  };

  const NAMESPACED: Kind[] = ["ResourceQuota", "LimitRange", "NetworkPolicy", "ConfigMap", "RoleBinding", "Job"];
  return {
    ctx,
    store,
    writes,
    events,
    enqueued,
    moves,
    clock,
    unwatched,
    reject: (predicate) => void rejections.push(predicate),
    settle() {
      for (const namespace of store.list("Namespace").filter((n) => n.metadata.deletionTimestamp)) {
        for (const kind of NAMESPACED) for (const object of store.list(kind)) if (object.metadata.namespace === namespace.metadata.name) store.remove(kind, object);
        store.remove("Namespace", namespace);
      }
      for (const kind of ["TenantPlacement", "TenantPool"] as const) {
        for (const object of store.list(kind)) if (object.metadata.deletionTimestamp && (object.metadata.finalizers?.length ?? 0) === 0) store.remove(kind, object);
      }
    },
    put(object) {
      const kind = object.kind as Kind;
      const previous = existing(kind, object.metadata.name, object.metadata.namespace);
      return stamp(kind, { ...object, metadata: { ...previous?.metadata, ...object.metadata }, ...(previous?.status && !object.status ? { status: previous.status } : {}) }, previous);
    },
    remove(kind, name, namespace) {
      const previous = existing(kind, name, namespace);
      if (!previous) throw new Error(`${kind} ${name} is not in the store`);
      stamp(kind, { ...previous, metadata: { ...previous.metadata, deletionTimestamp: new Date(clock.now).toISOString() } }, previous);
    },
  };
}

/** Lets the operation runner's background work (a plan backend answers at once) settle. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
