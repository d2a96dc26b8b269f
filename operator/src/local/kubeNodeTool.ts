import { join } from "node:path";
import { KUBE_GCFLAGS, kubeVersionFlags } from "./build.ts";
// Types only: goTools.ts imports this module to list the tool, so a value import would be a cycle.
import type { GoTool } from "./goTools.ts";

/**
 * What `landlord local up --node` adds to the control plane: kubelet and kube-scheduler, built from
 * the same wrapper module (tools/kube) as kube-apiserver with the same compiler flags, so the second
 * build reuses the first one's Go build cache and mostly links; and the pod sandbox ("pause")
 * program of tools/kube/pause, which containerd needs as an image and no registry here can serve.
 */
export const KUBE_NODE_TOOL: GoTool = {
  name: "kube-node",
  module: "kube",
  versionModule: "k8s.io/kubernetes",
  binaries: ["kubelet", "kube-scheduler", "pause"],
  binDirEnv: "LANDLORD_NODE_BIN_DIR",
  keyFiles: ["pause/main.go"],
  builds: [
    {
      label: "kubelet, kube-scheduler",
      args: (outDir, version) => [...KUBE_GCFLAGS, "-ldflags", `-s -w ${kubeVersionFlags(version).join(" ")}`, "-o", `${outDir}/`, "k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-scheduler"],
    },
    { label: "pause", args: (outDir) => ["-trimpath", "-ldflags", "-s -w", "-o", join(outDir, "pause"), "./pause"] },
  ],
  coldBuildHint: "about a minute after the control plane's build, most of it linking",
};
