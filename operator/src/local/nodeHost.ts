import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BRIDGE, CGROUP_ROOT, CNI_NETWORK, KUBELET_CHAINS, KUBERNETES_SERVICE_IP, NAT_CHAIN, NODE_IP, POD_SUBNET } from "./nodeConfig.ts";

/** What the preflight looks at; gathered by hostFacts, judged by preflightProblems (pure). */
export interface HostFacts {
  platform: string;
  uid: number | undefined;
  cgroupV1Controllers: boolean;
  cgroupV2: boolean;
  /** Absolute paths of the host programs, undefined when missing. */
  programs: Record<(typeof HOST_PROGRAMS)[number], string | undefined>;
  cniBinDir: string | undefined;
}

export const HOST_PROGRAMS = ["containerd", "containerd-shim-runc-v2", "ctr", "runc", "iptables", "ip", "mount", "umount"] as const;
export const CNI_BIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];
const APT_HINT = "apt-get install containerd runc containernetworking-plugins iptables";
const INSTEAD = "Without a local node, point KUBECONFIG at a real cluster, or run test/e2e/kind.sh where Docker and kind are available";

/** Where a system program is: PATH's usual system directories, sbin included (root's tools live there). */
export function which(program: string): string | undefined {
  for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    const full = join(dir, program);
    if (existsSync(full)) return full;
  }
  return undefined;
}

export function hostFacts(): HostFacts {
  const mounts = process.platform === "linux" && existsSync("/proc/self/mounts") ? readFileSync("/proc/self/mounts", "utf8") : "";
  return {
    platform: process.platform,
    uid: process.getuid?.(),
    cgroupV1Controllers: /^\S+ \S+ cgroup \S*\bmemory\b/m.test(mounts),
    cgroupV2: /^\S+ \/sys\/fs\/cgroup cgroup2 /m.test(mounts),
    programs: Object.fromEntries(HOST_PROGRAMS.map((p) => [p, which(p)])) as HostFacts["programs"],
    cniBinDir: CNI_BIN_DIRS.find((dir) => existsSync(join(dir, "bridge")) && existsSync(join(dir, "host-local"))),
  };
}

/** Every reason this machine cannot host the local node, each with what to do; empty when it can. */
export function preflightProblems(facts: HostFacts): string[] {
  if (facts.platform !== "linux") {
    return [`a local node needs Linux (containers are Linux namespaces and cgroups); this is ${facts.platform}. ${INSTEAD}.`];
  }
  const problems: string[] = [];
  if (facts.uid !== 0) {
    problems.push(`a local node needs root (it creates a bridge, mounts, cgroups and a DNAT rule): run it with sudo, or in a root VM. ${INSTEAD}.`);
  }
  if (!facts.cgroupV1Controllers && !facts.cgroupV2) {
    problems.push("no cgroup filesystem is mounted (/sys/fs/cgroup): the kubelet cannot limit pods; mount cgroups (v2 preferred) or use a VM that has them.");
  }
  const missing = HOST_PROGRAMS.filter((p) => !facts.programs[p]);
  if (missing.length > 0) problems.push(`missing ${missing.join(", ")}: install them (${APT_HINT}).`);
  if (!facts.cniBinDir) problems.push(`no CNI bridge and host-local plugins in ${CNI_BIN_DIRS.join(" or ")}: ${APT_HINT}.`);
  return problems;
}

/** Throws one error that lists every problem, or returns the facts when the node can run. */
export function preflight(): HostFacts {
  const facts = hostFacts();
  const problems = preflightProblems(facts);
  if (problems.length > 0) throw new NodeUnsupportedError(`landlord local up --node cannot run here:\n  - ${problems.join("\n  - ")}`);
  return facts;
}

export class NodeUnsupportedError extends Error {
  override name = "NodeUnsupportedError";
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
}

