import { ApiError, createKubeClient, type KubeClient, type KubeObject } from "../kube/client.ts";
import { KubeconfigError, loadClusterAccess, type ClusterAccess } from "../kube/kubeconfig.ts";
import { createResources, type Kind, type Resources } from "../kube/resources.ts";

/** How long one CLI request may take before the cluster counts as unreachable. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface ClusterConnection {
  resources: Resources;
  /** The JSON client under resources, for the few requests that are not one of Landlord's kinds. */
  client: KubeClient;
  /** The API server URL, for messages. */
  server: string;
}

/** A cluster the CLI could not talk to: printed as one line, exit code 1. */
export class ClusterUnreachableError extends Error {
  override name = "ClusterUnreachableError";
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // A dual-stack connect failure is an AggregateError with an empty message: the code says it.
    const message = error.message || (error instanceof AggregateError ? error.errors.map(reasonOf).join(", ") : "");
    if (error.name === "TimeoutError" || error.name === "AbortError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
    if (typeof code === "string" && !message.includes(code)) return message ? `${code} ${message}` : code;
    return message || String(error);
  }
  return String(error);
}

function unreachable(server: string, error: unknown): ClusterUnreachableError {
  return new ClusterUnreachableError(
    `cannot reach the cluster at ${server}: ${reasonOf(error)}; set KUBECONFIG or start one with npx landlord local up`,
  );
}

/** The JSON client with a timeout per request and transport failures turned into one clear line. */
function cliClient(inner: KubeClient, server: string): KubeClient {
  return {
    counts: inner.counts,
    async request<T>(spec: Parameters<KubeClient["request"]>[0]): Promise<T> {
      try {
        return await inner.request<T>({ ...spec, signal: spec.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch (error) {
        if (error instanceof ApiError) {
          if (error.status === 401 || error.status === 403) {
            throw new Error(`the cluster at ${server} refused the request (${error.status} ${error.reason || "Forbidden"}): ${error.message}`);
          }
          throw error;
        }
        throw unreachable(server, error);
      }
    },
  };
}

/**
 * Loads the kubeconfig (`--kubeconfig` path, else KUBECONFIG, else in-cluster credentials) and
 * returns typed resources on it. Reading a missing or broken kubeconfig is one clear error.
 */
export function connect(kubeconfigPath?: string): ClusterConnection {
  let access: ClusterAccess;
  try {
    access = loadClusterAccess(kubeconfigPath);
  } catch (error) {
    // The loader's own errors name the file (or the places looked at) and the problem.
    if (error instanceof KubeconfigError) throw new Error(`${error.message}; set KUBECONFIG or start a cluster with npx landlord local up`);
    const where = kubeconfigPath ?? process.env.KUBECONFIG ?? "the default location";
    throw new Error(`cannot read the kubeconfig at ${where}: ${reasonOf(error)}; set KUBECONFIG or start a cluster with npx landlord local up`);
  }
  // Said once per command, on stderr: kubectl warns the same way.
  for (const warning of access.warnings) process.stderr.write(`landlord: warning: ${warning}\n`);
  const server = access.server;
  let client: KubeClient;
  try {
    client = createKubeClient(access);
  } catch (error) {
    throw unreachable(server, error);
  }
  const wrapped = cliClient(client, server);
  return { resources: createResources(wrapped), client: wrapped, server };
}

/** Lists every object of a Landlord kind; a 404 means the CRDs are not installed, said plainly. */
export async function listAll<T extends KubeObject>(connection: ClusterConnection, kind: Kind, labelSelector?: string): Promise<T[]> {
  try {
    const list = await connection.resources.list<T>(kind, labelSelector ? { labelSelector } : {});
    return list.items;
  } catch (error) {
    if (error instanceof ApiError && error.notFound) {
      throw new Error(`the cluster at ${connection.server} does not serve ${kind} (are the Landlord CRDs installed? kubectl apply -f crds/)`);
    }
    throw error;
  }
}

/** The kubeconfig flag every cluster command takes. */
export const KUBECONFIG_FLAG = { kubeconfig: { type: "string" } } as const;

// ---- the objects as the CLI reads them: raw JSON, any field may be missing ---------------------

export interface ConditionJson {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface TenantObject extends KubeObject {
  spec?: {
    tenantId?: string;
    displayName?: string;
    costCenter?: string;
    policyRef?: string;
    pool?: string;
    tier?: { mode?: string; pinned?: string; floor?: string; ceiling?: string };
    reportedSignals?: Record<string, number>;
  };
  status?: {
    phase?: string;
    tier?: string;
    targetTier?: string;
    pool?: string;
    namespace?: string;
    signals?: Record<string, number>;
    signalsObservedAt?: string;
    recommendation?: { tier?: string; reason?: string; since?: string };
    lastDecision?: string;
    decisionHead?: { name: string; digest: string };
    conditions?: ConditionJson[];
  };
}

export interface DecisionObject extends KubeObject {
  spec?: {
    tenant?: string;
    from?: string;
    to?: string;
    trigger?: string;
    signals?: Record<string, number>;
    rule?: string;
    policy?: { name?: string; generation?: number };
    approval?: { annotation?: string };
    actor?: string;
    reason?: string;
    previous?: { name: string; digest: string; outcome?: string };
    requestedAt?: string;
  };
  status?: { outcome?: string; error?: string; steps?: Array<Record<string, unknown>> };
}

export interface PolicyObject extends KubeObject {
  spec?: Record<string, unknown>;
}

export function conditionOf(tenant: TenantObject, type: string): ConditionJson | undefined {
  return tenant.status?.conditions?.find((c) => c.type === type);
}

export { newestMove } from "../controller/decisions.ts";
