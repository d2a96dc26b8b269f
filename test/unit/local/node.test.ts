import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { containerdConfig, cniConfig, kubeletConfig, nodePaths, POD_SUBNET, NODE_IP, BRIDGE } from "../../../operator/src/local/nodeConfig.ts";
import { mountsUnder, preflightProblems, splitRule, type HostFacts } from "../../../operator/src/local/nodeHost.ts";

const paths = nodePaths("/var/tmp/ll state");

const goodHost: HostFacts = {
  platform: "linux",
  uid: 0,
  cgroupV1Controllers: true,
  cgroupV2: false,
  programs: { containerd: "/usr/bin/containerd", "containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2", ctr: "/usr/bin/ctr", runc: "/usr/sbin/runc", iptables: "/usr/sbin/iptables", ip: "/usr/sbin/ip", mount: "/usr/bin/mount", umount: "/usr/bin/umount" },
  cniBinDir: "/usr/lib/cni",
};

describe("local node preflight", () => {
  it("accepts a root Linux host with cgroups, containerd, runc and the CNI plugins", () => {
    expect(preflightProblems(goodHost)).toEqual([]);
  });

  it("says why a machine cannot host a node and what to do instead", () => {
    expect(preflightProblems({ ...goodHost, platform: "darwin" })).toEqual([expect.stringMatching(/needs Linux.*this is darwin.*KUBECONFIG.*kind/)]);
    expect(preflightProblems({ ...goodHost, uid: 1000 })).toEqual([expect.stringMatching(/needs root.*sudo.*KUBECONFIG/)]);
    expect(preflightProblems({ ...goodHost, cgroupV1Controllers: false })).toEqual([expect.stringMatching(/no cgroup filesystem/)]);
    const missing = preflightProblems({ ...goodHost, programs: { ...goodHost.programs, containerd: undefined, runc: undefined }, cniBinDir: undefined });
    expect(missing).toEqual([expect.stringMatching(/missing containerd, runc: install them \(apt-get install containerd runc containernetworking-plugins/), expect.stringMatching(/no CNI bridge/)]);
  });
});

describe("local node configuration", () => {
  it("keeps containerd's root, state, socket, CNI and runc state under the node directory", () => {
    const toml = containerdConfig(paths, { sandboxImage: "landlord.local/pause:abc", cniBinDir: "/usr/lib/cni", runc: "/usr/sbin/runc" });
    const values = [...toml.matchAll(/^\s*(\w+) = "(.*)"$/gm)].map(([, key, value]) => [key, value] as const);
    const pathsIn = values.filter(([, value]) => value?.startsWith("/")).filter(([key]) => !["bin_dir", "BinaryName"].includes(key as string));
    expect(pathsIn.map(([key]) => key).sort()).toEqual(["Root", "address", "address", "conf_dir", "path", "root", "state"].sort());
    for (const [key, value] of pathsIn) expect(value, key as string).toMatch(/^\/var\/tmp\/ll state\/node\//);
    // Without these, sandboxes fail on this kind of host (see the function's comment).
    expect(toml).toContain("restrict_oom_score_adj = true");
    expect(toml).toContain('sandbox_image = "landlord.local/pause:abc"');
  });

  it("puts pods on the private bridge without masquerading, IPAM state ours", () => {
    const config = JSON.parse(cniConfig(paths)) as { plugins: Array<{ bridge: string; ipMasq: boolean; ipam: { ranges: Array<Array<{ subnet: string; gateway: string }>>; dataDir: string } }> };
    expect(config.plugins[0]).toMatchObject({ bridge: BRIDGE, ipMasq: false, ipam: { ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP }]], dataDir: paths.cniDataDir } });
  });

  it("lets the kubelet run on cgroup v1 only when the host is v1, with x509 client authentication", () => {
    const v1 = parseYaml(kubeletConfig({ paths, caCert: "/ca.crt", port: 10250, healthzPort: 10248, cgroupV1: true })) as Record<string, unknown>;
    expect(v1).toMatchObject({ failCgroupV1: false, cgroupDriver: "cgroupfs", address: NODE_IP, readOnlyPort: 0, authentication: { anonymous: { enabled: false }, x509: { clientCAFile: "/ca.crt" } } });
    expect(v1.containerRuntimeEndpoint).toBe(`unix://${paths.socket}`);
    const v2 = parseYaml(kubeletConfig({ paths, caCert: "/ca.crt", port: 10250, healthzPort: 10248, cgroupV1: false })) as Record<string, unknown>;
    expect(v2.failCgroupV1).toBe(true);
  });
});

describe("local node teardown helpers", () => {
  it("finds the mounts under the node directory, deepest first, decoding mountinfo escapes", () => {
    const mountinfo = [
      "22 1 254:0 / / rw - ext4 /dev/vda rw",
      "48 27 0:4 net:[4026532175] /run/netns/cni-1 rw - nsfs nsfs rw",
      "50 22 0:50 / /var/tmp/ll\\040state/node/kubelet rw - ext4 /dev/vda rw",
      "51 50 0:51 / /var/tmp/ll\\040state/node/kubelet/pods/u/volumes/token rw - tmpfs tmpfs rw",
      "52 22 0:52 / /var/tmp/ll\\040stateful rw - tmpfs tmpfs rw",
    ].join("\n");
    expect(mountsUnder(mountinfo, "/var/tmp/ll state/node", ["/run/netns/cni-1"])).toEqual([
      "/var/tmp/ll state/node/kubelet/pods/u/volumes/token",
      "/var/tmp/ll state/node/kubelet",
      "/run/netns/cni-1",
    ]);
  });

  it("splits an iptables -S rule into arguments, keeping a quoted comment whole", () => {
    expect(splitRule('-D KUBE-FIREWALL ! -s 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -j DROP')).toEqual([
      "-D", "KUBE-FIREWALL", "!", "-s", "127.0.0.0/8", "-m", "comment", "--comment", "block incoming localnet connections", "-j", "DROP",
    ]);
  });
});
