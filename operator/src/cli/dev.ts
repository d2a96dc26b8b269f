import { join } from "node:path";
import { crdsDir, defaultLocalDir, examplesDir } from "../local/paths.ts";
import { envLines, localDown, localUp } from "../local/controlPlane.ts";
import { installCrds, kubectl, type KubectlTarget } from "../local/kubectl.ts";
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

/** "6 tenants: 4 pooled, 1 namespace, 1 unplaced", from each TenantPlacement's status.tier. */
async function tenantSummary(target: KubectlTarget): Promise<string> {
  const list = JSON.parse(await kubectl(target, ["get", "tenantplacements", "-o", "json"])) as { items: { status?: { tier?: string } }[] };
  const counts = new Map<string, number>();
  for (const item of list.items) {
    const tier = item.status?.tier ?? "unplaced";
    counts.set(tier, (counts.get(tier) ?? 0) + 1);
  }
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([tier, n]) => `${n} ${tier}`);
  return `${list.items.length} tenants${parts.length ? `: ${parts.join(", ")}` : ""}`;
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
  let summarizing = false;
  const summarize = async (): Promise<void> => {
    if (summarizing) return;
    summarizing = true;
    const summary = await tenantSummary(target).catch((error: unknown) => `could not list tenants: ${String(error)}`);
    if (summary !== lastSummary) process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${summary}\n`);
    lastSummary = summary;
    summarizing = false;
  };
  await summarize();
  // The interval also keeps the event loop alive: signal listeners alone do not.
  const timer = setInterval(() => void summarize(), 5_000);
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  clearInterval(timer);
  await operator.stop();
  if (!values.keep) await localDown({ dir, log });
  return 0;
}
