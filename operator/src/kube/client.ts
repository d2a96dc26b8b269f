import { Agent, request, type RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

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

/**
 * A small JSON client over node:https with one keep-alive agent. client-node's generated clients
 * turn timestamps into Date objects and build a new TLS agent per call; the operator wants plain
 * JSON (what the informers' watches deliver too) and connection reuse under load.
 */
export function createKubeClient(kubeConfig: KubeConfig): KubeClient {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster; set its current-context");
  const server = new URL(cluster.server);
  let agent: Agent | undefined;
  const counts: Record<string, number> = {};

  let cachedCredentials: { at: number; opts: RequestOptions } | undefined;
  /**
   * The kubeconfig's TLS material and Authorization header. Re-read at most once a second, not per
   * request: tokens from exec plugins or projected ServiceAccount files rotate (on a scale of
   * minutes), but applyToHTTPSOptions also decodes the CA, certificate and key again, or reads them
   * from their files in-cluster, on every call — a tenth of the operator's CPU while converging.
   * A 401 drops the cached copy, so a token that expired early is replaced on the next request.
   */
  async function credentials(): Promise<RequestOptions> {
    const now = Date.now();
    if (cachedCredentials && now - cachedCredentials.at < CREDENTIALS_TTL_MS) return cachedCredentials.opts;
    const opts: RequestOptions = { headers: {} };
    await kubeConfig.applyToHTTPSOptions(opts);
    cachedCredentials = { at: now, opts };
    return opts;
  }

  async function options(spec: RequestSpec, payload: string | undefined): Promise<RequestOptions> {
    const opts = await credentials();
    agent ??= new Agent({ keepAlive: true, maxSockets: 64, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized });
    const url = new URL(spec.path, server);
    for (const [key, value] of Object.entries(spec.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return {
      host: url.hostname,
      port: url.port || 443,
      path: `${url.pathname}${url.search}`,
      method: spec.method,
      agent,
      headers: {
        ...opts.headers,
        Accept: "application/json",
        // An explicit length: Node would otherwise send a DELETE's body chunked, and on a kept-alive
        // connection the API server then misreads the next request ("400 Bad Request").
        ...(payload !== undefined ? { "Content-Type": spec.contentType ?? "application/json", "Content-Length": Buffer.byteLength(payload) } : {}),
      },
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(spec.signal ? { signal: spec.signal } : {}),
    };
  }

  async function send<T>(spec: RequestSpec): Promise<T> {
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const opts = await options(spec, payload);
    counts[spec.method] = (counts[spec.method] ?? 0) + 1;
    return new Promise<T>((resolveRequest, reject) => {
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON (e.g. a proxy's HTML error page): keep the text for the message.
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolveRequest(body as T);
            return;
          }
          if (status === 401) cachedCredentials = undefined;
          const statusObject = (typeof body === "object" && body !== null ? body : {}) as { reason?: string; message?: string };
          reject(new ApiError(status, statusObject.reason ?? "", `${spec.method} ${spec.path}: ${status} ${statusObject.message ?? text.slice(0, 500)}`, body));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      // No single API call should take this long; a hung connection must not hold a worker forever.
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${spec.method} ${spec.path}: no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)));
      req.end(payload);
    });
  }

  return { request: send, counts };
}

/** A kubeconfig file when given, else KUBECONFIG or ~/.kube/config, else in-cluster credentials. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
