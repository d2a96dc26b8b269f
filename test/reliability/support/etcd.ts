/**
 * etcd's v3 JSON gateway (`/v3/kv/*` on the client URL, on by default in etcd 3.6): etcdctl is not
 * built here, and the maintenance calls the fault tests need are two POSTs. Keys are base64.
 */

interface Header {
  header?: { revision?: string };
}

async function call<T>(port: number, path: string, body: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`etcd ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");

/** Writes a key outside the API server's /registry prefix: a new revision that no watcher has seen. */
export async function bumpRevision(port: number): Promise<number> {
  const answer = await call<Header>(port, "/v3/kv/put", { key: b64("/landlord-reliability/bump"), value: b64(new Date().toISOString()) });
  return Number(answer.header?.revision ?? 0);
}

/** The store's current revision. */
export async function currentRevision(port: number): Promise<number> {
  const answer = await call<Header>(port, "/v3/kv/range", { key: b64("/landlord-reliability/bump") });
  return Number(answer.header?.revision ?? 0);
}

/**
 * Compacts the history up to `revision` (physically, waiting until it is done): every watch or read
 * at an older revision is then answered "required revision has been compacted" — 410 Gone by the
 * time it reaches a Kubernetes client.
 */
export async function compact(port: number, revision: number): Promise<void> {
  await call(port, "/v3/kv/compaction", { revision: String(revision), physical: true });
}