function succeeds(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

/**
 * The bridge with the node's address, before the kubelet starts (it listens there) and before the
 * first pod (the CNI bridge plugin adopts an existing bridge), and the rule that makes the
 * `kubernetes` Service address lead to the API server on loopback: DNAT from the pod range, and
 * route_localnet on the bridge, without which the kernel drops packets to 127.0.0.1 that arrive
 * on a non-loopback interface. Idempotent.
 */
export function setUpNetwork(apiserverPort: number): void {
  if (!existsSync(`/sys/class/net/${BRIDGE}`)) run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  if (!execFileSync("ip", ["-4", "addr", "show", "dev", BRIDGE], { encoding: "utf8" }).includes(`inet ${NODE_IP}/`)) {
    run("ip", ["addr", "add", `${NODE_IP}/${POD_SUBNET.split("/")[1]}`, "dev", BRIDGE]);
  }
  run("ip", ["link", "set", BRIDGE, "up"]);
  writeFileSync(`/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`, "1");
  if (!succeeds("iptables", ["-t", "nat", "-L", NAT_CHAIN, "-n"])) run("iptables", ["-t", "nat", "-N", NAT_CHAIN]);
  run("iptables", ["-t", "nat", "-F", NAT_CHAIN]);
  run("iptables", ["-t", "nat", "-A", NAT_CHAIN, "-s", POD_SUBNET, "-d", `${KUBERNETES_SERVICE_IP}/32`, "-p", "tcp", "--dport", "443", "-j", "DNAT", "--to-destination", `127.0.0.1:${apiserverPort}`]);
  if (!succeeds("iptables", ["-t", "nat", "-C", "PREROUTING", "-j", NAT_CHAIN])) run("iptables", ["-t", "nat", "-I", "PREROUTING", "-j", NAT_CHAIN]);
}

/** Which of the kubelet's chains exist now (recorded before the kubelet starts, so teardown removes only new ones). */
export function existingKubeletChains(): string[] {
  const found: string[] = [];
  for (const tool of ["iptables", "ip6tables"]) {
    if (!which(tool)) continue;
    for (const table of ["filter", "nat", "mangle"]) {
      const listing = spawnSync(tool, ["-t", table, "-S"], { encoding: "utf8" }).stdout ?? "";
      for (const chain of KUBELET_CHAINS) if (listing.includes(`-N ${chain}\n`)) found.push(`${tool}/${table}/${chain}`);
    }
  }
  return found;
}

/** Removes the bridge, our DNAT chain, and the kubelet's chains that did not exist before it started. */
export function tearDownNetwork(kubeletChainsBefore: readonly string[]): void {
  while (succeeds("iptables", ["-t", "nat", "-D", "PREROUTING", "-j", NAT_CHAIN]));
  if (succeeds("iptables", ["-t", "nat", "-F", NAT_CHAIN])) succeeds("iptables", ["-t", "nat", "-X", NAT_CHAIN]);
  const created = existingKubeletChains().filter((chain) => !kubeletChainsBefore.includes(chain));
  for (const entry of created) {
    const [tool, table, chain] = entry.split("/") as [string, string, string];
    // Rules elsewhere that jump to the chain first (INPUT/OUTPUT -j KUBE-FIREWALL), then the chain.
    const rules = (spawnSync(tool, ["-t", table, "-S"], { encoding: "utf8" }).stdout ?? "").split("\n");
    for (const rule of rules) {
      if (rule.startsWith("-A ") && rule.includes(`-j ${chain}`) && !rule.startsWith(`-A ${chain} `)) {
        succeeds(tool, ["-t", table, ...splitRule(rule.replace(/^-A /, "-D "))]);
      }
    }
    succeeds(tool, ["-t", table, "-F", chain]);
    succeeds(tool, ["-t", table, "-X", chain]);
  }
  if (existsSync(`/sys/class/net/${BRIDGE}`)) succeeds("ip", ["link", "del", BRIDGE]);
}

/** Splits an `iptables -S` line into arguments, keeping quoted comments whole. */
export function splitRule(rule: string): string[] {
  const args: string[] = [];
  for (const match of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) args.push(match[1] !== undefined ? match[1].replace(/\\"/g, '"') : (match[2] as string));
  return args;
}

/** Mount points at or below `dir` (and the named extra paths), deepest first, from /proc/self/mountinfo. */
export function mountsUnder(mountinfo: string, dir: string, extra: readonly string[] = []): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const points = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined)
    // mountinfo escapes spaces and the like as octal (\040).
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(prefix) || extra.includes(point));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything under `dir` and the extra paths (pod volumes, container rootfs, sandbox netns and shm). */
export function unmountAll(dir: string, extra: readonly string[] = []): void {
  for (let round = 0; round < 3; round += 1) {
    const points = mountsUnder(readFileSync("/proc/self/mountinfo", "utf8"), dir, extra);
    if (points.length === 0) return;
    for (const point of points) if (!succeeds("umount", [point])) succeeds("umount", ["-l", point]);
  }
}

/** Removes the pod cgroups (CGROUP_ROOT in every v1 controller and in the v2 tree), deepest first. */
export function removeCgroups(): void {
  const base = "/sys/fs/cgroup";
  if (!existsSync(base)) return;
  const roots = [join(base, CGROUP_ROOT)];
  for (const entry of readdirSync(base)) {
    const candidate = join(base, entry, CGROUP_ROOT);
    if (existsSync(candidate)) roots.push(candidate);
  }
  const removeTree = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const child of readdirSync(dir)) {
      const full = join(dir, child);
      if (statSync(full).isDirectory()) removeTree(full);
    }
    try {
      rmdirSync(dir);
    } catch {
      // A cgroup with a live process cannot go; the caller killed them all first, so this is rare.
    }
  };
  for (const root of roots) removeTree(root);
}

