import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiError, createKubeClient, type KubeObject } from "../../../operator/src/kube/client.ts";
import { CacheSyncError, createInformerSet, type InformerSet } from "../../../operator/src/kube/informers.ts";
import type { ClusterAccess } from "../../../operator/src/kube/kubeconfig.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";
import { watch } from "../../../operator/src/kube/watch.ts";
import { ensurePki, type Pki } from "../../../operator/src/local/pki.ts";
import { hasOpenssl } from "./openssl.ts";

const TENANTS = "/apis/landlord.dev/v1alpha1/tenantplacements";
const NAMESPACES = "/api/v1/namespaces";

interface Event {
  rv: number;
  path: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
}

/**
 * Just enough of an API server for informers: paged lists from a snapshot, watches from a
 * resourceVersion (ERROR 410 below the compaction point), bookmarks on demand, watch timeouts,
 * and a way to drop every connection (a restart).
 */
class FakeApiServer {
  rv = 100;
  compactedBelow = 0;
  readonly objects = new Map<string, Map<string, KubeObject>>([
    [TENANTS, new Map()],
    [NAMESPACES, new Map()],
  ]);
  private readonly log: Event[] = [];
  private readonly watchers = new Set<{ path: string; res: ServerResponse }>();
  private readonly sockets = new Set<Socket>();
  private readonly snapshots = new Map<string, KubeObject[]>();
  readonly requests: string[] = [];
  /** Status codes to answer the next requests with, by "LIST path" or "WATCH path". */
  readonly failNext = new Map<string, number[]>();
  /** Authorization headers seen. */
  readonly authorizations: string[] = [];
  /** Answer 401 to requests with these Authorization headers. */
  readonly rejectTokens = new Set<string>();
  server!: Server;
  port = 0;

  async start(pki: Pki): Promise<void> {
    this.server = createServer({ key: readFileSync(pki.servingKey), cert: readFileSync(pki.servingCert) }, (req, res) => this.handle(req, res));
    this.server.on("secureConnection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Every connection closes at once, as when the API server restarts. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.watchers.clear();
  }

  write(path: string, type: Event["type"], name: string, extra: Record<string, unknown> = {}): KubeObject {
    const objects = this.objects.get(path) as Map<string, KubeObject>;
    const rv = ++this.rv;
    const kind = path === TENANTS ? "TenantPlacement" : "Namespace";
    const object: KubeObject = {
      apiVersion: path === TENANTS ? "landlord.dev/v1alpha1" : "v1",
      kind,
      metadata: { name, resourceVersion: String(rv), managedFields: [{ manager: "kubectl", subresource: "status" }, { manager: "kubectl" }] },
      ...extra,
    };
    if (type === "DELETED") objects.delete(name);
    else objects.set(name, object);
    const event = { rv, path, type, object };
    this.log.push(event);
    for (const watcher of this.watchers) if (watcher.path === path) watcher.res.write(`${JSON.stringify({ type, object })}\n`);
    return object;
  }

  bookmark(path: string): void {
    const rv = ++this.rv;
    for (const watcher of this.watchers) {
      if (watcher.path === path) watcher.res.write(`${JSON.stringify({ type: "BOOKMARK", object: { kind: "Bookmark", metadata: { resourceVersion: String(rv) } } })}\n`);
    }
  }

  /** etcd compaction: watches from before now answer 410. */
  compact(): void {
    this.compactedBelow = this.rv;
  }

  watching(path: string): number {
    return [...this.watchers].filter((w) => w.path === path).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://localhost");
    const path = url.pathname.replace(/^\/prefix/, "");
    const isWatch = url.searchParams.get("watch") === "true";
    const verb = `${isWatch ? "WATCH" : "LIST"} ${path}`;
    this.requests.push(`${verb}${isWatch ? ` rv=${url.searchParams.get("resourceVersion")}` : ""}`);
    const authorization = req.headers.authorization ?? "";
    this.authorizations.push(authorization);
    const status = (code: number, reason: string): void => {
      res.writeHead(code, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message: `${reason} (fake)` }));
    };
    if (this.rejectTokens.has(authorization)) return status(401, "Unauthorized");
    const failure = this.failNext.get(verb)?.shift();
    if (failure) return status(failure, "InternalError");
    const objects = this.objects.get(path);
    if (!objects) return status(404, "NotFound");

