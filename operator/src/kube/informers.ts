import { ApiError, createKubeClient, type KubeList, type KubeObject, type StreamingKubeClient } from "./client.ts";
import type { ClusterAccess } from "./kubeconfig.ts";
import { collectionPath, RESOURCES, type Kind } from "./resources.ts";
import { objectKey, trimManagedFieldsInPlace, type ObjectStore } from "./store.ts";
import { watch } from "./watch.ts";

/** Objects per list request (client-go's reflector uses 500 too). */
const LIST_PAGE_SIZE = 500;
/** Watches last between 5 and 10 minutes, as client-go's reflector's, so they do not all end together. */
const MIN_WATCH_SECONDS = 300;
/** A watch the API server ends sooner than this without sending anything counts as a failure (backoff). */
const SHORT_WATCH_MS = 1_000;

export interface InformerSpec {
  kind: Kind;
  labelSelector?: string;
  /**
   * Objects the store keeps; others are dropped as they arrive. A label selector is only a
   * filter anyone who can label an object passes; this bounds what they can make the operator hold.
   */
  accept?: (object: KubeObject) => boolean;
  /** Objects per list page; fewer for kinds whose objects can be large (ConfigMaps: 1 MiB each). */
  pageSize?: number;
}

export interface InformerSet {
  /**
   * Lists and starts watching everything; resolves once every informer has listed and its watch
   * is open. Rejects with a CacheSyncError when that takes longer than `syncTimeoutMs` (the
   * informers are stopped then): a missing list or watch permission never heals by itself, and a
   * leader with an empty cache would hold the Lease while reconciling nothing.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface InformerOptions {
  /** The cluster; the informers get a client (and connections) of their own. */
  access: ClusterAccess;
  store: ObjectStore;
  specs: InformerSpec[];
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Backoff for restarting a failed informer. */
  backoff?: { baseMs: number; maxMs: number };
  /** Server-side watch timeout (tests); by default 5 to 10 minutes, at random. */
  watchTimeoutSeconds?: () => number;
  /** How long start() waits for the first sync before it gives up (default 2 minutes, controller-runtime's CacheSyncTimeout). */
  syncTimeoutMs?: number;
}

export const DEFAULT_SYNC_TIMEOUT_MS = 120_000;

/** The first sync did not finish in time; the message names each kind that is missing, the verb that failed, and why. */
export class CacheSyncError extends Error {
  override name = "CacheSyncError";
}

/** "tenantplacements.landlord.dev", "namespaces": a resource as RBAC rules and kubectl name it. */
export function resourceName(kind: Kind): string {
  const { apiVersion, plural } = RESOURCES[kind];
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  return group ? `${plural}.${group}` : plural;
}

/** What an informer last failed at, for the sync timeout's message. */
interface SyncProblem {
  verb: "list" | "watch";
  error: unknown;
}

function describeProblem(kind: Kind, problem: SyncProblem | undefined): string {
  const resource = resourceName(kind);
  if (!problem) return `${kind} (${resource}): no answer to list yet`;
  const { verb, error } = problem;
  if (error instanceof ApiError && error.status === 403) {
    return `${kind}: the API server refused to ${verb} ${resource} (403 Forbidden: ${error.message}); grant the operator's identity the ${verb} verb on ${resource}`;
  }
  const reason = error instanceof ApiError ? `${error.status} ${error.reason || ""}`.trim() : error instanceof Error ? error.message : String(error);
  return `${kind}: ${verb} ${resource} failed: ${reason}`;
}

const gone = (error: unknown): boolean => error instanceof ApiError && error.status === 410;

/**
 * One list-then-watch loop per kind, feeding the shared store, which holds the only copy of every
 * object (client-node's ListWatch kept a second one). Each loop lists in pages, reconciles the store
 * with the list, then watches from the list's resourceVersion; a watch that ends is resumed from the
 * last version seen (events or bookmarks), a 410 Gone lists again, and any other failure restarts
 * the loop after an exponential backoff, resuming from the last version.
 */
