import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Log } from "./build.ts";
import { ensureGoTool } from "./goTools.ts";
import { sha256File, tarLayer, writeDockerArchive } from "./imageArchive.ts";
import { KUBE_NODE_TOOL } from "./kubeNodeTool.ts";
import { BRIDGE, containerdConfig, cniConfig, kubeletConfig, NODE_IP, NODE_NAME, nodePaths, type NodePaths } from "./nodeConfig.ts";
import { createCgroupRoot, existingKubeletChains, NodeUnsupportedError, ourNetns, preflight, removeCgroups, removeCniCache, setUpNetwork, tearDownNetwork, unmountAll } from "./nodeHost.ts";
import { cacheRoot } from "./paths.ts";
import { ensureNodePki, type Pki } from "./pki.ts";
import { freePort } from "./ports.ts";
import { isAlive, sleep, startDetached, stopProcess, waitFor } from "./processes.ts";

const execFileAsync = promisify(execFile);
const RUN_CONTAINERD = "/run/containerd";

/** What the node adds to the control plane's state file, for `down` and a second `up`. */
export interface NodeState {
  binDir: string;
  socket: string;
  pids: { containerd: number; kubeScheduler: number; kubelet: number };
  /** False until this node has checked that no other one owns the bridge, cgroups and netns it cleans up. */
  hostOwned?: boolean;
  /** The kubelet's iptables chains that existed before it started (teardown leaves those alone). */
  kubeletChainsBefore: string[];
  /** Whether /run/containerd existed before: containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its config says. */
  runContainerdExisted: boolean;
  sandboxImage: string;
}

export interface NodeStartContext {
  dir: string;
  pki: Pki;
  apiserverPort: number;
  /** Writes a kubeconfig for a client identity; the control plane's own helper. */
  writeKubeconfig: (file: string, user: string, cert: string, key: string) => void;
  kubectl: (args: string[]) => Promise<string>;
  env: NodeJS.ProcessEnv;
  log: Log;
  timeoutMs: number;
  /** Saves the state file: called as soon as each process runs, so a failed start is cleaned up. */
  save: (node: NodeState) => void;
}

