import { defaultLocalDir } from "../local/paths.ts";
import { envLines, localDown, localUp, readState, runningState } from "../local/controlPlane.ts";
import { ensureBinaries } from "../local/build.ts";
import { ensureGoTool, GO_TOOLS } from "../local/goTools.ts";
import { importImage } from "../local/node.ts";
import { buildOperatorImage } from "../local/operatorImage.ts";
import { UsageError } from "./errors.ts";
import { parseFlags } from "./main.ts";

export const LOCAL_HELP = `Usage: landlord local up|down|env|status|build|image [--dir DIR] [--node] [--pulumi]

Runs a real kube-apiserver, etcd and kube-controller-manager on loopback ports, built once from
their Go modules (cached under .cache/; set LANDLORD_BIN_DIR to use prebuilt binaries instead).
Without --node there is no kubelet: objects are stored and controllers run, but pods never start.
With --node (Linux, root, and Debian's containerd, runc, containernetworking-plugins) it adds a
node named landlord-local: containerd with its own state and socket under DIR, kubelet,
kube-scheduler and the controllers pods need, pods on the bridge landlord0 (10.213.0.0/24) that
reach the API server as the kubernetes Service (10.0.0.1:443).

  up       build if needed, start, wait for /readyz (and the node Ready), write an admin
           kubeconfig; harmless twice, and --node on a running control plane adds the node
  env      print shell lines that point kubectl at it
  status   print where it runs, or exit 1 when it is not running
  down     stop it (and the node: pods, mounts, bridge, iptables rules) and remove its state
  build    only build (or find) every binary the project uses and print their directories:
           the control plane, helm, the Pulumi CLI, prometheus and promtool, and the node's
           kubelet and kube-scheduler (all at once)
  image    build the operator image (landlord:dev) from Debian packages and this checkout, as
           the Dockerfile does, without Docker; imported into the node when one runs

Options:
  --dir DIR   state directory (default: .cache/local, or LANDLORD_LOCAL_DIR)
  --node      with up: also run a node so pods, Deployments and Jobs run
  --pulumi    with image: include the Pulumi CLI (as the Dockerfile's default PULUMI=pulumi), for
              --provisioner=pulumi; without it the image runs the plan provisioner only

Example:
  npx landlord local up --node && npx landlord local image
  eval "$(npx landlord local env)" && helm install landlord charts/landlord -n landlord-system --create-namespace
`;

export async function localCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { dir: { type: "string" }, node: { type: "boolean" }, pulumi: { type: "boolean" } });
  const dir = typeof values.dir === "string" ? values.dir : defaultLocalDir();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  switch (positionals[0]) {
    case "up": {
      const state = await localUp({ dir, log, node: values.node === true });
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
    case "image": {
      const image = await buildOperatorImage({ log, pulumi: values.pulumi === true });
      process.stdout.write(`${image.ref} ${image.archive}${image.cached ? " (cached)" : ""}\n`);
      const state = await runningState(dir);
      if (state?.node) {
        await importImage(state.node.socket, image.archive);
        log(`landlord: imported ${image.ref} into the node's containerd`);
      } else {
        log(`landlord: no local node runs from ${dir}; load the archive elsewhere with \`ctr -n k8s.io images import\` or \`docker load -i\``);
      }
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
      process.stdout.write(`${state.server} (Kubernetes ${state.kubernetesVersion ?? "prebuilt"}${state.node ? ", node landlord-local" : ""}), kubeconfig ${state.kubeconfig}\n`);
      return 0;
    }
    default:
      throw new UsageError(`expected up, down, env, status, build or image, got ${positionals[0] ?? "nothing"}`);
  }
}
