import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../../operator/src/local/ports.ts";
import { waitForOperator } from "../../poll.ts";

const landlordBin = join(import.meta.dirname, "../../../bin/landlord.mjs");

/** Who the operator runs as and where its logs go; usable outside vitest (npm run chaos). */
export interface OperatorTarget {
  /** A kubeconfig with the chart ServiceAccount's token. */
  kubeconfig: string;
  /** The release namespace (POD_NAMESPACE): Lease and token Secret live there. */
  namespace: string;
  /** Where each process' log file is written, beside the control plane's. */
  logDir: string;
}

export interface OperatorProcess {
  child: ChildProcess;
  pid: number;
  healthPort: number;
  metricsPort: number;
  logs(): string;
  healthy(): Promise<boolean>;
  ready(): Promise<boolean>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** The Prometheus text of /metrics, or undefined if it does not answer. */
  metrics(): Promise<string | undefined>;
  alive(): boolean;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to release anything. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Runs `landlord operator` as its own process, as the chart's Deployment does: on free loopback
 * ports, as the chart's ServiceAccount. Unlike test/integration/operatorProcess.ts it needs no
 * vitest context, so the chaos command can use it too. `extraArgs` come last and win.
 */
export async function launchOperator(target: OperatorTarget, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<OperatorProcess> {
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const inherited = { ...process.env };
  delete inherited.KUBECONFIG;
  delete inherited.LANDLORD_KUBECONFIG;
  const child = spawn(
    process.execPath,
    [landlordBin, "operator", "--kubeconfig", target.kubeconfig, "--metrics-port", String(metricsPort), "--health-port", String(healthPort), "--bind-address", "127.0.0.1", ...extraArgs],
    { env: { ...inherited, POD_NAMESPACE: target.namespace, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  if (child.pid === undefined) throw new Error("could not start the operator process");
  const pid = child.pid;
  let output = "";
  const logFile = join(target.logDir, `operator-${pid}.log`);
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    appendFileSync(logFile, chunk);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  let alive = true;
  const exited = new Promise<number | null>((resolveExit) =>
    child.on("exit", (code) => {
      alive = false;
      resolveExit(code);
    }),
  );
  const ready = (): Promise<boolean> => answers(`http://127.0.0.1:${healthPort}/readyz`);
  return {
    child,
    pid,
    healthPort,
    metricsPort,
    logs: () => output,
    healthy: () => answers(`http://127.0.0.1:${healthPort}/healthz`),
    ready,
    waitReady: (timeoutMs = 60_000) => waitForOperator({ ready, alive: () => alive, output: () => output }, timeoutMs, 100),
    async metrics() {
      try {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
        return res.status === 200 ? await res.text() : undefined;
      } catch {
        return undefined;
      }
    },
    alive: () => alive,
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

/** Sum of a counter or gauge over all its label sets in Prometheus text, e.g. landlord_reconcile_total. */
export function metricSum(text: string | undefined, name: string): number {
  if (!text) return 0;
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}
