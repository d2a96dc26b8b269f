import type { Logger } from "pino";
import type { OperatorConfig } from "../config.ts";
import { createIdleCollector, fullCollection } from "../kube/idleCollector.ts";
import { createKubeClient, type KubeClient, type KubeObject } from "../kube/client.ts";
import { createEventRecorder } from "../kube/events.ts";
import { createInformerSet, type InformerSpec } from "../kube/informers.ts";
import { loadClusterAccess, type ClusterAccess } from "../kube/kubeconfig.ts";
import { runLeaderElection, type LeaderElector } from "../kube/leaderElection.ts";
import { createWorkQueue, type ReconcileResult, type WorkQueue } from "../kube/queue.ts";
import { createResources, type Kind, type Resources } from "../kube/resources.ts";
import { createPrometheusClient } from "../policy/prometheus.ts";
import { createPrometheusSignals } from "../policy/prometheusSignals.ts";
import type { StackBackend } from "../provision/port.ts";
import { createOperationRunner } from "../provision/runner.ts";
import { ObjectStore } from "../kube/store.ts";
import { createWakeSpacer, type Spacing } from "../kube/wakeSpacing.ts";
import { createMetrics } from "../metrics/metrics.ts";
import { startObservabilityServers } from "../metrics/server.ts";
import { CONTROLLERS, policyKey, poolKey, splitKey, tenantKey, type ControllerContext, type ControllerName } from "./context.ts";
import { CHILD_NAMES, CHILD_NETWORK_POLICIES } from "./children.ts";
import { LABELS, MANAGED_SELECTOR } from "../api/labels.ts";
import { MIGRATION_JOB_PREFIX } from "./migration.ts";
import { policyRefOf, reconcilePolicy } from "./placementPolicy.ts";
import { reconcilePool } from "./tenantPool.ts";
import { reconcileTenant } from "./tenantPlacement.ts";

const named = (...names: string[]) => (object: KubeObject): boolean => names.includes(object.metadata.name);
const CHILD_NAME_FILTERS: Partial<Record<Kind, (object: KubeObject) => boolean>> = {
  ResourceQuota: named(CHILD_NAMES.quota),
  LimitRange: named(CHILD_NAMES.limits),
  NetworkPolicy: named(...CHILD_NETWORK_POLICIES),
  ConfigMap: named(CHILD_NAMES.registry, CHILD_NAMES.connection),
  RoleBinding: named(CHILD_NAMES.adminBinding),
  Job: (object) => object.metadata.name.startsWith(MIGRATION_JOB_PREFIX),
};

const INFORMERS: InformerSpec[] = [
  { kind: "TenantPlacement" },
  { kind: "TenantPool" },
  { kind: "PlacementPolicy" },
  { kind: "PlacementDecision" },
  // Children: only what Landlord labelled, so the operator never caches (or touches) anything else;
  // and of those only the names Landlord writes, so objects anyone labelled in a namespace they
  // can write (one per name and namespace) are all the memory they can make it spend.
  ...(["Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "ConfigMap", "RoleBinding", "Job"] as const).map((kind) => ({
    kind,
    labelSelector: MANAGED_SELECTOR,
    ...(CHILD_NAME_FILTERS[kind] ? { accept: CHILD_NAME_FILTERS[kind] } : {}),
    // Anyone may label a 1 MiB ConfigMap: 50 of them keep a list page far below the client's bound.
    ...(kind === "ConfigMap" ? { pageSize: 50 } : {}),
  })),
];

/** Quiet time after a burst of reconciles before its garbage is collected (see idleCollector.ts). */
const IDLE_COLLECT_AFTER_MS = 10_000;

/**
 * Pools and policies are woken by every tenant that changes: spaced, a burst of 5,000 arrivals
 * is a few dozen pool passes (each seating a batch, rewriting its registry and quota once) and a
 * few policy status writes, not 5,000 of each. A pool runs at once when it has not run lately
 * (a lone arrival is seated without delay); a policy's tenant count waits, as it is only a count.
 * Tenants are never spaced: each wake of a tenant is its own change. Measured at 5,000 tenants
 * (`npm run bench`): a pool pass then takes about 250 ms, its writes included, so run every 500 ms
 * it was busy half the time while 100 tenants moved; once a second, 29 registry applies instead of 41.
 */
