import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// Types only: goTools.ts imports this module to list the tool, so a value import would be a cycle.
import type { GoTool } from "./goTools.ts";

/**
 * The Pulumi CLI, built from github.com/pulumi/pulumi/pkg/v3 through the wrapper in tools/pulumi/
 * at the version of the npm SDK, the way release archives build it (tags and version ldflag).
 *
 * Not built: the Node.js language host (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3).
 * It has no version tags, so it can only be required by pseudo-version, and the module proxy this
 * project can reach answers 403 for every version of that module path. Inline programs do not need
 * it: the Automation API runs the program in-process and hands the CLI its own language server
 * (`pulumi up --client`). Only file-based Node.js projects do; a release archive's
 * pulumi-language-nodejs dropped into $LANDLORD_PULUMI_ROOT/bin covers them.
 */

export const NODEJS_LAUNCHER = "pulumi-resource-pulumi-nodejs";

/** Names the @pulumi/pulumi package directory the launcher falls back to (set by the pulumi adapter). */
export const NODEJS_SDK_ENV = "LANDLORD_PULUMI_NODEJS_SDK";

/**
 * What release archives ship as pulumi-resource-pulumi-nodejs: the engine starts it (it is a
 * "bundled" plugin, looked up next to the CLI) to serve dynamic providers. The release script only
 * resolves @pulumi/pulumi from the program's directory; an inline program's work directory has no
 * node_modules, so this one falls back to the SDK directory the adapter names.
 */
export const NODEJS_LAUNCHER_SCRIPT = `#!/bin/sh
# Serves Pulumi dynamic providers (pulumi.dynamic.Resource) written in Node.js. Written by landlord
# (operator/src/local/pulumiTool.ts); equivalent to the one in Pulumi's release archives.
script=$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))" 2>/dev/null)
if [ -z "$script" ] && [ -n "\${${NODEJS_SDK_ENV}:-}" ]; then
    script="\${${NODEJS_SDK_ENV}}/cmd/dynamic-provider/index.js"
fi
if [ -z "$script" ] || [ ! -f "$script" ]; then
    echo "${NODEJS_LAUNCHER}: cannot find @pulumi/pulumi/cmd/dynamic-provider from $(pwd); install @pulumi/pulumi there or set ${NODEJS_SDK_ENV}" >&2
    exit 1
fi
exec node "$script" "$@"
`;

/** Writes the launcher into <root>/bin unless an identical one is there; atomic, so a concurrent reader never sees half a script. */
export function writeNodejsLauncher(root: string): void {
  mkdirSync(join(root, "bin"), { recursive: true });
  const path = join(root, "bin", NODEJS_LAUNCHER);
  if (existsSync(path) && readFileSync(path, "utf8") === NODEJS_LAUNCHER_SCRIPT) return;
  const partial = `${path}.partial-${process.pid}`;
  writeFileSync(partial, NODEJS_LAUNCHER_SCRIPT);
  chmodSync(partial, 0o755);
  renameSync(partial, path);
}

export const PULUMI_TOOL: GoTool = {
  name: "pulumi",
  module: "pulumi",
  versionModule: "github.com/pulumi/pulumi/pkg/v3",
  // An installation root as the Automation API's PulumiCommand.get({root}) expects it (bin/pulumi);
  // the installer's ~/.pulumi is one, so LANDLORD_PULUMI_ROOT=$HOME/.pulumi uses an installed CLI.
  binaries: ["bin/pulumi", `bin/${NODEJS_LAUNCHER}`],
  binDirEnv: "LANDLORD_PULUMI_ROOT",
  builds: [
    {
      label: "pulumi",
      args: (outDir, version) => {
        // GoTool only runs `go build`; writing the launcher while the build's arguments are made puts
        // it in the staging directory, so it reaches the cache in the same rename as the binary.
        writeNodejsLauncher(outDir);
        return [
          "-tags",
          "osusergo,grpcnotrace",
          "-ldflags",
          `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${version}`,
          "-o",
          join(outDir, "bin", "pulumi"),
          "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
        ];
      },
    },
  ],
  // Measured: 7m55s wall (6.5 CPU-minutes) on 2 cores shared with other builds, 6 s with a warm build cache.
  coldBuildHint: "about 4 minutes on 2 idle cores with cold Go caches, 8 on busy ones",
};