/** The cgroup v1 hierarchies need CGROUP_ROOT to exist in each controller before the kubelet starts. */
export function createCgroupRoot(): void {
  const base = "/sys/fs/cgroup";
  // cgroup v2 alone: one tree, mounted at the base itself.
  if (existsSync(join(base, "cgroup.procs"))) {
    execFileSync("mkdir", ["-p", join(base, CGROUP_ROOT)]);
    return;
  }
  for (const entry of readdirSync(base)) {
    const controller = join(base, entry);
    if (entry === "unified" || !existsSync(join(controller, "cgroup.procs"))) continue;
    try {
      execFileSync("mkdir", ["-p", join(controller, CGROUP_ROOT)]);
    } catch {
      // Read-only or foreign hierarchies (e.g. name=systemd on some hosts) are not needed.
    }
  }
}

/**
 * The CNI plugins' cache of results for our network and for the loopback of the same sandboxes
 * (/var/lib/cni is not configurable in containerd 1.6; files are named <network>-<sandbox>-<if>).
 */
export function removeCniCache(): void {
  const results = "/var/lib/cni/results";
  if (!existsSync(results)) return;
  const files = readdirSync(results);
  const sandboxes = files.filter((file) => file.startsWith(`${CNI_NETWORK}-`)).map((file) => file.slice(CNI_NETWORK.length + 1).replace(/-[^-]+$/, ""));
  for (const file of files) {
    if (file.startsWith(`${CNI_NETWORK}-`) || sandboxes.some((id) => file === `cni-loopback-${id}-lo`)) rmSync(join(results, file), { force: true });
  }
}

/**
 * The network namespaces of our pod sandboxes: containerd names them /run/netns/cni-<uuid>, and
 * ours are the ones whose interface has an address on POD_SUBNET. Found this way (not from
 * containerd) so that a node whose containerd already died is cleaned up all the same.
 */
export function ourNetns(): string[] {
  const dir = "/run/netns";
  if (!existsSync(dir)) return [];
  const prefix = `${POD_SUBNET.split(".").slice(0, 3).join(".")}.`;
  return readdirSync(dir)
    .filter((name) => name.startsWith("cni-"))
    .filter((name) => (spawnSync("ip", ["-n", name, "-4", "-o", "addr"], { encoding: "utf8" }).stdout ?? "").includes(`inet ${prefix}`))
    .map((name) => join(dir, name));
}