export const WAKE_SPACING: Partial<Record<ControllerName, Spacing>> = {
  pool: { firstMs: 0, everyMs: 1_000 },
  policy: { firstMs: 2_000, everyMs: 10_000 },
};

/** A key to wake; `now` skips the spacing above (a policy whose spec changed). */
export interface Wake {
  key: string;
  now?: true;
}

/** The keys a change to `object` should wake: informer handlers only ever enqueue keys. */
export function keysFor(kind: Kind, object: KubeObject, store: ObjectStore): Wake[] {
  switch (kind) {
    case "TenantPlacement":
      // Every policy, not only the one it follows now: a tenant that switched policies (or was
      // deleted) leaves the count of the one it followed before, which the new object cannot name.
      return [
        { key: tenantKey(object.metadata.name) },
        ...store.list("PlacementPolicy").map((p) => ({ key: policyKey(p.metadata.name) })),
      ];
    case "TenantPool":
      return [{ key: poolKey(object.metadata.name) }];
    case "PlacementPolicy": {
      // A new threshold or window applies now, not at the next resync. A scan: policies change
      // rarely. Only a spec its status has not yet caught up with (observedGeneration behind
      // generation) wakes the tenants: the policy's own status writes must not wake all of them.
      const observed = (object.status as { observedGeneration?: number } | undefined)?.observedGeneration;
      const specChanged = object.metadata.generation === undefined || observed !== object.metadata.generation;
      return [
        specChanged ? { key: policyKey(object.metadata.name), now: true } : { key: policyKey(object.metadata.name) },
        ...(specChanged
          ? store
              .list<KubeObject & { spec?: { policyRef?: string } }>("TenantPlacement")
              .filter((t) => policyRefOf(t) === object.metadata.name)
              .map((t) => ({ key: tenantKey(t.metadata.name) }))
          : []),
      ];
    }
    case "PlacementDecision":
      return [];
    default: {
      const tenant = object.metadata.labels?.[LABELS.tenant];
      const pool = object.metadata.labels?.[LABELS.pool];
      if (tenant) return [{ key: tenantKey(tenant) }];
      if (pool) return [{ key: poolKey(pool) }];
      return [];
    }
  }
}

/** A write refused because this replica may no longer act as the leader. */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
}

/** `resources` whose writes reject with NotLeaderError whenever `refusal()` gives a reason; reads pass. */
function fenceWrites(resources: Resources, refusal: () => string | undefined): Resources {
  // Async, so a refusal is a rejected promise like any failed request (callers such as the event
  // recorder only ever .catch() them).
  const check = async (what: string): Promise<void> => {
    const reason = refusal();
    if (reason) throw new NotLeaderError(`refused to ${what}: ${reason}`);
  };
  // Checked again when the answer arrives: a process frozen while its write was in flight must not
  // carry on from that answer (log a move, write the next step) once the Lease is gone.
  const fenced = async <T>(what: string, write: () => Promise<T>): Promise<T> => {
    await check(what);
    const answer = await write();
    const reason = refusal();
    if (reason) throw new NotLeaderError(`lost the lease while waiting to ${what}: ${reason}`);
    return answer;
  };
  return {
    ...resources,
    apply: (object, options) => fenced(`apply ${object.kind} ${object.metadata.name}`, () => resources.apply(object, options)),
    create: (object) => fenced(`create ${object.kind} ${object.metadata.name}`, () => resources.create(object)),
    patchJson: (kind, name, operations, namespace) => fenced(`patch ${kind} ${name}`, () => resources.patchJson(kind, name, operations, namespace)),
    delete: (kind, name, namespace, options) => fenced(`delete ${kind} ${name}`, () => resources.delete(kind, name, namespace, options)),
  };
}

/** The Prometheus bearer token, read from a Secret in the operator's namespace at each use (it may rotate). */
async function readToken(resources: Resources, namespace: string, name: string): Promise<string | undefined> {
  const secret = await resources.get<KubeObject & { data?: Record<string, string> }>("Secret", name, namespace);
  const encoded = secret?.data?.token;
  return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
}

