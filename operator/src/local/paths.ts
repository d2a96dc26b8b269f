import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (or installed package) root: everything else is found relative to it. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export const toolsDir = join(projectRoot, "tools");
export const crdsDir = join(projectRoot, "crds");
export const examplesDir = join(projectRoot, "examples");

/**
 * Where built binaries are cached. Defaults to `.cache/` in the project; CI points it at a
 * directory that outlives the clone so a second run on the same machine is warm.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.LANDLORD_CACHE_DIR ?? join(projectRoot, ".cache"));
}

/** Where `landlord local up` keeps the state of the control plane it started. */
export function defaultLocalDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.LANDLORD_LOCAL_DIR ?? join(cacheRoot(env), "local"));
}
