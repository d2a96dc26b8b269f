import { inject } from "vitest";
import { kubectl, KubectlError } from "../../operator/src/local/kubectl.ts";
import { until } from "../poll.ts";

/** Who the operator runs as in the tests: the Helm chart's ServiceAccount, installed by the global setup. */
export interface OperatorIdentity {
  /** A kubeconfig holding a TokenRequest token of the ServiceAccount (not the admin's certificate). */
  kubeconfig: string;
  /** The release namespace: the operator's Lease and its Prometheus token Secret live here. */
  namespace: string;
  serviceAccount: string;
  /** The user name the API server sees, system:serviceaccount:<namespace>:<name>. */
  user: string;
  release: string;
  /** The one Secret the chart lets the operator read (prometheus.tokenSecret). */
  tokenSecret: string;
  /** The chart as rendered and applied by the global setup. */
  rendered: string;
}

export interface ClusterInfo {
  dir: string;
  /** The admin's kubeconfig (system:masters): for the tests' own kubectl, never for the operator. */
  kubeconfig: string;
  kubectl: string;
  binDir: string;
  server: string;
  kubernetesVersion: string;
  /** helm built from its Go module (tools/helm). */
  helm: string;
  operator: OperatorIdentity;
}

declare module "vitest" {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export const cluster = (): ClusterInfo => inject("cluster");

/** kubectl against the test cluster, as its admin. */
export const k = (args: string[], input?: string): Promise<string> => kubectl(cluster(), args, input === undefined ? {} : { input });

/** Objects as one kubectl input: `k(["create", "-f", "-"], listOf([...]))`. */
export const listOf = (items: readonly unknown[]): string => JSON.stringify({ apiVersion: "v1", kind: "List", items });

export async function kJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await k([...args, "-o", "json"])) as T;
}

/** kubectl with the operator's ServiceAccount token: what the operator itself may do. */
export const kAsOperator = (args: string[], input?: string): Promise<string> =>
  kubectl({ kubectl: cluster().kubectl, kubeconfig: cluster().operator.kubeconfig }, args, input === undefined ? {} : { input });

/** Runs kubectl expecting it to fail; returns its stderr (and fails the test if it succeeded). */
export function kFails(args: string[], input?: string): Promise<string> {
  return failing(k, args, input);
}

/** Runs kubectl with the operator's token expecting it to fail; returns its stderr. */
export function kAsOperatorFails(args: string[], input?: string): Promise<string> {
  return failing(kAsOperator, args, input);
}

async function failing(run: (args: string[], input?: string) => Promise<string>, args: string[], input?: string): Promise<string> {
  try {
    await run(args, input);
  } catch (error) {
    if (error instanceof KubectlError) return error.stderr;
    throw error;
  }
  throw new Error(`expected kubectl ${args.join(" ")} to fail, but it succeeded`);
}

/** Polls until `check` returns a value other than undefined, or fails with what it last saw. */
export const eventually = <T>(check: () => Promise<T | undefined>, options: { timeoutMs?: number; what: string }): Promise<T> =>
  until(check, { timeoutMs: options.timeoutMs ?? 30_000, what: options.what, everyMs: 200 });