/** Runs ctr against the node's own containerd (never the system one). */
export async function ctr(socket: string, args: string[], timeoutMs = 300_000): Promise<string> {
  const { stdout } = await execFileAsync("ctr", ["--address", socket, "--namespace", "k8s.io", ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Imports a `docker save` archive into the node's containerd (unpacked, ready for the kubelet). */
export async function importImage(socket: string, archive: string): Promise<void> {
  await ctr(socket, ["images", "import", archive]);
}


/** The pause image, built once per pause binary into the cache: a single-file image. */
async function pauseArchive(pauseBinary: string, env: NodeJS.ProcessEnv): Promise<{ archive: string; ref: string }> {
  const id = (await sha256File(pauseBinary)).slice(0, 12);
  const ref = `landlord.local/pause:${id}`;
  const dir = join(cacheRoot(env), "images");
  const archive = join(dir, `pause-${id}.tar`);
  if (existsSync(archive)) return { archive, ref };
  const staging = join(dir, `pause-${id}.rootfs-${process.pid}`);
  mkdirSync(staging, { recursive: true });
  try {
    copyFileSync(pauseBinary, join(staging, "pause"));
    chmodSync(join(staging, "pause"), 0o755);
    tarLayer(staging, `${staging}.tar`);
    await writeDockerArchive({
      out: archive,
      ref,
      layers: [`${staging}.tar`],
      config: { entrypoint: ["/pause"], cmd: [], user: "65535:65535", workingDir: "/", env: {}, exposedPorts: [] },
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(`${staging}.tar`, { force: true });
  }
  return { archive, ref };
}

/**
 * Starts containerd, kube-scheduler and the kubelet for an already running control plane and
 * returns once the node is Ready and schedulable. The caller restarts kube-controller-manager with
 * NODE_CONTROLLERS and stops everything with stopNode when this throws.
 */
export async function startNode(context: NodeStartContext): Promise<NodeState> {
  const { dir, pki, log, timeoutMs } = context;
  const facts = preflight();
  const tool = await ensureGoTool(KUBE_NODE_TOOL, { env: context.env, log });
  const started = Date.now();
  const paths = nodePaths(dir);
  for (const sub of [paths.containerdRoot, paths.containerdState, paths.cniConfDir, paths.cniDataDir, paths.kubeletRoot, paths.podLogs]) mkdirSync(sub, { recursive: true });

  const node: NodeState = { binDir: tool.dir, socket: paths.socket, pids: { containerd: 0, kubeScheduler: 0, kubelet: 0 }, hostOwned: false, kubeletChainsBefore: existingKubeletChains(), runContainerdExisted: existsSync(RUN_CONTAINERD), sandboxImage: "" };
  context.save(node);
  // One node per machine: the bridge, pod range, DNAT chain and cgroup parent are fixed names.
  if (existsSync(`/sys/class/net/${BRIDGE}`)) {
    throw new NodeUnsupportedError(
      `another local node runs on this machine (the bridge ${BRIDGE} exists); only one can: stop it with \`landlord local down --dir <its directory>\`, or remove a leftover with \`ip link del ${BRIDGE}\``,
    );
  }
  node.hostOwned = true;
  context.save(node);
  setUpNetwork(context.apiserverPort);
  createCgroupRoot();

  const pause = await pauseArchive(tool.path.pause as string, context.env);
  node.sandboxImage = pause.ref;
  writeFileSync(paths.containerdConfig, containerdConfig(paths, { sandboxImage: pause.ref, cniBinDir: facts.cniBinDir as string, runc: facts.programs.runc as string }));
  writeFileSync(join(paths.cniConfDir, "10-landlord.conflist"), cniConfig(paths));
  const containerdLog = join(paths.root, "containerd.log");
  node.pids.containerd = startDetached(facts.programs.containerd as string, ["--config", paths.containerdConfig, "--log-level", "warn"], containerdLog);
  context.save(node);
  await waitFor("containerd", async () => ctr(paths.socket, ["version"], 5_000).then(() => true, () => false), node.pids.containerd, containerdLog, timeoutMs);
  await importImage(paths.socket, pause.archive);

  const schedulerKubeconfig = join(paths.root, "kube-scheduler.kubeconfig");
  context.writeKubeconfig(schedulerKubeconfig, "kube-scheduler", pki.adminCert, pki.adminKey);
  node.pids.kubeScheduler = startDetached(
    tool.path["kube-scheduler"] as string,
    [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--v=1",
    ],
    join(paths.root, "kube-scheduler.log"),
  );
  context.save(node);

  const kubeletCert = ensureNodePki(join(dir, "pki"), NODE_NAME);
  context.writeKubeconfig(paths.kubeletKubeconfig, `system:node:${NODE_NAME}`, kubeletCert.cert, kubeletCert.key);
  writeFileSync(
    paths.kubeletConfig,
    kubeletConfig({ paths, caCert: pki.caCert, port: await freePort(), healthzPort: await freePort(), cgroupV1: facts.cgroupV1Controllers && !facts.cgroupV2 }),
  );
  const kubeletLog = join(paths.root, "kubelet.log");
  node.pids.kubelet = startDetached(
    tool.path.kubelet as string,
    [
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${paths.kubeletKubeconfig}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${join(paths.root, "kubelet-pki")}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
    ],
    kubeletLog,
  );
  context.save(node);
  // Ready and without the not-ready taint (removed by the node-lifecycle controller): only then does
  // the scheduler place pods on it.
  await waitFor(
    "the kubelet (node landlord-local Ready)",
    async () => {
      try {
        const out = await context.kubectl(["get", "node", NODE_NAME, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}']);
        return out.trim() === "True";
      } catch {
        return false;
      }
    },
    node.pids.kubelet,
    kubeletLog,
    timeoutMs,
  );
  log(`landlord: node ${NODE_NAME} Ready in ${((Date.now() - started) / 1000).toFixed(1)}s (containerd ${paths.socket})`);
  return node;
}

/**
 * Stops the kubelet and the scheduler, kills every container of the node, stops containerd, and
 * removes what they left on the host: mounts, sandbox network namespaces, pod cgroups, the bridge,
 * the DNAT chain and the kubelet's iptables chains. Safe to run on a half-started node.
 */
export async function stopNode(dir: string, node: NodeState): Promise<void> {
  const paths: NodePaths = nodePaths(dir);
  await stopProcess(node.pids.kubelet);
  await stopProcess(node.pids.kubeScheduler);
  if (isAlive(node.pids.containerd)) {
    const tasks = (await ctr(node.socket, ["tasks", "ls", "-q"], 30_000).catch(() => "")).split("\n").filter(Boolean);
    await Promise.all(tasks.map((id) => ctr(node.socket, ["tasks", "kill", "--signal", "SIGKILL", id], 30_000).catch(() => "")));
    await Promise.all(
      tasks.map(async (id) => {
        for (let attempt = 0; attempt < 20; attempt += 1) {
          if (await ctr(node.socket, ["tasks", "delete", id], 30_000).then(() => true, () => false)) return;
          await sleep(250);
        }
      }),
    );
    const containers = (await ctr(node.socket, ["containers", "ls", "-q"], 30_000).catch(() => "")).split("\n").filter(Boolean);
    await Promise.all(containers.map((id) => ctr(node.socket, ["containers", "delete", id], 30_000).catch(() => "")));
  }
  await stopProcess(node.pids.containerd);
  // A start refused because another node owns the host's bridge never touched the host: leave it.
  if (node.hostOwned === false) {
    unmountAll(paths.root);
    return;
  }
  const netnsMounts = ourNetns();
  // Every step runs even when one fails: a half-cleaned host is worse than a reported error.
  const errors: string[] = [];
  const attempt = (what: string, step: () => void): void => {
    try {
      step();
    } catch (error) {
      errors.push(`${what}: ${(error as Error).message}`);
    }
  };
  attempt("unmount", () => unmountAll(paths.root, netnsMounts));
  for (const file of netnsMounts) attempt(`remove ${file}`, () => rmSync(file, { force: true }));
  attempt("cgroups", removeCgroups);
  attempt("network", () => tearDownNetwork(node.kubeletChainsBefore));
  attempt("CNI cache", removeCniCache);
  // rmdir only removes empty directories: a system containerd's sockets would keep it.
  if (!node.runContainerdExisted) attempt(RUN_CONTAINERD, () => ["s", ""].forEach((sub) => existsSync(join(RUN_CONTAINERD, sub)) && rmdirSync(join(RUN_CONTAINERD, sub))));
  if (errors.length > 0) throw new Error(`landlord local down left some of the node behind:\n  ${errors.join("\n  ")}`);
}
