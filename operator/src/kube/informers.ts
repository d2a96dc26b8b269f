import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { createKubeClient, type KubeClient, type KubeList, type KubeObject } from "./client.ts";
import { collectionPath, type Kind, type Resources } from "./resources.ts";
import { trimManagedFieldsInPlace, type ObjectStore } from "./store.ts";

/** Objects per list request (client-go's reflector uses 500 too). */
const LIST_PAGE_SIZE = 500;

export interface InformerSpec {
  kind: Kind;
  labelSelector?: string;
}

export interface InformerSet {
  /** Lists and starts watching everything; resolves once every informer has its first list. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface InformerOptions {
  kubeConfig: KubeConfig;
  /** Unused since lists page (Resources.list cannot); optional so callers can stop passing it. */
  resources?: Resources;
  store: ObjectStore;
  specs: InformerSpec[];
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Backoff for restarting a failed informer. */
  backoff?: { baseMs: number; maxMs: number };
}

/**
 * One client-node ListWatch per kind, feeding the shared store. client-node re-lists by itself on
 * 410 Gone, but any other error stops the informer for good (1.4.0); here it is restarted with
 * exponential backoff, resuming from its last resourceVersion (a 410 then triggers the re-list).
 */
export function createInformerSet(options: InformerOptions): InformerSet {
  const { store, log } = options;
  const backoff = options.backoff ?? { baseMs: 200, maxMs: 30_000 };
  const watch = new Watch(options.kubeConfig);
  let client: KubeClient | undefined;
  // Lists page with limit/continue, which Resources.list does not pass; a client of its own.
  const listClient = (): KubeClient => (client ??= createKubeClient(options.kubeConfig));
  const informers: ListWatch<KubernetesObject>[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  function makeOne(spec: InformerSpec): { informer: ListWatch<KubernetesObject>; synced: Promise<void> } {
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const items: KubeObject[] = [];
      let resourceVersion: string | undefined;
      let apiVersion = "";
      let continueToken: string | undefined;
      // In pages, as client-go's reflector lists: one answer for 5,000 TenantPlacements was tens of
      // MB of JSON held as one string while it was parsed, the operator's memory peak on every
      // restart. Every page is from the first page's snapshot; an expired continue token (410)
      // fails the list and the informer restarts it with backoff.
      do {
        const page = await listClient().request<KubeList & { apiVersion?: string }>({
          method: "GET",
          path: collectionPath(spec.kind),
          query: { labelSelector: spec.labelSelector, limit: LIST_PAGE_SIZE, continue: continueToken },
        });
        resourceVersion ??= page.metadata.resourceVersion;
        apiVersion ||= page.apiVersion ?? "";
        // List items come without kind/apiVersion (watch events have them); add them back so every
        // object in the store is self-describing.
        for (const item of page.items) items.push(Object.assign(item, { kind: spec.kind, apiVersion: item.apiVersion ?? apiVersion }));
        continueToken = page.metadata.continue || undefined;
      } while (continueToken);
      return { apiVersion, kind: `${spec.kind}List`, metadata: { ...(resourceVersion ? { resourceVersion } : {}) }, items } as unknown as KubernetesListObject<KubernetesObject>;
    };
    const informer = new ListWatch<KubernetesObject>(collectionPath(spec.kind), watch, listFn, false, spec.labelSelector);
    const toObject = (obj: KubernetesObject): KubeObject => {
      // In place, on the informer's own copy, before anyone else holds it: its cache then keeps
      // the trimmed object too, instead of a second full copy beside the store's.
      trimManagedFieldsInPlace(spec.kind, obj as KubeObject);
      return { ...(obj as KubeObject), kind: spec.kind };
    };
    informer.on("add", (obj) => store.upsert(spec.kind, toObject(obj)));
    informer.on("update", (obj) => store.upsert(spec.kind, toObject(obj)));
    informer.on("delete", (obj) => store.remove(spec.kind, toObject(obj)));

    let failures = 0;
    let markSynced: () => void = () => undefined;
    const synced = new Promise<void>((resolveSynced) => (markSynced = resolveSynced));
    informer.on("error", (error: unknown) => {
      if (stopped) return;
      failures += 1;
      const delay = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(failures - 1, 20));
      log.warn({ kind: spec.kind, err: String(error), retryInMs: delay }, "Informer failed; restarting");
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (stopped) return;
        informer
          .start()
          .then(() => {
            // start() also resolves when its list failed (reported through "error" again).
            if (informer.latestResourceVersion() === "") return;
            failures = 0;
            markSynced();
          })
          .catch((startError: unknown) => log.warn({ kind: spec.kind, err: String(startError) }, "Informer restart failed"));
      }, delay);
      timers.add(timer);
    });
    return { informer, synced };
  }

  const built = options.specs.map(makeOne);
  informers.push(...built.map((b) => b.informer));

  return {
    async start() {
      // ListWatch.start resolves after its list and the watch request, or after an error it reported
      // through the error callback; `synced` resolves once a start has actually succeeded.
      await Promise.all(
        built.map(async ({ informer, synced }) => {
          await informer.start();
          // An empty resourceVersion means the first list failed; the restart path resolves `synced`.
          if (informer.latestResourceVersion() === "") await synced;
        }),
      );
      log.info({ kinds: options.specs.map((s) => s.kind) }, "Informers synced");
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(informers.map((informer) => informer.stop()));
    },
  };
}
