/**
 * The operator as its own process, `landlord operator`, the way a Deployment runs it:
 * its memory is its own (not the benchmark's), and its CPU competes with the control plane's
 * exactly as it would on a node. With `profile`, Node writes a CPU profile when it exits and a
 * heap snapshot on SIGUSR2.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../operator/src/local/ports.ts";
import { projectRoot } from "../../operator/src/local/paths.ts";
import { cpuSeconds, rssBytes, sleep } from "./cluster.ts";

export interface OperatorProcess {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  /** performance.now() at spawn. */
  spawnedAt: number;
  logs(): string;
  /** GET /metrics, parsed into "name{labels}" → value. */
  metrics(): Promise<Map<string, number>>;
  ready(): Promise<boolean>;
  cpuSeconds(): number;
  rssBytes(): number;
  /** The process's peak RSS so far (VmHWM). */
  peakRssBytes(): number;
  /** Writes a heap snapshot (profile mode only) into the profile directory. */
  heapSnapshot(): Promise<void>;
  /** SIGTERM, and wait for the exit (the CPU profile is written then). */
  stop(): Promise<void>;
}

export interface OperatorOptions {
  kubeconfig: string;
  concurrency?: number;
  /** Directory for --cpu-prof and heap snapshots; no profiling when undefined. */
  profileDir?: string;
  /** Name prefix for the profile files. */
  label?: string;
  /** The script node runs (default bin/landlord.mjs, which runs the sources through tsx). */
  entry?: string;
}

/**
 * Compiles the operator the way `npm run build` does (tsc, tsconfig.build.json), into the
 * benchmark's own git-ignored directory, and returns its entry (run.js) for `entry`: the form the
 * container image runs, without tsx compiling TypeScript in the process.
 */
export function buildCompiled(): string {
  const outDir = join(projectRoot, "bench", "results", "dist");
  try {
    execFileSync(process.execPath, [join(projectRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(projectRoot, "tsconfig.build.json"), "--outDir", outDir], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    // tsc still emits JavaScript when a file has a type error; only a missing output is fatal.
    if (!existsSync(join(outDir, "operator", "src", "cli", "run.js"))) throw error;
    process.stderr.write("bench: tsc reported type errors; measuring the JavaScript it emitted anyway\n");
  }
  return join(outDir, "operator", "src", "cli", "run.js");
}

export async function startOperatorProcess(options: OperatorOptions): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const healthPort = await freePort();
  const env = { ...process.env };
  // --kubeconfig decides; nothing from the benchmark's own environment leaks in.
  delete env.KUBECONFIG;
  delete env.LANDLORD_KUBECONFIG;
  delete env.NODE_OPTIONS;
  // As the image's entrypoint: the idle collection after a burst needs gc() from the start.
  const nodeArgs: string[] = ["--expose-gc"];
  if (options.profileDir) {
    // One directory per process: Node writes a profile per thread (the main thread, and tsx's
    // module loader thread), named by pid and thread id.
    const dir = join(options.profileDir, options.label ?? "operator");
    mkdirSync(dir, { recursive: true });
    nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${dir}`, "--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`);
  }
  const args = [
    ...nodeArgs,
    options.entry ?? join(projectRoot, "bin", "landlord.mjs"),
    "operator",
    "--kubeconfig", options.kubeconfig,
    "--metrics-port", String(metricsPort),
    "--health-port", String(healthPort),
    "--bind-address", "127.0.0.1",
    "--log-level", "warn",
    ...(options.concurrency ? ["--concurrency", String(options.concurrency)] : []),
  ];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer): void => {
    // The tail is enough to say why it failed; a chatty operator must not fill the benchmark's memory.
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolveExit) => child.on("exit", () => resolveExit()));
  let alive = true;
  void exited.then(() => (alive = false));
  const pid = child.pid ?? 0;

  const get = async (port: number, path: string): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`);
  const operator: OperatorProcess = {
    child,
    pid,
    metricsPort,
    spawnedAt,
    logs: () => output,
    async metrics() {
      const text = await (await get(metricsPort, "/metrics")).text();
      const out = new Map<string, number>();
      for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const space = line.lastIndexOf(" ");
        out.set(line.slice(0, space), Number(line.slice(space + 1)));
      }
      return out;
    },
    async ready() {
      if (!alive) throw new Error(`the operator exited:\n${output.slice(-4000)}`);
      try {
        return (await get(healthPort, "/readyz")).status === 200;
      } catch {
        return false;
      }
    },
    cpuSeconds: () => cpuSeconds(pid),
    rssBytes: () => rssBytes(pid),
    peakRssBytes: () => rssBytes(pid, "VmHWM"),
    async heapSnapshot() {
      if (!options.profileDir || !alive) return;
      child.kill("SIGUSR2");
      // Node writes the snapshot synchronously on its main thread; /metrics answers once it is done.
      await sleep(500);
      await get(metricsPort, "/metrics").then((r) => r.text()).catch(() => undefined);
    },
    async stop() {
      if (alive) child.kill("SIGTERM");
      await exited;
    },
  };
  return operator;
}

/** Waits for /readyz (informers synced); returns performance.now() at that moment. */
export async function waitReady(operator: OperatorProcess, timeoutMs = 120_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await operator.ready()) return performance.now();
    await sleep(50);
  }
  throw new Error(`the operator was not ready after ${timeoutMs} ms:\n${operator.logs().slice(-4000)}`);
}

/** Sum of every series of a counter, e.g. landlord_reconcile_total over controller and result. */
export function metricSum(metrics: Map<string, number>, name: string): number {
  let total = 0;
  for (const [key, value] of metrics) if (key === name || key.startsWith(`${name}{`)) total += value;
  return total;
}
