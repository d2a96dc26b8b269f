import { join } from "node:path";
import { crdsDir, defaultLocalDir, examplesDir } from "../local/paths.ts";
import { envLines, localDown, localUp } from "../local/controlPlane.ts";
import { installCrds, kubectl } from "../local/kubectl.ts";
import { installAdmission } from "../local/admission.ts";
import { pino } from "pino";
import { parseConfig } from "../config.ts";
import { startOperator } from "../controller/manager.ts";
import { UsageError } from "./errors.ts";
import { stackBackend } from "./operator.ts";
import { parseFlags } from "./main.ts";

export const DEV_HELP = `Usage: landlord dev [--dir DIR] [--keep] [--node] [--metrics-port PORT] [--log-level LEVEL]

Starts the embedded local control plane (building it on first use), installs the Landlord CRDs and
the chart's admission policies and persona ClusterRoles (bound to the demo groups landlord-approvers,
landlord-platform-admins, product-team, landlord-reporters and auditors; the local admin is the
operator and exempt), applies examples/ (a pool, the default policy, twenty tenants), runs the operator against it with
the plan provisioner (--provisioner plan: database and account tenants get the AWS resources they
would have, recorded in their status as planned; nothing is created in AWS, whatever credentials
the environment holds), prints how to point kubectl at it and a live count of tenants by tier.
Ctrl-C stops the operator and the control plane and removes its state (unless --keep).

Options:
  --dir DIR             state directory of the control plane (default: .cache/local, as landlord local)
  --keep                keep the control plane's state on exit (landlord local up starts it again)
  --node                also run a node (landlord local up --node: Linux, root, containerd), so the
                        migration Jobs of a policy's migration.jobTemplate really run in pods
  --metrics-port PORT   operator metrics on http://127.0.0.1:PORT/metrics (default 8080; 0 picks a free one)
  --log-level LEVEL     operator logs on stderr (default warn)

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
    node: { type: "boolean" },
    "metrics-port": { type: "string" },
    "log-level": { type: "string" },
  });
  const dir = typeof values.dir === "string" ? values.dir : defaultLocalDir();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const state = await localUp({ dir, log, node: values.node === true });
  const target = { kubectl: join(state.binDir, "kubectl"), kubeconfig: state.kubeconfig };
  await installCrds(target, crdsDir);
  // The chart's admission policies, with the in-process operator's user (the local admin) exempt.
  const operatorUser = (await kubectl(target, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).trim();
  await installAdmission(target, { operatorUser, log });
  await kubectl(target, ["apply", "--server-side", "--field-manager=landlord-examples", "-f", examplesDir]);
  const parsed = parseConfig(
    // The plan provisioner always: a local demo must never create AWS resources, even when the
    // shell holds AWS credentials (which would otherwise make pulumi the default).
    ["--kubeconfig", state.kubeconfig, "--provisioner", "plan", "--metrics-port", String(values["metrics-port"] ?? "8080"), "--health-port", "0", "--bind-address", "127.0.0.1", "--log-level", String(values["log-level"] ?? "warn")],
    process.env,
  );
  if (!parsed.ok) throw new UsageError(parsed.error);
  // Logs on stderr: stdout is the banner and the tenant summary, which a user may pipe or tee.
  const operatorLog = pino({ level: parsed.config.logLevel, base: { component: "landlord" } }, pino.destination(2));
  const operator = await startOperator(parsed.config, operatorLog, { backend: stackBackend(parsed.config, operatorLog) });
  process.stdout.write(
    [
      "",
      `Landlord's local control plane runs at ${state.server} with the CRDs and examples installed${state.node ? ", and a node (landlord-local) where pods run" : ""}.`,
      `The operator runs here with the plan provisioner (nothing is created in AWS); metrics on http://127.0.0.1:${operator.metricsPort}/metrics.`,
      "",
      "In another terminal, in this directory:",
      ...envLines(state).map((line) => `  ${line}`),
      "  kubectl get tp                  # where each example tenant lives",
      "  npx landlord audit",
      "  kubectl patch tp aperture --type=merge --field-manager=billing -p '{\"spec\":{\"reportedSignals\":{\"monthlyRevenueUSD\":26000}}}'",
      "  npx landlord explain aperture   # promotes to namespace once $20k has held for promoteAfter (24h)",
      "  kubectl --as=carol --as-group=landlord-platform-admins patch tp aperture --type=merge -p '{\"metadata\":{\"annotations\":{\"landlord.dev/tier-reason\":\"SUP-311 isolate\"}},\"spec\":{\"tier\":{\"mode\":\"Pinned\",\"pinned\":\"namespace\"}}}'",
      "  npx landlord history aperture   # who moved it and why (README: Audit trail); npx landlord audit verify checks every chain",
      "",
      values.keep ? "Press Ctrl-C to stop (the control plane's state is kept: --keep)." : "Press Ctrl-C to stop and remove the control plane.",
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