export function createInformerSet(options: InformerOptions): InformerSet {
  const { store, log } = options;
  const backoff = options.backoff ?? { baseMs: 200, maxMs: 30_000 };
  const watchSeconds = options.watchTimeoutSeconds ?? (() => Math.floor(MIN_WATCH_SECONDS * (1 + Math.random())));
  // Connections of their own: watches hold theirs open, and must not crowd out the operator's writes.
  const client: StreamingKubeClient = createKubeClient(options.access);
  // One per informer: a signal shared by every request would collect more listeners than Node likes.
  const controllers: AbortController[] = [];
  const loops: Promise<void>[] = [];
  const synced: Promise<void>[] = [];
  const pending = new Map<Kind, { synced: boolean; problem?: SyncProblem }>();
  const syncTimeoutMs = options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
  let started = false;

  /** Resolves after `ms`, or at once when `signal` aborts. */
  const pause = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolvePause) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolvePause();
      }
      signal.addEventListener("abort", done);
    });

  /**
   * Lists `spec` in pages into the store and returns the list's resourceVersion. On a re-list, store
   * objects of the kind that the list no longer has are removed: deletions the watch missed.
   */
  async function list(spec: InformerSpec, relist: boolean, signal: AbortSignal): Promise<string> {
    const listed = new Set<string>();
    let resourceVersion: string | undefined;
    let apiVersion = "";
    let continueToken: string | undefined;
    // In pages, as client-go's reflector lists: one answer for 5,000 TenantPlacements was tens of
    // MB of JSON held as one string while it was parsed, the operator's memory peak on every
    // restart. Every page is from the first page's snapshot, so each page goes into the store as it
    // arrives; an expired continue token (410) fails the list, which is retried with backoff.
    do {
      const page = await client.request<KubeList & { apiVersion?: string }>({
        method: "GET",
        path: collectionPath(spec.kind),
        query: { labelSelector: spec.labelSelector, limit: spec.pageSize ?? LIST_PAGE_SIZE, continue: continueToken },
        signal,
      });
      resourceVersion ??= page.metadata.resourceVersion;
      apiVersion ||= page.apiVersion ?? "";
      for (const item of page.items) {
        // List items come without kind/apiVersion (watch events have them); add them back so every
        // object in the store is self-describing. Trimmed in place: nobody else holds it yet.
        item.kind = spec.kind;
        item.apiVersion ||= apiVersion;
        if (spec.accept && !spec.accept(item)) continue;
        trimManagedFieldsInPlace(spec.kind, item);
        listed.add(objectKey(item));
        deliver(spec, () => store.upsert(spec.kind, item));
      }
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    if (!resourceVersion) throw new Error(`the list of ${spec.kind} has no resourceVersion`);
    if (relist) store.removeUnlisted(spec.kind, listed, resourceVersion);
    return resourceVersion;
  }

  /** A store listener that throws must not stop the informer (nor replay the event forever). */
  function deliver(spec: InformerSpec, apply: () => void): void {
    try {
      apply();
    } catch (error) {
      log.warn({ kind: spec.kind, err: String(error) }, "Handling an informer event failed");
    }
  }

  async function run(spec: InformerSpec, markSynced: () => void, abort: AbortController, noteProblem: (problem: SyncProblem) => void): Promise<void> {
    let resourceVersion: string | undefined;
    let listedOnce = false;
    let syncedOnce = false;
    // Synced once the first watch is open too, not at the list alone: a missing watch verb would
    // otherwise leave a cache that looks synced and never changes.
    const watchClient: StreamingKubeClient = {
      ...client,
      stream: async (streamSpec, idleTimeoutMs) => {
        const res = await client.stream(streamSpec, idleTimeoutMs);
        if (!syncedOnce) {
          syncedOnce = true;
          markSynced();
        }
        return res;
      },
    };
    let failures = 0;
    while (!abort.signal.aborted) {
      // Whether the watch below starts right from a list: a 410 then is no reason to list at once again.
      let fresh = false;
      let events = 0;
      let verb: SyncProblem["verb"] = "list";
      const watchStarted = Date.now();
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await list(spec, listedOnce, abort.signal);
          fresh = true;
          listedOnce = true;
          failures = 0;
        }
        verb = "watch";
        await watch(watchClient, {
          path: collectionPath(spec.kind),
          resourceVersion,
          ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
          timeoutSeconds: watchSeconds(),
          signal: abort.signal,
          onEvent: (type, object) => {
            events++;
            failures = 0;
            if (object.metadata.resourceVersion) resourceVersion = object.metadata.resourceVersion;
            if (type === "BOOKMARK") return;
            if (spec.accept && !spec.accept(object)) return;
            object.kind = spec.kind;
            trimManagedFieldsInPlace(spec.kind, object);
            deliver(spec, () => (type === "DELETED" ? store.remove(spec.kind, object) : store.upsert(spec.kind, object)));
          },
        });
        if (abort.signal.aborted) return;
        // The API server ended the watch (timeoutSeconds): carry on from the last version seen.
        if (events > 0 || Date.now() - watchStarted >= SHORT_WATCH_MS) continue;
        throw new Error("the API server ended the watch at once");
      } catch (error) {
        if (abort.signal.aborted) return;
        if (gone(error)) {
          // Events since resourceVersion are compacted away: list again, and catch up on the store.
          resourceVersion = undefined;
          if (!fresh || events > 0) {
            log.info({ kind: spec.kind }, "Informer's resourceVersion expired; listing again");
            continue;
          }
        }
        if (!syncedOnce) noteProblem({ verb, error });
        failures += 1;
        const delay = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(failures - 1, 20));
        log.warn({ kind: spec.kind, err: String(error), retryInMs: delay }, "Informer failed; restarting");
        await pause(delay, abort.signal);
      }
    }
  }

  return {
    async start() {
      if (!started) {
        started = true;
        for (const spec of options.specs) {
          const state: { synced: boolean; problem?: SyncProblem } = { synced: false };
          pending.set(spec.kind, state);
          let markSynced: () => void = () => undefined;
          synced.push(
            new Promise<void>((resolveSynced) => (markSynced = resolveSynced)).then(() => {
              state.synced = true;
            }),
          );
          const abort = new AbortController();
          controllers.push(abort);
          loops.push(run(spec, markSynced, abort, (problem) => (state.problem = problem)));
        }
      }
      // A first list or watch that fails is retried with backoff, up to the sync timeout.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolveTimeout) => {
        timer = setTimeout(() => resolveTimeout("timeout"), syncTimeoutMs);
      });
      const outcome = await Promise.race([Promise.all(synced), timeout]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        // Nothing keeps retrying in the background of a process that is about to exit.
        for (const controller of controllers) controller.abort();
        const missing = [...pending].filter(([, state]) => !state.synced).map(([kind, state]) => describeProblem(kind, state.problem));
        throw new CacheSyncError(`the informers did not sync within ${syncTimeoutMs / 1000}s: ${missing.join("; ")}`);
      }
      log.info({ kinds: options.specs.map((s) => s.kind) }, "Informers synced");
    },
    async stop() {
      for (const controller of controllers) controller.abort();
      await Promise.all(loops);
    },
  };
}
