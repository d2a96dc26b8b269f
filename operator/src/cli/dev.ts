import { join } from "node:path";
import { crdsDir, defaultLocalDir, examplesDir } from "../local/paths.ts";
import { envLines, localDown, localUp } from "../local/controlPlane.ts";
import { installCrds, kubectl } from "../local/kubectl.ts";
import { pino } from "pino";
import { parseConfig } from "../config.ts";
import { startOperator } from "../controller/manager.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";

export const DEV_HELP = `Usage: landlord dev [--dir DIR] [--keep] [--metrics-port PORT] [--log-level LEVEL]

Starts the embedded local control plane (building it on first use), installs the Landlord CRDs,
applies examples/, runs the operator against it, prints how to point kubectl at it and a live
summary of tenants by tier. Ctrl-C stops the operator and the control plane and removes its state
(unless --keep). Metrics default to port 8080 (0 picks a free one); logs default to warn.

Example:
  npm start     # runs landlord dev
`;

/** "6 tenants: 4 pooled, 1 namespace, 1 unplaced", from the operator's own cache. */
function tenantSummary(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const parts = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tier, n]) => `${n} ${tier}`);
  return `${total} tenants${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

export async function devCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    dir: { type: "string" },
    keep: { type: "boolean" },
    "metrics-port": { type: "string" },
    "log-level": { type: "string" },
  });
  const dir = typeof values.dir === "string" ? values.dir : defaultLocalDir();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const state = await localUp({ dir, log });
  const target = { kubectl: join(state.binDir, "kubectl"), kubeconfig: state.kubeconfig };
  await installCrds(target, crdsDir);
  await kubectl(target, ["apply", "--server-side", "--field-manager=landlord-examples", "-f", examplesDir]);
  const parsed = parseConfig(
    ["--kubeconfig", state.kubeconfig, "--metrics-port", String(values["metrics-port"] ?? "8080"), "--health-port", "0", "--bind-address", "127.0.0.1", "--log-level", String(values["log-level"] ?? "warn")],
    process.env,
  );
  if (!parsed.ok) throw new UsageError(parsed.error);
  const operator = await startOperator(parsed.config, pino({ level: parsed.config.logLevel, base: { component: "landlord" } }));
  process.stdout.write(
    [
      "",
      `Landlord's local control plane runs at ${state.server} with the CRDs and examples installed.`,
      "In another terminal:",
      ...envLines(state).map((line) => `  ${line}`),
      "  kubectl get landlord",
      "",
      `The operator runs here; its metrics are on http://127.0.0.1:${operator.metricsPort}/metrics.`,
      "Try: kubectl patch tp globex --type=merge -p '{\"spec\":{\"tier\":{\"mode\":\"Pinned\",\"pinned\":\"namespace\"}}}'",
      "",
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  let lastSummary = "";
  const summarize = (): void => {
    const summary = tenantSummary(operator.tenantsByTier());
    if (summary !== lastSummary) process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${summary}\n`);
    lastSummary = summary;
  };
  summarize();
  // The interval also keeps the event loop alive: signal listeners alone do not.
  const timer = setInterval(summarize, 5_000);
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  clearInterval(timer);
  await operator.stop();
  if (!values.keep) await localDown({ dir, log });
  return 0;
}
