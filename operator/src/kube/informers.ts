import { ApiError, createKubeClient, type KubeList, type KubeObject, type StreamingKubeClient } from "./client.ts";
import type { ClusterAccess } from "./kubeconfig.ts";
import { collectionPath, type Kind } from "./resources.ts";
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
  /** Lists and starts watching everything; resolves once every informer has its first list. */
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

  async function run(spec: InformerSpec, markSynced: () => void, abort: AbortController): Promise<void> {
    let resourceVersion: string | undefined;
    let listedOnce = false;
    let failures = 0;
    while (!abort.signal.aborted) {
      // Whether the watch below starts right from a list: a 410 then is no reason to list at once again.
      let fresh = false;
      let events = 0;
      const watchStarted = Date.now();
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await list(spec, listedOnce, abort.signal);
          fresh = true;
          if (!listedOnce) {
            listedOnce = true;
            markSynced();
          }
          failures = 0;
        }
        await watch(client, {
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
          let markSynced: () => void = () => undefined;
          synced.push(new Promise<void>((resolveSynced) => (markSynced = resolveSynced)));
          const abort = new AbortController();
          controllers.push(abort);
          loops.push(run(spec, markSynced, abort));
        }
      }
      // A first list that fails is retried with backoff: this waits for every kind's first success.
      await Promise.all(synced);
      log.info({ kinds: options.specs.map((s) => s.kind) }, "Informers synced");
    },
    async stop() {
      for (const controller of controllers) controller.abort();
      await Promise.all(loops);
    },
  };
}
