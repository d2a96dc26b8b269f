import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKey, ensureBinaries, ToolchainMissingError } from "../../../operator/src/local/build.ts";
import { GO_TOOLS, goToolKey } from "../../../operator/src/local/goTools.ts";
import { PROMETHEUS_TOOL, prometheusReleaseVersion } from "../../../operator/src/local/prometheusTool.ts";
import { toolsDir } from "../../../operator/src/local/paths.ts";
import { kubeVersionParts, pinnedVersions, requiredVersion } from "../../../operator/src/local/versions.ts";

describe("pinned versions", () => {
  it("reads the Kubernetes and etcd versions from the wrapper go.mod files", () => {
    const versions = pinnedVersions();
    expect(versions.kubernetes).toMatch(/^v1\.\d+\.\d+$/);
    expect(versions.etcd).toMatch(/^v3\.6\.\d+$/);
  });

  it("finds a requirement in a single-line or block require", () => {
    expect(requiredVersion("require k8s.io/kubernetes v1.37.2\n", "k8s.io/kubernetes")).toBe("v1.37.2");
    expect(requiredVersion("require (\n\tgo.etcd.io/etcd/server/v3 v3.6.16\n)\n", "go.etcd.io/etcd/server/v3")).toBe("v3.6.16");
    expect(() => requiredVersion("module x\n", "k8s.io/kubernetes")).toThrow(/does not require k8s.io\/kubernetes/);
  });

  it("points every staging replace at the staging tag of the pinned Kubernetes release", () => {
    const goMod = readFileSync(join(toolsDir, "kube", "go.mod"), "utf8");
    const { minor } = kubeVersionParts(pinnedVersions().kubernetes);
    const patch = pinnedVersions().kubernetes.split(".")[2];
    const replaces = [...goMod.matchAll(/^\s*(k8s\.io\/\S+) => (\S+) (v\S+)$/gm)];
    expect(replaces.length).toBeGreaterThanOrEqual(30);
    for (const [, from, to, version] of replaces) {
      expect(to).toBe(from);
      expect(version).toBe(`v0.${minor}.${patch}`);
    }
  });

  it("changes the cache key when a pinned version changes", () => {
    const a = buildKey({ kubernetes: "v1.37.2", etcd: "v3.6.16" });
    const b = buildKey({ kubernetes: "v1.37.3", etcd: "v3.6.16" });
    expect(a).not.toBe(b);
    expect(a).toBe(buildKey({ kubernetes: "v1.37.2", etcd: "v3.6.16" }));
  });
});

describe("ensureBinaries without a Go toolchain", () => {
  it("fails with one message that names the alternatives", async () => {
    const env = { PATH: "/nonexistent", LANDLORD_CACHE_DIR: mkdtempSync(join(tmpdir(), "landlord-nogo-")) };
    const error = await ensureBinaries({ env, log: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolchainMissingError);
    expect((error as Error).message).toContain("KUBECONFIG");
    expect((error as Error).message).toContain("LANDLORD_BIN_DIR");
  });

  it("says which binaries a LANDLORD_BIN_DIR lacks", async () => {
    const env = { LANDLORD_BIN_DIR: mkdtempSync(join(tmpdir(), "landlord-bin-")) };
    await expect(ensureBinaries({ env, log: () => undefined })).rejects.toThrow(/lacks etcd, kube-apiserver, kube-controller-manager, kubectl/);
  });
});

describe("the Prometheus build", () => {
  it("reports the release that the pinned module version stands for", () => {
    expect(prometheusReleaseVersion("v0.316.0")).toBe("3.16.0");
    expect(prometheusReleaseVersion("v0.305.12")).toBe("3.5.12");
    expect(() => prometheusReleaseVersion("v2.53.0")).toThrow(/v0\.3MM\.P/);
  });

  it("is one of the tools `landlord local build` builds, with the version in its ldflags", () => {
    expect(GO_TOOLS).toContain(PROMETHEUS_TOOL);
    const { version } = goToolKey(PROMETHEUS_TOOL);
    const args = PROMETHEUS_TOOL.builds.flatMap((build) => build.args("/out", version));
    expect(args.join(" ")).toContain("github.com/prometheus/common/version.Version=3.16.0");
    expect(args).toEqual(expect.arrayContaining(["github.com/prometheus/prometheus/cmd/prometheus", "github.com/prometheus/prometheus/cmd/promtool"]));
  });
});
