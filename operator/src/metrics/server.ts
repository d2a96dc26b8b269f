import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface ObservabilityOptions {
  /** 0 picks a free port; the chosen one is returned. */
  metricsPort: number;
  healthPort: number;
  /** Interface to listen on; Node's default (every interface) when omitted. */
  host?: string;
  registry: Registry;
  /**
   * Readiness for /readyz: `true` when ready; `false`, or a string saying why, when not. Exceptions
   * count as not ready, with their message as the reason.
   */
  ready: () => boolean | string;
}

export interface ObservabilityServers {
  metricsPort: number;
  healthPort: number;
  close(): Promise<void>;
}

type Route = (req: IncomingMessage) => Promise<{ status: number; body: string; contentType?: string }>;

/** Prometheus metrics on one port and the kubelet's probes on another, as controller-runtime splits them. */
export async function startObservabilityServers(options: ObservabilityOptions): Promise<ObservabilityServers> {
  const metrics = serve({
    "/metrics": async () => ({ status: 200, body: await options.registry.metrics(), contentType: options.registry.contentType }),
  });
  const health = serve({
    // Liveness only says the event loop answers: restarting cannot fix a cluster that is unreachable.
    "/healthz": async () => ({ status: 200, body: "ok" }),
    "/readyz": async () => {
      let state: boolean | string;
      try {
        state = options.ready();
      } catch (error) {
        state = `readiness check failed: ${error instanceof Error ? error.message : String(error)}`;
      }
      return state === true ? { status: 200, body: "ok" } : { status: 503, body: `not ready${typeof state === "string" && state ? `: ${state}` : ""}` };
    },
  });
  const metricsPort = await listen(metrics, options.metricsPort, options.host, "metrics");
  let healthPort: number;
  try {
    healthPort = await listen(health, options.healthPort, options.host, "health");
  } catch (error) {
    await close(metrics);
    throw error;
  }
  return {
    metricsPort,
    healthPort,
    close: async () => {
      await Promise.all([close(metrics), close(health)]);
    },
  };
}

function serve(routes: Record<string, Route>): Server {
  return createServer((req, res) => {
    void respond(routes, req, res);
  });
}

async function respond(routes: Record<string, Route>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const route = routes[path];
  let answer: { status: number; body: string; contentType?: string };
  if (!route) answer = { status: 404, body: `not found: ${path}; try ${Object.keys(routes).join(" or ")}` };
  else if (req.method !== "GET" && req.method !== "HEAD") answer = { status: 405, body: `method ${req.method} not allowed; use GET` };
  else {
    try {
      answer = await route(req);
    } catch (error) {
      answer = { status: 500, body: `error: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  res.writeHead(answer.status, { "Content-Type": answer.contentType ?? "text/plain; charset=utf-8", ...(answer.status === 405 ? { Allow: "GET, HEAD" } : {}) });
  res.end(req.method === "HEAD" ? undefined : `${answer.body}${answer.body.endsWith("\n") ? "" : "\n"}`);
}

function listen(server: Server, port: number, host: string | undefined, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${host ?? "*"}:${port}`;
      const hint = error.code === "EADDRINUSE" ? `; another process uses it, pick another --${what}-port` : "";
      reject(new Error(`the ${what} server could not listen on ${where}: ${error.message}${hint}`, { cause: error }));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Prometheus and probes keep connections alive; without this close() waits for them to time out.
    server.closeAllConnections();
  });
}