    if (!isWatch) {
      const limit = Number(url.searchParams.get("limit") ?? "0");
      const token = url.searchParams.get("continue");
      let items: KubeObject[];
      let offset = 0;
      let listRv = String(this.rv);
      if (token) {
        const [snapshotRv = "", at = "0"] = token.split(":");
        items = this.snapshots.get(`${path}@${snapshotRv}`) ?? [];
        offset = Number(at);
        listRv = snapshotRv;
      } else {
        items = [...objects.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
        this.snapshots.set(`${path}@${listRv}`, items);
      }
      const end = limit ? offset + limit : items.length;
      // List items come without kind and apiVersion, as from the real API server.
      const page = items.slice(offset, end).map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => structuredClone(rest));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ apiVersion: path === TENANTS ? "landlord.dev/v1alpha1" : "v1", kind: "List", metadata: { resourceVersion: listRv, ...(end < items.length ? { continue: `${listRv}:${end}` } : {}) }, items: page }));
      return;
    }

    const from = Number(url.searchParams.get("resourceVersion"));
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    // As the API server does: a watch's headers go out at once, before any event.
    res.flushHeaders();
    if (from < this.compactedBelow) {
      res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired", message: `too old resource version: ${from}` } })}\n`);
      return;
    }
    for (const event of this.log) if (event.path === path && event.rv > from) res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    const watcher = { path, res };
    this.watchers.add(watcher);
    const timeout = setTimeout(() => {
      this.watchers.delete(watcher);
      res.end();
    }, Number(url.searchParams.get("timeoutSeconds")) * 1000);
    res.on("close", () => {
      clearTimeout(timeout);
      this.watchers.delete(watcher);
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.skipIf(!hasOpenssl)("informers, watch and client against a fake API server", () => {
  const dir = mkdtempSync(join(tmpdir(), "landlord-informers-"));
  let pki: Pki;
  let api: FakeApiServer;
  let running: InformerSet[] = [];
  const warnings: string[] = [];
  const log = { warn: (obj: object, msg: string) => warnings.push(`${msg} ${JSON.stringify(obj)}`), info: () => undefined };

  const access = (overrides: Partial<ClusterAccess> = {}): ClusterAccess => ({
    server: `https://127.0.0.1:${api.port}`,
    ca: readFileSync(pki.caCert),
    insecureSkipTlsVerify: false,
    warnings: [],
    headers: {},
    source: "test",
    credentials: async () => ({ authorization: "Bearer good" }),
    invalidate: () => undefined,
    ...overrides,
  });

  const informers = (store: ObjectStore, options: { watchTimeoutSeconds?: number } = {}): InformerSet => {
    const set = createInformerSet({
      access: access(),
      store,
      specs: [{ kind: "TenantPlacement" }, { kind: "Namespace", labelSelector: "landlord.dev/managed-by=landlord" }],
      log,
      backoff: { baseMs: 20, maxMs: 100 },
      watchTimeoutSeconds: () => options.watchTimeoutSeconds ?? 60,
    });
    running.push(set);
    return set;
  };

  beforeAll(() => {
    pki = ensurePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(running.map((set) => set.stop()));
    running = [];
    warnings.length = 0;
    await api.close();
  });
  const fresh = async (): Promise<FakeApiServer> => {
    api = new FakeApiServer();
    await api.start(pki);
    return api;
  };

  it("lists in pages into the store (trimming managedFields), then watches from the list's version", async () => {
    await fresh();
    for (let i = 0; i < 1203; i++) api.write(TENANTS, "ADDED", `t-${String(i).padStart(4, "0")}`);
    api.write(NAMESPACES, "ADDED", "ns-a");
    const listedAt = api.rv;
    const store = new ObjectStore();
    await informers(store).start();
    expect(store.count("TenantPlacement")).toBe(1203);
    const listRequests = api.requests.filter((r) => r.startsWith(`LIST ${TENANTS}`));
    expect(listRequests).toHaveLength(3);
    const tenant = store.get("TenantPlacement", "t-0000");
    expect(tenant).toMatchObject({ kind: "TenantPlacement", apiVersion: "landlord.dev/v1alpha1" });
    // A TenantPlacement keeps its non-status managedFields; anything else keeps none.
    expect(tenant?.metadata.managedFields).toEqual([{ manager: "kubectl" }]);
    expect(store.get("Namespace", "ns-a")?.metadata.managedFields).toBeUndefined();

    await until(() => api.watching(TENANTS) === 1, "the watch");
    expect(api.requests).toContain(`WATCH ${TENANTS} rv=${listedAt}`);
    api.write(TENANTS, "MODIFIED", "t-0001", { spec: { pool: "eu" } });
    api.write(TENANTS, "ADDED", "t-new");
    api.write(TENANTS, "DELETED", "t-0002");
    await until(() => store.get("TenantPlacement", "t-new"), "the ADDED event");
    expect(store.get<KubeObject & { spec?: unknown }>("TenantPlacement", "t-0001")?.spec).toEqual({ pool: "eu" });
    expect(store.get("TenantPlacement", "t-0002")).toBeUndefined();
    expect(store.get("TenantPlacement", "t-new")?.metadata.managedFields).toEqual([{ manager: "kubectl" }]);
    expect(warnings).toEqual([]);
  });

  it("keeps only the objects a spec accepts, from lists and watches, in pages of the spec's size (issue 15)", async () => {
    await fresh();
    for (const name of ["keep-a", "drop-b", "keep-c"]) api.write(NAMESPACES, "ADDED", name);
    const store = new ObjectStore();
    const set = createInformerSet({
      access: access(),
      store,
      specs: [{ kind: "Namespace", accept: (o) => o.metadata.name.startsWith("keep-"), pageSize: 2 }],
      log,
      backoff: { baseMs: 20, maxMs: 100 },
      watchTimeoutSeconds: () => 60,
    });
    running.push(set);
    await set.start();
    expect(store.list("Namespace").map((n) => n.metadata.name).sort()).toEqual(["keep-a", "keep-c"]);
    expect(api.requests.filter((r) => r.startsWith(`LIST ${NAMESPACES}`))).toHaveLength(2);
    await until(() => api.watching(NAMESPACES) === 1, "the watch");
    api.write(NAMESPACES, "ADDED", "drop-d");
    api.write(NAMESPACES, "ADDED", "keep-e");
    await until(() => store.get("Namespace", "keep-e"), "the accepted ADDED event");
    expect(store.get("Namespace", "drop-d")).toBeUndefined();
  });

  it("a watch the server ends is resumed from the last version seen, bookmarks included, without a list", async () => {
    await fresh();
    api.write(TENANTS, "ADDED", "a");
    const store = new ObjectStore();
    await informers(store, { watchTimeoutSeconds: 1 }).start();
    await until(() => api.watching(TENANTS) === 1, "the watch");
    api.write(TENANTS, "MODIFIED", "a");
    api.bookmark(TENANTS);
    const bookmark = api.rv;
    await until(() => api.requests.includes(`WATCH ${TENANTS} rv=${bookmark}`), "a watch from the bookmark", 4000);
    expect(api.requests.filter((r) => r.startsWith(`LIST ${TENANTS}`))).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it("after connections drop and etcd compacted (410), lists again: deletions missed are removed, newer own writes kept", async () => {
    await fresh();
    for (const name of ["keep", "gone", "changed"]) api.write(TENANTS, "ADDED", name);
    const store = new ObjectStore();
    const deleted: string[] = [];
    store.onChange((_kind, object, change) => {
      if (change === "delete") deleted.push(object.metadata.name);
    });
    await informers(store).start();
    await until(() => api.watching(TENANTS) === 1, "the watch");

    // The API server goes away; meanwhile objects change and etcd compacts.
    api.failNext.set(`WATCH ${TENANTS}`, [503, 503]);
    api.dropConnections();
    api.write(TENANTS, "DELETED", "gone");
    api.write(TENANTS, "MODIFIED", "changed", { spec: { v: 2 } });
    api.write(TENANTS, "ADDED", "created");
    api.compact();
    // The operator's own write, answered after the list the informer is about to make: newer than it.
    store.upsert("TenantPlacement", { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: "mine", resourceVersion: String(api.rv + 1000) } });

    await until(() => store.get("TenantPlacement", "created"), "the re-list", 5000);
    expect(store.get("TenantPlacement", "gone")).toBeUndefined();
    expect(deleted).toEqual(["gone"]);
    expect(store.get<KubeObject & { spec?: unknown }>("TenantPlacement", "changed")?.spec).toEqual({ v: 2 });
    expect(store.get("TenantPlacement", "mine")).toBeDefined();
    expect(store.get("TenantPlacement", "keep")).toBeDefined();
    expect(api.requests.filter((r) => r.startsWith(`LIST ${TENANTS}`))).toHaveLength(2);
    // A deleted-then-recreated object is taken again.
    await until(() => api.watching(TENANTS) === 1, "the new watch");
    api.write(TENANTS, "ADDED", "gone");
    await until(() => store.get("TenantPlacement", "gone"), "the re-created object");
    expect(warnings.some((w) => w.startsWith("Informer failed; restarting"))).toBe(true);
  });

  it("start() waits for a first list that fails, retried with backoff; stop() ends the watches", async () => {
    await fresh();
    api.write(NAMESPACES, "ADDED", "ns-a");
    api.failNext.set(`LIST ${NAMESPACES}`, [500, 500, 500]);
    const store = new ObjectStore();
    const set = informers(store);
    await set.start();
    expect(store.get("Namespace", "ns-a")).toBeDefined();
    expect(api.requests.filter((r) => r.startsWith(`LIST ${NAMESPACES}`))).toHaveLength(4);
    expect(warnings.filter((w) => w.startsWith("Informer failed; restarting"))).toHaveLength(3);
    await until(() => api.watching(TENANTS) === 1 && api.watching(NAMESPACES) === 1, "both watches");
    const stopped = Date.now();
    await set.stop();
    expect(Date.now() - stopped).toBeLessThan(1000);
    await until(() => api.watching(TENANTS) === 0 && api.watching(NAMESPACES) === 0, "the watches to close");
  });

  it.each([
    ["list", `LIST ${TENANTS}`, /^the informers did not sync within 0\.6s: TenantPlacement: the API server refused to list tenantplacements\.landlord\.dev \(403 Forbidden: .*\); grant the operator's identity the list verb on tenantplacements\.landlord\.dev$/],
    ["watch", `WATCH ${NAMESPACES}`, /^the informers did not sync within 0\.6s: Namespace: the API server refused to watch namespaces \(403 Forbidden: .*\); grant the operator's identity the watch verb on namespaces$/],
  ])("start() gives up after the sync timeout when the %s verb is forbidden, naming the resource and the verb", async (_, request, message) => {
    await fresh();
    api.failNext.set(request, Array.from({ length: 1000 }, () => 403));
    const set = createInformerSet({
      access: access(),
      store: new ObjectStore(),
      specs: [{ kind: "TenantPlacement" }, { kind: "Namespace", labelSelector: "landlord.dev/managed-by=landlord" }],
      log,
      backoff: { baseMs: 20, maxMs: 100 },
      watchTimeoutSeconds: () => 60,
      syncTimeoutMs: 600,
    });
    running.push(set);
    const error = await set.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheSyncError);
    expect((error as Error).message).toMatch(message);
    // It stopped trying: no request after the failure (once one that was on the wire arrived).
    await sleep(100);
    const sent = api.requests.length;
    await sleep(300);
    expect(api.requests.length).toBe(sent);
  });

  it("watch(): an ERROR event rejects with its Status; an abort resolves", async () => {
    await fresh();
    const client = createKubeClient(access());
    api.compact();
    api.write(TENANTS, "ADDED", "a");
    const error = await watch(client, { path: TENANTS, resourceVersion: "1", timeoutSeconds: 10, onEvent: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 410, reason: "Expired" });

    const controller = new AbortController();
    const seen: string[] = [];
    const watching = watch(client, { path: TENANTS, resourceVersion: String(api.rv - 1), timeoutSeconds: 10, signal: controller.signal, onEvent: (type, o) => seen.push(`${type} ${o.metadata.name}`) });
    await until(() => seen.length === 1, "the replayed event");
    controller.abort();
    await watching;
    expect(seen).toEqual(["ADDED a"]);
  });

  it("the client: a path prefix on the server URL, and a 401 asks for credentials again", async () => {
    await fresh();
    api.write(TENANTS, "ADDED", "a");
    let calls = 0;
    let invalidated = 0;
    const client = createKubeClient(
      access({
        server: `https://127.0.0.1:${api.port}/prefix`,
        credentials: async () => ({ authorization: `Bearer token-${++calls}` }),
        invalidate: () => invalidated++,
      }),
    );
    api.rejectTokens.add("Bearer token-1");
    const failed = await client.request({ method: "GET", path: TENANTS }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ status: 401, reason: "Unauthorized" });
    expect(invalidated).toBe(1);
    // Within the second the credentials are otherwise cached for, the 401 made the client ask again.
    const list = await client.request<{ items: unknown[] }>({ method: "GET", path: TENANTS });
    expect(list.items).toHaveLength(1);
    expect(api.authorizations).toEqual(["Bearer token-1", "Bearer token-2"]);
    await client.request({ method: "GET", path: TENANTS });
    expect(calls).toBe(2);
  });
});
