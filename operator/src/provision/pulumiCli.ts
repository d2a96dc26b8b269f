import type { Log } from "../local/build.ts";
import { ensureGoTool, type BuiltTool } from "../local/goTools.ts";
import { PULUMI_TOOL, writeNodejsLauncher } from "../local/pulumiTool.ts";

/**
 * The Pulumi CLI's installation root (`dir`, holding bin/pulumi: what PulumiCommand.get({root})
 * wants), built from its Go module once through ensureGoTool. A cached build gets the current
 * dynamic-provider launcher, since the cache key follows go.mod and go.sum only; a prebuilt root
 * (LANDLORD_PULUMI_ROOT, e.g. ~/.pulumi of the official installer) is used as it is.
 */
export async function ensurePulumi(options: { env?: NodeJS.ProcessEnv; log?: Log } = {}): Promise<BuiltTool> {
  const built = await ensureGoTool(PULUMI_TOOL, options);
  if (built.version !== undefined) writeNodejsLauncher(built.dir);
  return built;
}
