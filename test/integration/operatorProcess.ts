import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../operator/src/local/ports.ts";
import { cluster } from "./cluster.ts";
import { waitForOperator } from "../poll.ts";

const landlordBin = join(import.meta.dirname, "../../bin/landlord.mjs");

export interface OperatorProcess {
  child: ChildProcess;
  healthPort: number;
  metricsPort: number;
  logs: () => string;
  /** Whether /readyz answers 200 right now. */
  ready(): Promise<boolean>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to release anything. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Operators still running when this test worker exits (a test file whose afterAll threw before it
 * stopped its operator). They are killed then: a leftover operator without a lease would reconcile
 * against the next file's, and the two would keep rewriting each other's status.
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Runs `landlord operator` as its own process, the way the chart's Deployment does: on free ports,
 * authenticated as the chart's ServiceAccount (a TokenRequest token, not the admin), with
 * POD_NAMESPACE set to the release namespace as the downward API would. A permission the chart does
 * not grant therefore fails the test that needs it. `extraArgs` come last, so a test may override
 * any of these (e.g. `--kubeconfig` with the admin's, to test something other than RBAC).
 */
export async function startOperatorProcess(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<OperatorProcess> {
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const { operator } = cluster();
  const inherited = { ...process.env };
  // The test runner's own KUBECONFIG must not leak in: --kubeconfig decides.
  delete inherited.KUBECONFIG;
  delete inherited.LANDLORD_KUBECONFIG;
  const child = spawn(
    process.execPath,
    // --expose-gc as the image's entrypoint and bin/landlord.mjs's shebang: the operator as it runs.
    ["--expose-gc", landlordBin, "operator", "--kubeconfig", operator.kubeconfig, "--metrics-port", String(metricsPort), "--health-port", String(healthPort), "--bind-address", "127.0.0.1", ...extraArgs],
    { env: { ...inherited, POD_NAMESPACE: operator.namespace, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  // Kept beside the control plane's logs, so a failed run can be read afterwards.
  const logFile = join(cluster().dir, `operator-${healthPort}.log`);
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    appendFileSync(logFile, chunk);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  running.add(child);
  const exited = new Promise<number | null>((resolveExit) =>
    child.on("exit", (code) => {
      running.delete(child);
      resolveExit(code);
    }),
  );
  const ready = async (): Promise<boolean> => {
    try {
      const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      return res.status === 200;
    } catch {
      return false;
    }
  };
  let alive = true;
  void exited.then(() => (alive = false));
  return {
    child,
    healthPort,
    metricsPort,
    logs: () => output,
    ready,
    waitReady: (timeoutMs = 60_000) => waitForOperator({ ready, alive: () => alive, output: () => output }, timeoutMs, 200),
    async stop() {
      if (alive) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (alive) child.kill("SIGKILL");
      await exited;
    },
    exited,
  };
}
