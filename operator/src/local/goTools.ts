import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { formatDuration, goBuild, hasGo, ToolchainMissingError, type Log } from "./build.ts";
import { cacheRoot, toolsDir } from "./paths.ts";
import { requiredVersion } from "./versions.ts";
import { PULUMI_TOOL } from "./pulumiTool.ts";
import { HELM_TOOL } from "./helmTool.ts";
import { KUBE_NODE_TOOL } from "./kubeNodeTool.ts";
import { PROMETHEUS_TOOL } from "./prometheusTool.ts";

/**
 * A command-line tool built from its Go module through a wrapper module in tools/<module>/, cached
 * like the control plane: the cache key is the hash of the wrapper's go.mod and go.sum, so it
 * changes exactly when what is compiled changes. The control plane has its own, older entry point
 * (build.ts); everything else the project needs from Go (helm, pulumi) is one GoTool each.
 */
export interface GoTool {
  /** Short name, used in the cache directory and in messages, e.g. "helm". */
  name: string;
  /** Directory under tools/ holding the wrapper go.mod and go.sum. */
  module: string;
  /** Module path whose required version names this build, e.g. helm.sh/helm/v3. */
  versionModule: string;
  /** Binaries the build leaves in the output directory. */
  binaries: readonly string[];
  /** Environment variable naming a directory of prebuilt binaries (machines without Go). */
  binDirEnv: string;
  /** `go build` argument lists, run in the wrapper module; each gets the output dir and the pinned version. */
  builds: ReadonlyArray<{ label: string; args: (outDir: string, version: string) => string[]; env?: Record<string, string> }>;
  /** More files under tools/<module>/ whose content is compiled (sources of our own), hashed into the key. */
  keyFiles?: readonly string[];
  /** Roughly how long a cold build takes, for the one line printed before it starts. */
  coldBuildHint: string;
}

export interface BuiltTool {
  dir: string;
  version: string | undefined;
  path: Record<string, string>;
}

function built(tool: GoTool, dir: string, version: string | undefined): BuiltTool {
  return { dir, version, path: Object.fromEntries(tool.binaries.map((b) => [b, join(dir, b)])) };
}

export function goToolKey(tool: GoTool, dir: string = toolsDir): { key: string; version: string } {
  const goMod = readFileSync(join(dir, tool.module, "go.mod"), "utf8");
  const version = requiredVersion(goMod, tool.versionModule);
  const hash = createHash("sha256");
  for (const file of ["go.mod", "go.sum", ...(tool.keyFiles ?? [])]) {
    const full = join(dir, tool.module, file);
    hash.update(file).update(existsSync(full) ? readFileSync(full) : "");
  }
  return { key: `${tool.name}-${version}_${hash.digest("hex").slice(0, 12)}`, version };
}

/** Returns the tool's binaries, building them once when they are not cached yet. */
export async function ensureGoTool(tool: GoTool, options: { env?: NodeJS.ProcessEnv; log?: Log } = {}): Promise<BuiltTool> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const prebuilt = env[tool.binDirEnv];
  if (prebuilt) {
    const missing = tool.binaries.filter((b) => !existsSync(join(prebuilt, b)));
    if (missing.length > 0) throw new ToolchainMissingError(`${tool.binDirEnv}=${prebuilt} lacks ${missing.join(", ")}; put them there or unset it to build them with Go`);
    return built(tool, prebuilt, undefined);
  }
  const { key, version } = goToolKey(tool);
  const dir = join(cacheRoot(env), "bin", key);
  if (tool.binaries.every((b) => existsSync(join(dir, b)))) return built(tool, dir, version);
  if (!hasGo(env)) {
    throw new ToolchainMissingError(
      `landlord needs ${tool.binaries.join(", ")} and builds them from their Go modules, but no Go toolchain (\`go\`) is on PATH. ` +
        `Install Go >= 1.26, or set ${tool.binDirEnv} to a directory holding prebuilt ${tool.binaries.join(", ")}.`,
    );
  }
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const started = Date.now();
  log(`landlord: building ${tool.name} ${version} from its Go module into ${dir} (once; ${tool.coldBuildHint})`);
  for (const build of tool.builds) {
    await goBuild({ label: build.label, moduleDir: join(toolsDir, tool.module), args: build.args(staging, version), env: { ...env, ...build.env }, log });
  }
  // Rename last so an interrupted build never leaves a cache entry that looks complete.
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  log(`landlord: built ${tool.name} in ${formatDuration(Date.now() - started)}`);
  return built(tool, dir, version);
}

/** Every Go tool besides the control plane; `landlord local build` builds them all. */
export const GO_TOOLS: readonly GoTool[] = [PULUMI_TOOL, HELM_TOOL, PROMETHEUS_TOOL, KUBE_NODE_TOOL];
