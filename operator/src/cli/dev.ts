import { join } from "node:path";
import { crdsDir, defaultLocalDir, examplesDir } from "../local/paths.ts";
import { envLines, localDown, localUp } from "../local/controlPlane.ts";
import { installCrds, kubectl, type KubectlTarget } from "../local/kubectl.ts";
import { parseFlags } from "./main.ts";

export const DEV_HELP = `Usage: landlord dev [--dir DIR] [--keep]

Starts the embedded local control plane (building it on first use), installs the Landlord CRDs and
applies examples/, prints how to point kubectl at it, and stays in the foreground. Ctrl-C stops
the control plane and removes its state (unless --keep).

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
  const { values } = parseFlags(args, { dir: { type: "string" }, keep: { type: "boolean" } });
  const dir = typeof values.dir === "string" ? values.dir : defaultLocalDir();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const state = await localUp({ dir, log });
  const target = { kubectl: join(state.binDir, "kubectl"), kubeconfig: state.kubeconfig };
  await installCrds(target, crdsDir);
  await kubectl(target, ["apply", "--server-side", "--field-manager=landlord-examples", "-f", examplesDir]);
  process.stdout.write(
    [
      "",
      `Landlord's local control plane runs at ${state.server} with the CRDs and examples installed.`,
      "In another terminal:",
      ...envLines(state).map((line) => `  ${line}`),
      "  kubectl get landlord",
      "",
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  let lastSummary = "";
  const summarize = async (): Promise<void> => {
    const summary = await tenantSummary(target).catch((error: unknown) => `could not list tenants: ${String(error)}`);
    if (summary !== lastSummary) process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${summary}\n`);
    lastSummary = summary;
  };
  await summarize();
  // The interval also keeps the event loop alive: signal listeners alone do not.
  const timer = setInterval(() => void summarize(), 5_000);
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  clearInterval(timer);
  if (!values.keep) await localDown({ dir, log });
  return 0;
}
