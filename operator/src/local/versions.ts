import { readFileSync } from "node:fs";
import { join } from "node:path";
import { toolsDir } from "./paths.ts";

/**
 * The pinned component versions. The wrapper go.mod files are the one place they are written:
 * the build reads them back from there, so the ldflags version string can never disagree with
 * the module actually compiled.
 */
export interface PinnedVersions {
  kubernetes: string;
  etcd: string;
}

export function requiredVersion(goMod: string, modulePath: string): string {
  const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod);
  if (!match?.[1]) {
    throw new Error(`go.mod does not require ${modulePath}; add "require ${modulePath} vX.Y.Z"`);
  }
  return match[1];
}

export function pinnedVersions(dir: string = toolsDir): PinnedVersions {
  return {
    kubernetes: requiredVersion(readFileSync(join(dir, "kube", "go.mod"), "utf8"), "k8s.io/kubernetes"),
    etcd: requiredVersion(readFileSync(join(dir, "etcd", "go.mod"), "utf8"), "go.etcd.io/etcd/server/v3"),
  };
}

/** Splits v1.37.2 into the major/minor strings Kubernetes' version package expects. */
export function kubeVersionParts(version: string): { major: string; minor: string } {
  const match = /^v(\d+)\.(\d+)\.\d+/.exec(version);
  if (!match?.[1] || !match[2]) throw new Error(`not a Kubernetes release version: ${version}`);
  return { major: match[1], minor: match[2] };
}
