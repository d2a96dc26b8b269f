import type { IncomingMessage } from "node:http";
import { Agent, request, type RequestOptions } from "node:https";
import { systemClock, type Clock } from "./clock.ts";
import type { ClusterAccess, Credentials } from "./kubeconfig.ts";
import { createTokenBucket, MAX_RETRIES, retryDelayMs, unlimited } from "./rateLimit.ts";

/** A Kubernetes object as JSON: what the API server sends and accepts, with no client-side model. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    managedFields?: unknown[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

const REQUEST_TIMEOUT_MS = 60_000;
const CREDENTIALS_TTL_MS = 1_000;

/** An error answer of the API server, with its HTTP status and the Status object's reason. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
}

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface KubeClient {
  request<T>(spec: RequestSpec): Promise<T>;
  /** Number of requests by HTTP method since creation: lets tests and benchmarks count writes. */
  readonly counts: Readonly<Record<string, number>>;
}

/** A KubeClient that can also hold a response open and hand over its body as it arrives (watches). */
export interface StreamingKubeClient extends KubeClient {
  /**
   * Sends a GET and resolves with the response once a 2xx status arrived (any other rejects with
   * ApiError, like request). The connection may stay silent for up to `idleTimeoutMs`; after that
   * the response is destroyed with an error.
   */
  stream(spec: RequestSpec, idleTimeoutMs: number): Promise<IncomingMessage>;
}

/**
 * Largest response body read into memory (the informers page kinds whose objects can be large, so
 * a page stays under it); anything larger (a misbehaving proxy, a hostile endpoint, a flood of
 * big labelled objects) ends the request instead of the process.
 */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** How long a superseded connection pool lives on for the requests already sent through it. */
const RETIRED_AGENT_MS = 2 * REQUEST_TIMEOUT_MS;

export function readBody(res: IncomingMessage, maxBytes: number = MAX_RESPONSE_BYTES): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy(new Error(`the response is larger than ${maxBytes} bytes; refused`));
        return;
      }
      chunks.push(chunk);
    });
    res.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
    // Closed mid-body without an error event (settles nothing when "end" or "error" came first).
    res.on("close", () => reject(new Error("the connection closed before the response ended")));
  });
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (e.g. a proxy's HTML error page, or /metrics): keep the text.
    return text;
  }
}

