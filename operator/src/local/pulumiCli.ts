import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { PulumiInstallation } from "../provision/pulumi.ts";
import type { Log } from "./build.ts";
import { ensureGoTool } from "./goTools.ts";
import { NODEJS_SDK_ENV, PULUMI_TOOL, writeNodejsLauncher } from "./pulumiTool.ts";

/** The @pulumi/pulumi package this process runs, for the dynamic-provider launcher (work directories have no node_modules). */
function nodejsSdkDir(): string {
  return dirname(createRequire(import.meta.url).resolve("@pulumi/pulumi/package.json"));
}

/**
 * The Pulumi CLI the pulumi adapter runs: its installation root (holding bin/pulumi, what
 * PulumiCommand.get({root}) wants), built from its Go module once through ensureGoTool, and the
 * environment its dynamic-provider launcher needs. A cached build gets the current launcher, since
 * the cache key follows go.mod and go.sum only; a prebuilt root (LANDLORD_PULUMI_ROOT, e.g.
 * ~/.pulumi of the official installer, or /opt/pulumi in the image) is used as it is.
 */
export async function ensurePulumi(options: { env?: NodeJS.ProcessEnv; log?: Log } = {}): Promise<PulumiInstallation & { version: string | undefined }> {
  const built = await ensureGoTool(PULUMI_TOOL, options);
  if (built.version !== undefined) writeNodejsLauncher(built.dir);
  return { root: built.dir, env: { [NODEJS_SDK_ENV]: nodejsSdkDir() }, version: built.version };
}
