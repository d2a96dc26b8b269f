// Types only: goTools.ts imports this module to list the tool, so a value import would be a cycle.
import type { GoTool } from "./goTools.ts";

/**
 * Prometheus' module versions are v0.3MM.P for release 3.MM.P (the project keeps a v0 module path so
 * `go get` users are not forced onto /v3): this turns the pinned module version into the release
 * version `prometheus --version` reports, as the release archives do.
 */
export function prometheusReleaseVersion(moduleVersion: string): string {
  const match = /^v0\.(\d)(\d\d)\.(\d+)$/.exec(moduleVersion);
  if (!match) throw new Error(`tools/prometheus/go.mod pins github.com/prometheus/prometheus ${moduleVersion}, which is not of the v0.3MM.P form of Prometheus 3.x releases`);
  return `${match[1]}.${Number(match[2])}.${match[3]}`;
}

/**
 * Prometheus and promtool, built from github.com/prometheus/prometheus through tools/prometheus/.
 *
 * Two deliberate differences from the release archives (.promu.yml):
 * - no `builtinassets` tag: the web UI's compiled JavaScript is not in the Go module (it is built by
 *   npm in the release pipeline), and the tests only use the HTTP API, which works without it;
 * - `remove_all_sd`: every service-discovery plugin but file and http is left out. The tests scrape
 *   static targets only, and the cloud SDKs those plugins pull in are most of a cold build.
 */
export const PROMETHEUS_TOOL: GoTool = {
  name: "prometheus",
  module: "prometheus",
  versionModule: "github.com/prometheus/prometheus",
  binaries: ["prometheus", "promtool"],
  binDirEnv: "LANDLORD_PROMETHEUS_BIN_DIR",
  builds: [
    {
      label: "prometheus, promtool",
      args: (outDir, moduleVersion) => {
        const flags = [
          `-X github.com/prometheus/common/version.Version=${prometheusReleaseVersion(moduleVersion)}`,
          `-X github.com/prometheus/common/version.Revision=${moduleVersion}`,
          "-X github.com/prometheus/common/version.Branch=HEAD",
          "-X github.com/prometheus/common/version.BuildUser=landlord",
        ];
        return [
          "-trimpath",
          "-gcflags",
          "all=-dwarf=false",
          "-tags",
          "netgo,remove_all_sd",
          "-ldflags",
          `-s -w ${flags.join(" ")}`,
          "-o",
          `${outDir}/`,
          "github.com/prometheus/prometheus/cmd/prometheus",
          "github.com/prometheus/prometheus/cmd/promtool",
        ];
      },
    },
  ],
  coldBuildHint: "about 3 minutes on 2 cores with cold Go caches",
};
