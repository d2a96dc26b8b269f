import { readFileSync } from "node:fs";
import { join } from "node:path";
// Types only: goTools.ts imports this module to list the tool, so a value import would be a cycle.
import type { GoTool } from "./goTools.ts";
import { toolsDir } from "./paths.ts";
import { kubeVersionParts } from "./versions.ts";

/**
 * The Kubernetes minor version helm assumes when it renders offline (`helm template`, `helm lint`):
 * Helm's Makefile derives it from the client-go the module compiles against, and without it the
 * binary claims v1.20, which fails every chart with a `kubeVersion` constraint. Read from the
 * wrapper's go.sum, which names exactly one client-go module (the one compiled).
 */
export function helmKubeVersion(goSum: string): { major: string; minor: string } {
  const match = /^k8s\.io\/client-go v0\.(\d+)\.(\d+) h1:/m.exec(goSum);
  if (!match?.[1]) throw new Error("tools/helm/go.sum names no k8s.io/client-go module; run `go mod download` in tools/helm, or rebuild with `landlord local build`");
  // client-go v0.37.x is Kubernetes v1.37.x.
  return kubeVersionParts(`v1.${match[1]}.${match[2]}`);
}

/** Helm 3, built from helm.sh/helm/v3 through the wrapper in tools/helm/, with the version ldflags its Makefile sets. */
export const HELM_TOOL: GoTool = {
  name: "helm",
  module: "helm",
  versionModule: "helm.sh/helm/v3",
  binaries: ["helm"],
  binDirEnv: "LANDLORD_HELM_BIN_DIR",
  builds: [
    {
      label: "helm",
      args: (outDir, version) => {
        const { major, minor } = helmKubeVersion(readFileSync(join(toolsDir, "helm", "go.sum"), "utf8"));
        const flags = [
          `-X helm.sh/helm/v3/internal/version.version=${version}`,
          "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
          ...["helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"].flatMap((pkg) => [`-X ${pkg}.k8sVersionMajor=${major}`, `-X ${pkg}.k8sVersionMinor=${minor}`]),
        ];
        return ["-trimpath", "-ldflags", `-s -w ${flags.join(" ")}`, "-o", join(outDir, "helm"), "helm.sh/helm/v3/cmd/helm"];
      },
    },
  ],
  coldBuildHint: "about 2 minutes on 2 cores with cold Go caches",
};