function apiError(spec: RequestSpec, status: number, text: string): ApiError {
  const body = parseBody(text);
  const statusObject = (typeof body === "object" && body !== null ? body : {}) as { reason?: string; message?: string };
  return new ApiError(status, statusObject.reason ?? "", `${spec.method} ${spec.path}: ${status} ${statusObject.message ?? text.slice(0, 500)}`, body);
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, clock: Clock, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolveSleep, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolveSleep();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A small JSON client over node:https with one keep-alive agent. client-node's generated clients
 * turn timestamps into Date objects and build a new TLS agent per call; the operator wants plain
 * JSON (what the informers' watches deliver too) and connection reuse under load.
 *
 * Like a client-go clientset, every request first takes a token from the client's own bucket
 * (access.rateLimit), and an answer of 429 (or a 5xx with Retry-After) is retried after the
 * Retry-After the server gave, bounded, up to MAX_RETRIES times.
 */
export function createKubeClient(access: ClusterAccess, settings: { clock?: Clock } = {}): StreamingKubeClient {
  const clock = settings.clock ?? systemClock;
  const limiter = access.rateLimit && access.rateLimit.qps > 0 ? createTokenBucket(access.rateLimit, clock) : unlimited;
  const server = new URL(access.server);
  // A server URL with a path (an API proxy) prefixes every request's path.
  const prefix = server.pathname.replace(/\/+$/, "");
  // node:https wants an IPv6 address without the URL's brackets.
  const hostname = server.hostname.replace(/^\[(.*)\]$/, "$1");
  const counts: Record<string, number> = {};
  let agent: { agent: Agent; cert: Buffer | undefined; key: Buffer | undefined } | undefined;

  let cachedCredentials: { at: number; credentials: Credentials } | undefined;
  /**
   * The Authorization header (and an exec plugin's client certificate). Asked for at most once a
   * second, not per request: tokens from exec plugins or projected ServiceAccount files rotate (on
   * a scale of minutes), and reading the token file on every request is needless work under load.
   * A 401 drops the cached copy (and the exec plugin's), so a token that expired early is replaced
   * on the next request.
   */
  async function credentials(): Promise<Credentials> {
    const now = Date.now();
    if (cachedCredentials && now - cachedCredentials.at < CREDENTIALS_TTL_MS) return cachedCredentials.credentials;
    const fresh = await access.credentials();
    cachedCredentials = { at: now, credentials: fresh };
    return fresh;
  }

  /** The keep-alive agent, made anew only when an exec plugin hands over a different client certificate. */
  function agentFor(creds: Credentials): Agent {
    const cert = creds.cert ?? access.cert;
    const key = creds.key ?? access.key;
    if (agent && agent.cert === cert && agent.key === key) return agent.agent;
    // The old pool (a rotated client certificate) is closed once the requests in flight on it are
    // done, instead of keeping its idle sockets, and the old key's TLS sessions, open for good.
    const retired = agent?.agent;
    if (retired) setTimeout(() => retired.destroy(), RETIRED_AGENT_MS).unref();
    agent = {
      cert,
      key,
      agent: new Agent({
        keepAlive: true,
        maxSockets: 64,
        ca: access.ca,
        cert,
        key,
        ...(access.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
        ...(access.tlsServerName ? { servername: access.tlsServerName } : {}),
      }),
    };
    return agent.agent;
  }

  async function options(spec: RequestSpec, payload: string | undefined): Promise<RequestOptions> {
    const creds = await credentials();
    const url = new URL(`${prefix}${spec.path}`, server);
    for (const [key, value] of Object.entries(spec.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return {
      hostname,
      port: url.port || 443,
      path: `${url.pathname}${url.search}`,
      method: spec.method,
      agent: agentFor(creds),
      headers: {
        ...access.headers,
        ...(creds.authorization ? { Authorization: creds.authorization } : {}),
        Accept: "application/json",
        // An explicit length: Node would otherwise send a DELETE's body chunked, and on a kept-alive
        // connection the API server then misreads the next request ("400 Bad Request").
        ...(payload !== undefined ? { "Content-Type": spec.contentType ?? "application/json", "Content-Length": Buffer.byteLength(payload) } : {}),
      },
      ...(spec.signal ? { signal: spec.signal } : {}),
    };
  }

  /** Sends `spec`; resolves with the response once its status line arrived. */
  async function open(spec: RequestSpec, payload: string | undefined, idleTimeoutMs: number): Promise<IncomingMessage> {
    const opts = await options(spec, payload);
    counts[spec.method] = (counts[spec.method] ?? 0) + 1;
    return new Promise<IncomingMessage>((resolveResponse, reject) => {
      let response: IncomingMessage | undefined;
      const req = request(opts, (res) => {
        response = res;
        const status = res.statusCode ?? 0;
        if (status === 401) {
          cachedCredentials = undefined;
          access.invalidate();
        }
        resolveResponse(res);
      });
      // Also after the response arrived: an error then reaches the response's own listeners.
      req.on("error", reject);
      // A hung connection must not hold a worker (or a watch) forever.
      req.setTimeout(idleTimeoutMs, () => {
        const error = new Error(`${spec.method} ${spec.path}: no answer within ${idleTimeoutMs / 1000}s`);
        if (response) response.destroy(error);
        else req.destroy(error);
      });
      req.end(payload);
    });
  }

  /** open(), after the rate limiter, retrying what the server asked to be retried later. */
  async function openPaced(spec: RequestSpec, payload: string | undefined, idleTimeoutMs: number): Promise<IncomingMessage> {
    for (let retries = 0; ; retries++) {
      await limiter.take(spec.signal);
      const res = await open(spec, payload, idleTimeoutMs);
      const retryAfter = res.headers["retry-after"];
      const delay = retries < MAX_RETRIES ? retryDelayMs(res.statusCode ?? 0, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : undefined;
      if (delay === undefined) return res;
      // Read to the end, so the kept-alive connection can carry the retry.
      await readBody(res).catch(() => undefined);
      await sleep(delay, clock, spec.signal);
    }
  }

  async function send<T>(spec: RequestSpec): Promise<T> {
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    // No single API call should take this long.
    const res = await openPaced(spec, payload, REQUEST_TIMEOUT_MS);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return parseBody(text) as T;
    throw apiError(spec, status, text);
  }

  async function stream(spec: RequestSpec, idleTimeoutMs: number): Promise<IncomingMessage> {
    const res = await openPaced(spec, undefined, idleTimeoutMs);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw apiError(spec, status, await readBody(res));
  }

  return { request: send, stream, counts };
}
