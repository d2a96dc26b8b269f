import { inject } from "vitest";
import { kubectl, KubectlError } from "../../operator/src/local/kubectl.ts";

export interface ClusterInfo {
  dir: string;
  kubeconfig: string;
  kubectl: string;
  binDir: string;
  server: string;
  kubernetesVersion: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export const cluster = (): ClusterInfo => inject("cluster");

/** kubectl against the test cluster, as its admin. */
export const k = (args: string[], input?: string): Promise<string> => kubectl(cluster(), args, input === undefined ? {} : { input });

export async function kJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await k([...args, "-o", "json"])) as T;
}

/** Runs kubectl expecting it to fail; returns its stderr (and fails the test if it succeeded). */
export async function kFails(args: string[], input?: string): Promise<string> {
  try {
    await k(args, input);
  } catch (error) {
    if (error instanceof KubectlError) return error.stderr;
    throw error;
  }
  throw new Error(`expected kubectl ${args.join(" ")} to fail, but it succeeded`);
}

/** Polls until `check` returns a value other than undefined, or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T | undefined>, options: { timeoutMs?: number; what: string }): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${options.what}${last ? `: ${String(last)}` : ""}`);
}
