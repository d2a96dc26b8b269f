import { execFile } from "node:child_process";

export interface KubectlTarget {
  /** Path of the kubectl binary to run. */
  kubectl: string;
  kubeconfig: string;
}

export class KubectlError extends Error {
  override name = "KubectlError";
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number,
    readonly stdout: string,
  ) {
    super(message);
  }
}

/** Runs kubectl against one cluster; rejects with its stderr when it exits non-zero. */
export function kubectl(target: KubectlTarget, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      target.kubectl,
      ["--kubeconfig", target.kubeconfig, ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === "number" ? error.code : 1;
          reject(new KubectlError(`kubectl ${args.join(" ")} failed: ${stderr.trim() || error.message}`, stderr, code, stdout));
        } else {
          resolveRun(stdout);
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Installs the CRDs server-side and waits until the API server serves them. */
export async function installCrds(target: KubectlTarget, crdsDir: string): Promise<void> {
  await kubectl(target, ["apply", "--server-side", "--field-manager=landlord-install", "-f", crdsDir]);
  await kubectl(target, ["wait", "--for=condition=Established", "--timeout=60s", "-f", crdsDir]);
  // kubectl caches discovery on disk; the apply above cached it from before the CRDs existed, and
  // category lookups (`kubectl get landlord`) never refresh on a miss. `api-resources` does.
  const served = (await kubectl(target, ["api-resources", "--api-group=landlord.dev", "-o", "name"])).split("\n").filter(Boolean);
  // Established does not mean listable: the API server answers 429 "storage is (re)initializing"
  // until each new resource's watch cache is ready. Clients started right after would see it.
  const deadline = Date.now() + 30_000;
  for (const resource of served) {
    for (;;) {
      try {
        // The same unpaginated list an informer starts with.
        await kubectl(target, ["get", "--raw", `/apis/landlord.dev/v1alpha1/${resource.split(".")[0]}`]);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
