import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGoTool } from "../../operator/src/local/goTools.ts";
import { freePort } from "../../operator/src/local/ports.ts";
import { PROMETHEUS_TOOL } from "../../operator/src/local/prometheusTool.ts";
import { sleep, tail } from "../../operator/src/local/processes.ts";

/**
 * A real Prometheus for the signal-source tests: the project's own build (tools/prometheus, cached
 * like the control plane; the integration global setup builds it once) on a loopback port,
 * scraping, every second, a tiny exporter whose series the test sets at run time.
 */

export type Labels = Record<string, string>;

export interface Exporter {
  url: string;
  /** Sets (or adds) one series; the next scrape sees it. */
  setSeries(name: string, labels: Labels, value: number): void;
  /** Removes one series; Prometheus marks it stale on the next scrape and stops returning it. */
  removeSeries(name: string, labels: Labels): void;
  /** The exposition text Prometheus scrapes. */
  text(): string;
}

export interface PrometheusServer {
  /** Base URL of the Prometheus HTTP API, e.g. http://127.0.0.1:40123 */
  url: string;
  version: string;
  exporter: Exporter;
  /**
   * Polls an instant query (through plain HTTP, not the client under test) until it returns
   * `expected`: a number, undefined for "no data", or a predicate on the single value.
   */
  waitForValue(promql: string, expected: number | undefined | ((value: number | undefined) => boolean), timeoutMs?: number): Promise<void>;
  /** Stops Prometheus and the exporter and removes the data directory. */
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  binary?: string;
  /** Scrape interval in seconds; 1 keeps tests short. */
  scrapeIntervalSeconds?: number;
  readyTimeoutMs?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = options.binary ?? (await ensureGoTool(PROMETHEUS_TOOL)).path.prometheus;
  const interval = options.scrapeIntervalSeconds ?? 1;
  if (!binary || !existsSync(binary)) throw new Error(`Prometheus binary ${binary ?? "(none)"} is missing; \`npx landlord local build\` builds it`);
  const version = await prometheusVersion(binary);
  const exporter = await startExporter();
  const dir = mkdtempSync(join(tmpdir(), "landlord-prometheus-"));
  const config = join(dir, "prometheus.yml");
  // JSON is YAML: no YAML library needed and no quoting surprises.
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: `${interval}s` },
      scrape_configs: [{ job_name: "exporter", static_configs: [{ targets: [new URL(exporter.url).host] }] }],
    }),
  );
  const log = join(dir, "prometheus.log");
  let child: ChildProcess | undefined;
  let url = "";
  const cleanup = async (): Promise<void> => {
    process.off("exit", killOnExit);
    if (child) await stopChild(child);
    await exporter.close();
    rmSync(dir, { recursive: true, force: true });
  };
  // If the test process dies without stop(), don't leave a Prometheus behind.
  const killOnExit = (): void => void child?.kill("SIGKILL");
  process.on("exit", killOnExit);

  try {
    // A free port can be taken between asking and listening; try again with another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      child = spawnPrometheus(binary, [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=info",
      ], log);
      const outcome = await waitUntilReady(url, child, log, options.readyTimeoutMs ?? 30_000);
      if (outcome === "ready") break;
      await stopChild(child);
      child = undefined;
      if (outcome === "port-taken" && attempt < 3) continue;
      throw new Error(`Prometheus did not become ready at ${url} (${outcome}); its log:\n${tail(log, 30)}`);
    }
    // Ready means the TSDB is open, not that anything was scraped: wait for the first scrape. It
    // comes about 5 s after start whatever the scrape interval (measured with 2.42): the scrape
    // manager applies discovered targets on a fixed 5 s tick.
    await waitForValue(url, 'up{job="exporter"}', 1, 15_000 + interval * 3000);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const logTail = existsSync(log) && !message.includes("its log:") ? `\nPrometheus log:\n${tail(log, 30)}` : "";
    await cleanup();
    throw new Error(`${message}${logTail}`, { cause: error });
  }

  return {
    url,
    version,
    exporter: exporter.exporter,
    waitForValue: (promql, expected, timeoutMs = 10_000) => waitForValue(url, promql, expected, timeoutMs),
    stop: cleanup,
  };
}

function spawnPrometheus(binary: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    return spawn(binary, args, { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
}

async function prometheusVersion(binary: string): Promise<string> {
  const child = spawn(binary, ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve());
  });
  return /version (\S+)/.exec(out)?.[1] ?? "unknown";
}

type ReadyOutcome = "ready" | "port-taken" | string;

async function waitUntilReady(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<ReadyOutcome> {
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  child.once("error", (error) => (exited = `could not start: ${error.message}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      // The log says "address already in use" when someone took the port first.
      return /address already in use/.test(tail(logFile, 50)) ? "port-taken" : exited;
    }
    try {
      // /-/ready answers 503 until the TSDB is open and the web handler is ready.
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) return "ready";
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return `not ready after ${timeoutMs} ms`;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function instantValue(url: string, promql: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== "success" || !body.data) throw new Error(`query ${promql} failed: HTTP ${response.status} ${body.error ?? ""}`);
  const { resultType, result } = body.data;
  const pair = resultType === "scalar" ? result : resultType === "vector" && Array.isArray(result) ? (result.length === 1 ? (result[0] as { value: unknown }).value : result.length === 0 ? undefined : "many") : "other";
  if (pair === undefined) return undefined;
  if (!Array.isArray(pair)) throw new Error(`query ${promql} did not return at most one sample (${resultType}, ${JSON.stringify(result).slice(0, 200)})`);
  const raw = pair[1] as string;
  return raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
}

async function waitForValue(url: string, promql: string, expected: number | undefined | ((value: number | undefined) => boolean), timeoutMs: number): Promise<void> {
  const matches = typeof expected === "function" ? expected : (value: number | undefined) => Object.is(value, expected);
  const deadline = Date.now() + timeoutMs;
  let last: string = "nothing yet";
  while (Date.now() < deadline) {
    try {
      const value = await instantValue(url, promql);
      if (matches(value)) return;
      last = String(value);
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${promql} to be ${typeof expected === "function" ? "as expected" : String(expected)}; last: ${last}`);
}

// ---------------------------------------------------------------------------------------------
// Exporter

async function startExporter(): Promise<{ url: string; exporter: Exporter; close(): Promise<void> }> {
  const series = new Map<string, string>();
  const key = (name: string, labels: Labels): string => {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    const parts = Object.keys(labels)
      .sort()
      .map((label) => {
        if (!LABEL_NAME.test(label) || label.startsWith("__")) throw new Error(`invalid label name ${JSON.stringify(label)}`);
        return `${label}="${escapeLabelValue(labels[label] as string)}"`;
      });
    return parts.length ? `${name}{${parts.join(",")}}` : name;
  };
  const text = (): string => [...series].map(([id, value]) => `${id} ${value}\n`).join("");
  const server: Server = createServer((req, res) => {
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(text());
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    exporter: {
      url,
      setSeries: (name, labels, value) => void series.set(key(name, labels), formatValue(value)),
      removeSeries: (name, labels) => void series.delete(key(name, labels)),
      text,
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The text format escapes backslash, double quote and newline in label values, nothing else. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
