import { join } from "node:path";
import { crdsDir, defaultLocalDir, examplesDir } from "../local/paths.ts";
import { envLines, localDown, localUp } from "../local/controlPlane.ts";
import { installCrds, kubectl } from "../local/kubectl.ts";
import { parseFlags } from "./main.ts";

export const DEV_HELP = `Usage: landlord dev [--dir DIR] [--keep]

Starts the embedded local control plane (building it on first use), installs the Landlord CRDs and
applies examples/, prints how to point kubectl at it, and stays in the foreground. Ctrl-C stops
the control plane and removes its state (unless --keep).

Example:
  npm start     # runs landlord dev
`;

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
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  if (!values.keep) await localDown({ dir, log });
  return 0;
}
