import { defaultLocalDir } from "../local/paths.ts";
import { envLines, localDown, localUp, readState, runningState } from "../local/controlPlane.ts";
import { ensureBinaries } from "../local/build.ts";
import { ensureGoTool, GO_TOOLS } from "../local/goTools.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";

export const LOCAL_HELP = `Usage: landlord local up|down|env|status|build [--dir DIR]

Runs a real kube-apiserver, etcd and kube-controller-manager on loopback ports, built once from
their Go modules (cached under .cache/; set LANDLORD_BIN_DIR to use prebuilt binaries instead).
There is no kubelet: objects are stored and controllers run, but pods never start.

  up       build if needed, start, wait for /readyz, write an admin kubeconfig (harmless twice)
  env      print shell lines that point kubectl at it
  status   print where it runs, or exit 1 when it is not running
  down     stop it and remove its state
  build    only build (or find) every binary the project uses and print their directories:
           the control plane, helm, the Pulumi CLI, prometheus and promtool (all at once)

Options:
  --dir DIR   state directory (default: .cache/local, or LANDLORD_LOCAL_DIR)

Example:
  npx landlord local up && eval "$(npx landlord local env)" && kubectl version
`;

export async function localCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { dir: { type: "string" } });
  const dir = typeof values.dir === "string" ? values.dir : defaultLocalDir();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  switch (positionals[0]) {
    case "up": {
      const state = await localUp({ dir, log });
      process.stdout.write(`Point kubectl at it with:\n  eval "$(npx landlord local env${dir === defaultLocalDir() ? "" : ` --dir ${dir}`})"\n`);
      log(`kubeconfig: ${state.kubeconfig}`);
      return 0;
    }
    case "build": {
      // All at once: each go build spends its last stretch in a single-threaded link, which leaves a
      // core idle that another build's compiles can use; on 2 cores that beats one after another.
      const [binaries, ...tools] = await Promise.all([ensureBinaries({ log }), ...GO_TOOLS.map((tool) => ensureGoTool(tool, { log }))]);
      for (const dir of [binaries.dir, ...tools.map((tool) => tool.dir)]) process.stdout.write(`${dir}\n`);
      return 0;
    }
    case "down":
      await localDown({ dir, log });
      return 0;
    case "env": {
      const state = readState(dir);
      if (!state) {
        process.stderr.write('landlord local env: no local control plane in this directory; start one with "npx landlord local up"\n');
        return 1;
      }
      process.stdout.write(`${envLines(state).join("\n")}\n`);
      return 0;
    }
    case "status": {
      const state = await runningState(dir);
      if (!state) {
        process.stdout.write("not running\n");
        return 1;
      }
      process.stdout.write(`${state.server} (Kubernetes ${state.kubernetesVersion ?? "prebuilt"}), kubeconfig ${state.kubeconfig}\n`);
      return 0;
    }
    default:
      throw new UsageError(`expected up, down, env, status or build, got ${positionals[0] ?? "nothing"}`);
  }
}
