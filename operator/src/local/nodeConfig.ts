import { join } from "node:path";

/**
 * The local node's fixed network: a bridge of its own on a private range that nothing else on a
 * development machine or CI runner is likely to use, so it never touches a system bridge (docker0,
 * cni0) or route. Pods get addresses from POD_SUBNET; the bridge holds NODE_IP, which is both the
 * pods' gateway and the address the kubelet is reached at (a node IP must not be loopback).
 */
export const NODE_NAME = "landlord-local";
export const BRIDGE = "landlord0";
export const POD_SUBNET = "10.213.0.0/24";
export const NODE_IP = "10.213.0.1";
export const CNI_NETWORK = "landlord-local";
/** The `kubernetes` Service's ClusterIP: the first address of the API server's service range. */
export const KUBERNETES_SERVICE_IP = "10.0.0.1";
/** Our own nat chain: the one DNAT rule lives here, so teardown deletes exactly what it added. */
export const NAT_CHAIN = "LANDLORD-LOCAL";
/** Pod cgroups go under this parent in every controller, so teardown finds all of them. */
export const CGROUP_ROOT = "/landlord-local";
/** Chains the kubelet creates in iptables and ip6tables (filter, nat, mangle), removed with the node. */
export const KUBELET_CHAINS = ["KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT", "KUBE-NODE-PORT"] as const;

/** Where every file of the node lives, all under the control plane's state directory. */
export interface NodePaths {
  root: string;
  containerdRoot: string;
  containerdState: string;
  containerdConfig: string;
  socket: string;
  cniConfDir: string;
  cniDataDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  podLogs: string;
}

export function nodePaths(dir: string): NodePaths {
  const root = join(dir, "node");
  return {
    root,
    containerdRoot: join(root, "containerd", "root"),
    containerdState: join(root, "containerd", "state"),
    containerdConfig: join(root, "containerd", "config.toml"),
    socket: join(root, "containerd", "containerd.sock"),
    cniConfDir: join(root, "cni", "net.d"),
    cniDataDir: join(root, "cni", "ipam"),
    kubeletRoot: join(root, "kubelet"),
    kubeletConfig: join(root, "kubelet-config.yaml"),
    kubeletKubeconfig: join(root, "kubelet.kubeconfig"),
    podLogs: join(root, "pod-logs"),
  };
}

/**
 * containerd 1.6 (Debian's) with its root, state, socket and plugin directories under `paths`, so it
 * never meets a system containerd. restrict_oom_score_adj: the sandbox cannot lower its
 * oom_score_adj below containerd's own, and without it every sandbox fails ("can't get final
 * child's PID from pipe"). AppArmor is off because profiles are a host matter this node must not
 * load. The sandbox image is the locally built pause, imported before the kubelet starts.
 */
export function containerdConfig(paths: NodePaths, options: { sandboxImage: string; cniBinDir: string; runc: string }): string {
  const q = (value: string): string => JSON.stringify(value);
  return `version = 2
root = ${q(paths.containerdRoot)}
state = ${q(paths.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${q(paths.socket)}

[ttrpc]
  address = ${q(`${paths.socket}.ttrpc`)}

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(paths.root, "containerd", "opt"))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(options.sandboxImage)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(options.cniBinDir)}
    conf_dir = ${q(paths.cniConfDir)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = ${q(options.runc)}
        Root = ${q(join(paths.containerdState, "runc"))}
        SystemdCgroup = false
`;
}

/**
 * A bridge network without masquerading: pods reach each other and the host (the gateway), and the
 * API server through the DNAT rule; nothing routes them anywhere else. IPAM state in our directory.
 */
export function cniConfig(paths: NodePaths): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: CNI_NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: paths.cniDataDir },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletConfigOptions {
  paths: NodePaths;
  caCert: string;
  port: number;
  healthzPort: number;
  cgroupV1: boolean;
}

/**
 * The kubelet's configuration file. Notable choices: cgroupfs (no systemd here) under CGROUP_ROOT;
 * failCgroupV1 false on cgroup v1 hosts (1.35+ refuses them otherwise); swap and eviction
 * thresholds off because a development machine's disk and memory are not the node's to police;
 * only client certificates signed by the local CA may call it (the API server's, for logs/exec).
 */
export function kubeletConfig(options: KubeletConfigOptions): string {
  const { paths } = options;
  const q = (value: string): string => JSON.stringify(value);
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
port: ${options.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${options.healthzPort}
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: ${q(options.caCert)} }
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: ${q(`unix://${paths.socket}`)}
cgroupDriver: cgroupfs
cgroupRoot: ${CGROUP_ROOT}
failCgroupV1: ${options.cgroupV1 ? "false" : "true"}
failSwapOn: false
podLogsDir: ${q(paths.podLogs)}
resolvConf: /etc/resolv.conf
registerNode: true
rotateCertificates: false
serverTLSBootstrap: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "0%"
  nodefs.available: "0%"
  imagefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.inodesFree: "0%"
enforceNodeAllocatable: []
maxPods: 60
nodeStatusReportFrequency: 10s
logging: { verbosity: 1 }
`;
}