export interface RunningOperator {
  /** Resolves when the operator has stopped (after stop() or a lost lease). */
  done: Promise<void>;
  stop(): Promise<void>;
  /** Why the operator stopped on its own, when it could not start reconciling (the process exits non-zero). */
  failure(): Error | undefined;
  client: KubeClient;
  metricsPort: number;
  healthPort: number;
  /** Tenants by served tier ("unplaced" before the first placement), from the operator's cache. */
  tenantsByTier(): Record<string, number>;
}

export interface StartOptions {
  /**
   * The provisioner adapter: the CLI passes createStackBackend's (the one `config.provisioner`
   * names, with local/'s Pulumi CLI wired in); the reliability tests inject failing, hanging and
   * lock-holding ones.
   */
  backend: StackBackend;
}

/** Tenants by served tier ("unplaced" before the first placement), counted from the cache at scrape time. */
function tenantsByTier(store: ObjectStore): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const tenant of store.list("TenantPlacement")) {
    const tier = (tenant.status as { tier?: string } | undefined)?.tier ?? "unplaced";
    counts[tier] = (counts[tier] ?? 0) + 1;
  }
  return counts;
}

/** Tenants whose signals are stale or unavailable, read from the conditions the reconciles wrote, so the gauge never drifts. */
function signalProblems(store: ObjectStore): Record<string, number> {
  const counts: Record<string, number> = { stale: 0, unavailable: 0 };
  for (const tenant of store.list("TenantPlacement")) {
    const conditions = (tenant.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
    for (const c of conditions) {
      if (c.status !== "True") continue;
      if (c.type === "SignalsStale") counts.stale = (counts.stale ?? 0) + 1;
      if (c.type === "SignalsUnavailable") counts.unavailable = (counts.unavailable ?? 0) + 1;
    }
  }
  return counts;
}

type Queues = Record<ControllerName, WorkQueue>;

/**
 * One work queue per controller, as controller-runtime has: each its own workers, backoff and
 * depth, so thousands of tenants polling for a seat never queue ahead of the pool that seats them.
 * Controllers wake each other only by adding a key to the other's queue (`enqueue`).
 */
function createQueues(concurrency: number, onResult: (controller: ControllerName, result: ReconcileResult, durationMs: number) => void): { queues: Queues; enqueue: (wake: Wake) => void } {
  const queues = Object.fromEntries(
    CONTROLLERS.map((controller) => [controller, createWorkQueue({ concurrency, onResult: (_name, result, durationMs) => onResult(controller, result, durationMs) })]),
  ) as Queues;
  const spaced = createWakeSpacer();
  const enqueue = (wake: Wake): void => {
    const target = splitKey(wake.key);
    if (!target) throw new Error(`no controller takes the key ${JSON.stringify(wake.key)}`);
    const spacing = wake.now ? undefined : WAKE_SPACING[target.controller];
    queues[target.controller].addAfter(target.name, spacing ? spaced(wake.key, spacing) : 0);
  };
  return { queues, enqueue };
}

const RECONCILERS: Record<ControllerName, (context: ControllerContext, name: string) => Promise<ReconcileResult>> = {
  tenant: reconcileTenant,
  pool: reconcilePool,
  policy: reconcilePolicy,
};

/** One reconcile of one key, with its own logger; a throw becomes an error result the queue backs off. */
async function reconcileKey(ctx: ControllerContext, controller: ControllerName, name: string): Promise<ReconcileResult> {
  // Yield to the event loop first: reconciles that answer from the cache without I/O would
  // otherwise chain as microtasks and starve timers, sockets and signal handlers.
  await new Promise<void>((resolveTurn) => setImmediate(resolveTurn));
  const child = ctx.log.child({ [controller]: name });
  try {
    const result = await RECONCILERS[controller]({ ...ctx, log: child }, name);
    if (result.kind === "error") child.warn({ err: result.error.message, terminal: result.terminal ?? false }, "Reconcile failed");
    return result;
  } catch (error) {
    child.warn({ err: error instanceof Error ? error.message : String(error) }, "Reconcile failed; retrying with backoff");
    return { kind: "error", error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** The Prometheus signal source: none without --prometheus-url (signals then read as unavailable). */
function prometheusSignals(config: OperatorConfig, resources: Resources, store: ObjectStore, log: Logger, wake: (tenantId: string) => void): ReturnType<typeof createPrometheusSignals> {
  return createPrometheusSignals({
    client: config.prometheusUrl
      ? createPrometheusClient({
          url: config.prometheusUrl,
          timeoutMs: config.prometheusTimeoutMs,
          ...(config.prometheusTokenSecret ? { bearerToken: () => readToken(resources, config.leaseNamespace, config.prometheusTokenSecret as string) } : {}),
        })
      : undefined,
    store,
    log,
    enqueue: wake,
  });
}

/** What every reconcile works with: the store, the fenced writes, the provisioner and the signal source. */
function createControllerContext(o: {
  config: OperatorConfig;
  resources: Resources;
  store: ObjectStore;
  log: Logger;
  metrics: ReturnType<typeof createMetrics>;
  backend: StackBackend;
  wakeTenant: (tenantId: string) => void;
  enqueue: (wake: Wake) => void;
}): { ctx: ControllerContext; prometheus: ReturnType<typeof createPrometheusSignals>; provisioner: ReturnType<typeof createOperationRunner> } {
  const { config, resources, store, log, metrics } = o;
  const prometheus = prometheusSignals(config, resources, store, log, o.wakeTenant);
  const provisioner = createOperationRunner({
    backend: o.backend,
    concurrency: config.provisionConcurrency,
    timeoutMs: config.provisionTimeoutMs,
    onSettled: o.wakeTenant,
    log,
    observe: (operation, outcome, durationMs) => {
      metrics.provisionerOperations.inc({ operation, result: outcome === "succeeded" ? "success" : outcome });
      metrics.provisionerDuration.observe({ operation }, durationMs / 1000);
    },
  });
  const ctx: ControllerContext = {
    provisioner,
    aws: { region: config.awsRegion, vpcId: config.awsVpcId, subnetIds: config.awsSubnetIds, clientCidrs: config.awsClientCidrs },
    egress: config.egressAllow,
    prometheus,
    store,
    resources,
    log,
    events: createEventRecorder({ resources, log, instance: config.identity }),
    metrics: { move: (from, to, outcome) => metrics.moves.inc({ from, to, outcome }) },
    now: () => new Date(),
    enqueue: (key) => o.enqueue({ key }),
  };
  return { ctx, prometheus, provisioner };
}

/** Campaigns for the leader Lease; the callbacks start and stop reconciling. */
async function campaign(config: OperatorConfig, access: ClusterAccess, log: Logger, backend: StackBackend, on: { onStartedLeading(): void; onStoppedLeading(): void }): Promise<LeaderElector> {
  // Before campaigning: loading the provisioner's SDK blocks the event loop for seconds, long
  // enough for a fresh leader to miss its renew deadline and lose the Lease it just won.
  await backend.prepare?.().catch((error: unknown) => log.warn({ err: String(error) }, "Could not load the provisioner ahead of time; it loads on first use"));
  return runLeaderElection(
    // A client of its own: renewals must not queue behind the reconcilers' requests.
    { client: createKubeClient(access), namespace: config.leaseNamespace, name: config.leaseName, identity: config.identity, leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs, retryPeriodMs: config.retryPeriodMs, log },
    {
      onStartedLeading: () => {
        log.info({ identity: config.identity }, "Became the leader");
        on.onStartedLeading();
      },
      onStoppedLeading: () => {
        log.warn({ identity: config.identity }, "Lost the leader lease; stopping");
        on.onStoppedLeading();
      },
    },
  );
}

/**
 * Wires informers, the shared store, one work queue per controller and the reconcilers. With leader election on,
 * nothing is listed or reconciled until this process holds the Lease; losing it stops the
 * operator (the caller exits and is restarted), as controller-runtime does.
 */
export async function startOperator(config: OperatorConfig, log: Logger, options: StartOptions): Promise<RunningOperator> {
  const access = { ...loadClusterAccess(config.kubeconfig, { preferInCluster: true }), rateLimit: { qps: config.kubeApiQps, burst: config.kubeApiBurst } };
  for (const warning of access.warnings) log.warn({ source: access.source }, warning);
  const client = createKubeClient(access);
  let election: LeaderElector | undefined;
  // With leader election, every write first checks that this replica still holds the Lease by its
  // own clock (not only that the deadline timer has not fired yet): a replica whose process stalled
  // past its lease wakes up with reconciles half done, and none of them may write once another
  // replica could have taken over.
  const resources = fenceWrites(createResources(client), () => {
    if (!config.leaderElect) return undefined;
    if (!election?.isLeader()) return "this replica does not hold the leader Lease";
    return Date.now() < election.validUntil() ? undefined : `the leader Lease was not renewed within ${config.renewDeadlineMs} ms`;
  });
  const store = new ObjectStore();
  let synced = false;
  let leading = !config.leaderElect;

  let depth = (): Record<string, number> => ({});
  let provisionerActive = (): number => 0;
  const metrics = createMetrics({ tenantsByTier: () => tenantsByTier(store), queueDepth: () => depth(), provisionerActive: () => provisionerActive(), signalProblems: () => signalProblems(store) });
  const servers = await startObservabilityServers({
    metricsPort: config.metricsPort,
    healthPort: config.healthPort,
    host: config.bindAddress,
    registry: metrics.registry,
    // A standby replica is ready too: it is healthy and waiting for the Lease. Reporting it unready
    // would stall every rolling update of a two-replica Deployment.
    ready: () => (leading ? synced || "informers not synced yet" : true),
  });

  const collect = fullCollection();
  const idleCollector = collect ? createIdleCollector({ collect, quietMs: IDLE_COLLECT_AFTER_MS }) : undefined;
  const { queues, enqueue } = createQueues(config.concurrency, (controller, result, durationMs) => {
    metrics.observeReconcile(controller, result, durationMs);
    idleCollector?.activity();
  });
  depth = () => Object.fromEntries(CONTROLLERS.map((controller) => [controller, queues[controller].depth()]));
  const backend = options.backend;
  const { ctx, prometheus, provisioner } = createControllerContext({ config, resources, store, log, metrics, backend, wakeTenant: (tenantId) => queues.tenant.add(tenantId), enqueue });
  provisionerActive = () => provisioner.active();
  store.onChange((kind, object) => {
    for (const wake of keysFor(kind, object, store)) enqueue(wake);
  });

  const informers = createInformerSet({ access, store, specs: INFORMERS, log, syncTimeoutMs: config.cacheSyncTimeoutMs });
  let resync: NodeJS.Timeout | undefined;

  async function begin(): Promise<void> {
    await informers.start();
    synced = true;
    for (const controller of CONTROLLERS) queues[controller].run((name) => reconcileKey(ctx, controller, name));
    prometheus.start();
    // Periodic resync: level-based reconciles make it a safety net, not a source of writes.
    resync = setInterval(() => {
      for (const tenant of store.list("TenantPlacement")) queues.tenant.add(tenant.metadata.name);
      for (const pool of store.list("TenantPool")) queues.pool.add(pool.metadata.name);
      for (const policy of store.list("PlacementPolicy")) queues.policy.add(policy.metadata.name);
    }, config.resyncPeriodMs);
    log.info({ tenants: store.count("TenantPlacement"), pools: store.count("TenantPool") }, "Started reconciling");
  }

  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;
  let failure: Error | undefined;
  /** Starting failed (e.g. the caches could not sync): stop, and let the caller exit with the error. */
  const fail = (error: unknown): void => {
    failure = error instanceof Error ? error : new Error(String(error));
    log.error({ err: failure.message }, "Could not start reconciling");
    void stop();
  };

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      if (resync) clearInterval(resync);
      idleCollector?.stop();
      prometheus.stop();
      // Running stack operations are cancelled (Pulumi releases its lock); the next leader resumes them.
      await Promise.all([...CONTROLLERS.map((controller) => queues[controller].shutdown()), provisioner.close()]);
      await informers.stop();
      await election?.stop();
      await servers.close();
      log.info("Stopped");
      resolveDone();
    })();
    return stopping;
  }

  if (config.leaderElect) {
    election = await campaign(config, access, log, backend, {
      onStartedLeading: () => {
        leading = true;
        metrics.leader.set(1);
        begin().catch(fail);
      },
      onStoppedLeading: () => {
        leading = false;
        metrics.leader.set(0);
        void stop();
      },
    });
  } else {
    metrics.leader.set(1);
    await begin().catch(fail);
  }

  return { done, stop, failure: () => failure, client, metricsPort: servers.metricsPort, healthPort: servers.healthPort, tenantsByTier: () => tenantsByTier(store) };
}
