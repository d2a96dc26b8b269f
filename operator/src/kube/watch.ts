import { ApiError, type KubeObject, type StreamingKubeClient } from "./client.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchOptions {
  /** A collection path, e.g. /api/v1/namespaces. */
  path: string;
  /** Events after this version; the informer's last list or event. */
  resourceVersion: string;
  labelSelector?: string;
  /** The API server ends the watch after this long (the caller then watches again). */
  timeoutSeconds: number;
  /** Ends the watch; watch() then resolves. */
  signal?: AbortSignal;
  /** Each event in order; BOOKMARK objects carry only metadata.resourceVersion. */
  onEvent(type: WatchEventType, object: KubeObject): void;
}

/**
 * Longest watch event line accepted. An object is at most ~1.5 MiB in etcd (the API server's
 * request limit is 3 MiB); a line longer than this is not an event, and buffering it without end
 * would let one response exhaust the operator's memory.
 */
export const MAX_WATCH_LINE_CHARS = 16 * 1024 * 1024;

/** With no byte from the API server for this long past timeoutSeconds, the connection counts as dead. */
const IDLE_GRACE_MS = 30_000;

/**
 * One watch request (GET …?watch=true): newline-delimited JSON events until the API server ends it
 * after timeoutSeconds, which resolves; so does an abort through `signal`. An ERROR event rejects
 * with an ApiError carrying its Status (410 Gone: the resourceVersion is too old, list again), as
 * does any failure of the connection.
 */
export async function watch(client: StreamingKubeClient, options: WatchOptions): Promise<void> {
  const { signal } = options;
  let res;
  try {
    res = await client.stream(
      {
        method: "GET",
        path: options.path,
        query: {
          watch: true,
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: options.timeoutSeconds,
          labelSelector: options.labelSelector,
        },
        ...(signal ? { signal } : {}),
      },
      options.timeoutSeconds * 1000 + IDLE_GRACE_MS,
    );
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
  const response = res;

  return new Promise<void>((resolveWatch, rejectWatch) => {
    let settled = false;
    let pending = "";
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      if (error === undefined || signal?.aborted) resolveWatch();
      else rejectWatch(error);
      if (!response.complete) response.destroy();
    };
    const handle = (line: string): void => {
      if (line.trim() === "") return;
      const event = JSON.parse(line) as { type?: string; object?: KubeObject };
      const type = event.type;
      if (type === "ERROR") {
        const status = (event.object ?? {}) as { code?: number; reason?: string; message?: string };
        throw new ApiError(status.code ?? 500, status.reason ?? "", `watch ${options.path}: ${status.code ?? "?"} ${status.message ?? JSON.stringify(status)}`, status);
      }
      if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED" && type !== "BOOKMARK") return;
      if (!event.object?.metadata) throw new Error(`watch ${options.path}: a ${type} event without an object`);
      options.onEvent(type, event.object);
    };
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      if (settled) return;
      pending += chunk;
      let start = 0;
      try {
        for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n", start)) {
          const line = pending.slice(start, end);
          start = end + 1;
          handle(line);
        }
      } catch (error) {
        settle(error);
        return;
      }
      pending = pending.slice(start);
      if (pending.length > MAX_WATCH_LINE_CHARS) settle(new Error(`watch ${options.path}: an event line is longer than ${MAX_WATCH_LINE_CHARS} characters; the watch was ended`));
    });
    response.on("end", () => {
      try {
        handle(pending);
      } catch (error) {
        settle(error);
        return;
      }
      settle();
    });
    response.on("error", (error) => settle(error));
    response.on("close", () => settle(new Error(`watch ${options.path}: the connection closed`)));
  });
}
