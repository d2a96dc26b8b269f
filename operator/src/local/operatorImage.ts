import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { formatDuration, type Log } from "./build.ts";
import { tarLayer, writeDockerArchive, type ImageRuntimeConfig } from "./imageArchive.ts";
import { ensureGoTool } from "./goTools.ts";
import { which } from "./nodeHost.ts";
import { cacheRoot, projectRoot } from "./paths.ts";
import { PULUMI_TOOL } from "./pulumiTool.ts";

/**
 * The operator image without a Docker engine: what the repository's Dockerfile builds, made from
 * Debian packages and this checkout. The Dockerfile stays the source of truth; a unit test parses
 * its final stage and compares it with RUNTIME_CONFIG and BUILD_CONTEXT below.
 *
 *   layer 1: a Debian root filesystem (mmdebstrap, minbase, with Debian's nodejs >= 20 and CA
 *            certificates) from the mirror apt uses; the Dockerfile's node:20-bookworm-slim
 *   layer 2: /app — the build context the .dockerignore admits, production node_modules
 *            (`npm ci --omit=dev`, type declarations and source maps dropped), and dist/ from
 *            `npm run build`; the Pulumi CLI only when asked (the Dockerfile's PULUMI=pulumi; by
 *            default PULUMI=none: the plan provisioner only)
 */
export const IMAGE_REF = "landlord:dev";

export const RUNTIME_CONFIG: ImageRuntimeConfig = {
  // --expose-gc from the start, as the Dockerfile: the idle collection after a burst needs gc().
  entrypoint: ["node", "--expose-gc", "dist/operator/src/cli/run.js"],
  cmd: ["operator"],
  user: "1000:1000",
  workingDir: "/app",
  env: {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    NODE_ENV: "production",
    LANDLORD_PULUMI_ROOT: "/opt/pulumi",
    HOME: "/tmp",
    PULUMI_HOME: "/tmp/.pulumi",
  },
  exposedPorts: [8080, 8081],
};

/** What `COPY . .` copies: the paths the .dockerignore lets back in that the runtime reads. */
export const BUILD_CONTEXT = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "bin", "operator/src", "pulumi", "crds"] as const;

/** Debian 13 (trixie) is the first release whose nodejs is >= 20 (20.19); bookworm's is 18. */
export const DEBIAN_SUITE = "trixie";
const BASE_PACKAGES = ["nodejs", "ca-certificates"];
// Documentation, man pages and translations are never read in a container: about 50 MiB.
const DPKG_EXCLUDES = ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*"];

/** The Debian mirror the host's apt uses (deb822 or one-line sources), deb.debian.org otherwise. */
export function debianMirror(sources: string): string {
  for (const match of sources.matchAll(/^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
    const uri = match[1] as string;
    if (/\/debian\/?$/.test(uri)) return uri.replace(/\/$/, "");
  }
  return "http://deb.debian.org/debian";
}

function aptSources(): string {
  const files = ["/etc/apt/sources.list", ...(existsSync("/etc/apt/sources.list.d") ? readdirSync("/etc/apt/sources.list.d").map((f) => join("/etc/apt/sources.list.d", f)) : [])];
  return files.filter((f) => existsSync(f) && statSync(f).isFile()).map((f) => readFileSync(f, "utf8")).join("\n");
}

function listFiles(root: string, rel: string): string[] {
  const full = join(root, rel);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [rel];
  return readdirSync(full)
    .sort()
    .flatMap((entry) => listFiles(root, join(rel, entry)))
    // The .dockerignore drops tests beside the sources.
    .filter((file) => !file.endsWith(".test.ts"));
}

/** Content hash of everything layer 2 is made from; the cache key of the image. */
export function appInputsHash(root: string = projectRoot): string {
  const hash = createHash("sha256");
  for (const file of BUILD_CONTEXT.flatMap((entry) => listFiles(root, entry))) hash.update(file).update("\0").update(readFileSync(join(root, file))).update("\0");
  hash.update(JSON.stringify(RUNTIME_CONFIG));
  return hash.digest("hex").slice(0, 16);
}

async function runLogged(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; label: string }): Promise<void> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number>((resolveExit) => child.on("close", (status) => resolveExit(status ?? 1)));
  if (code !== 0) throw new Error(`${options.label} failed (exit ${code}):\n${output.split("\n").slice(-30).join("\n")}`);
}

/** Layer 1, cached by suite, mirror and package list: a Debian root filesystem as a tar file. */
async function baseLayer(env: NodeJS.ProcessEnv, log: Log): Promise<string> {
  const mirror = env.LANDLORD_DEBIAN_MIRROR ?? debianMirror(aptSources());
  const key = createHash("sha256").update(JSON.stringify([DEBIAN_SUITE, mirror, BASE_PACKAGES, DPKG_EXCLUDES])).digest("hex").slice(0, 12);
  const out = join(cacheRoot(env), "images", `debian-${DEBIAN_SUITE}-node-${key}.tar`);
  if (existsSync(out)) return out;
  if (!which("mmdebstrap")) throw new Error("landlord local image needs mmdebstrap to make the Debian base (apt-get install mmdebstrap), or build the Dockerfile with docker build");
  mkdirSync(join(cacheRoot(env), "images"), { recursive: true });
  const started = Date.now();
  log(`landlord: making the image's Debian ${DEBIAN_SUITE} base with mmdebstrap from ${mirror} (once)`);
  await runLogged(
    "mmdebstrap",
    ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, "--mode=root", "--format=tar", ...DPKG_EXCLUDES.map((path) => `--dpkgopt=path-exclude=${path}`), DEBIAN_SUITE, `${out}.partial`, mirror],
    { label: "mmdebstrap" },
  );
  renameSync(`${out}.partial`, out);
  log(`landlord: Debian base ready in ${formatDuration(Date.now() - started)}`);
  return out;
}

/** Deletes what the Dockerfile's deps stage deletes from node_modules: not read at run time. */
function pruneNodeModules(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) pruneNodeModules(full);
    else if (/\.d\.[mc]?ts$|\.map$/.test(entry.name)) rmSync(full);
  }
}

/** Layer 2: /app as the Dockerfile's last stage leaves it. */
async function appLayer(env: NodeJS.ProcessEnv, log: Log, key: string, pulumiRoot: string | undefined): Promise<string> {
  const dir = join(cacheRoot(env), "images");
  const out = join(dir, `landlord-app-${key}.tar`);
  if (existsSync(out)) return out;
  const staging = join(dir, `landlord-app-${key}.staging-${process.pid}`);
  const app = join(staging, "app");
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  try {
    for (const entry of BUILD_CONTEXT) {
      const from = join(projectRoot, entry);
      if (existsSync(from)) cpSync(from, join(app, entry), { recursive: true, filter: (src) => !src.endsWith(".test.ts") });
    }
    log("landlord: npm ci --omit=dev for the image");
    await runLogged("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], { cwd: app, label: "npm ci --omit=dev", env: { ...env, NODE_ENV: "production" } });
    pruneNodeModules(join(app, "node_modules"));
    log("landlord: npm run build (tsc) for the image");
    // The Dockerfile's build stage: the same tsconfig over the same sources (those copied above come
    // from this checkout), run where the dev dependencies (tsc, @types) are installed.
    await runLogged(join(projectRoot, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json", "--outDir", join(app, "dist")], { cwd: projectRoot, label: "npm run build (tsc)" });
    mkdirSync(join(staging, "opt", "pulumi", "bin"), { recursive: true });
    // The Dockerfile's PULUMI=pulumi: the CLI and its dynamic-provider launcher, built as the tests build them.
    if (pulumiRoot) cpSync(join(pulumiRoot, "bin"), join(staging, "opt", "pulumi", "bin"), { recursive: true });
    tarLayer(staging, `${out}.partial`);
    renameSync(`${out}.partial`, out);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return out;
}

export interface BuiltImage {
  ref: string;
  archive: string;
  /** True when nothing was built: the archive for these inputs was cached. */
  cached: boolean;
  seconds: number;
}

/** Builds (or finds) the operator image archive; importing it into a containerd is the caller's. */
export async function buildOperatorImage(options: { env?: NodeJS.ProcessEnv; log?: Log; pulumi?: boolean } = {}): Promise<BuiltImage> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const pulumi = options.pulumi ? await ensureGoTool(PULUMI_TOOL, { env, log }) : undefined;
  // With the Pulumi CLI the key also names the CLI's build (its cache directory is keyed by content).
  const key = pulumi ? createHash("sha256").update(appInputsHash()).update(pulumi.dir).digest("hex").slice(0, 16) : appInputsHash();
  const archive = join(cacheRoot(env), "images", `landlord-${key}.tar`);
  if (existsSync(archive)) return { ref: IMAGE_REF, archive, cached: true, seconds: (Date.now() - started) / 1000 };
  const base = await baseLayer(env, log);
  const app = await appLayer(env, log, key, pulumi?.dir);
  await writeDockerArchive({ out: archive, ref: IMAGE_REF, layers: [base, app], config: RUNTIME_CONFIG });
  rmSync(app, { force: true });
  // Older archives of this image are superseded; keep the cache from growing with every edit.
  for (const file of readdirSync(join(cacheRoot(env), "images"))) {
    if (file.startsWith("landlord-") && file.endsWith(".tar") && file !== relative(join(cacheRoot(env), "images"), archive)) rmSync(join(cacheRoot(env), "images", file), { force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  log(`landlord: built ${IMAGE_REF} in ${formatDuration(seconds * 1000)} (${archive})`);
  return { ref: IMAGE_REF, archive, cached: false, seconds };
}

/**
 * An image for migration Jobs in the tests: the operator image's Debian base alone (a shell and
 * coreutils, no /app), so it is cached by the base's key and not rebuilt at every source change.
 * The Job's script comes from the policy's jobTemplate; user 1000 as Pod Security restricted wants.
 */
export async function buildJobImage(options: { env?: NodeJS.ProcessEnv; log?: Log } = {}): Promise<BuiltImage> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const base = await baseLayer(env, log);
  const key = createHash("sha256").update(base).digest("hex").slice(0, 12);
  const ref = `landlord.local/migrate-check:${key}`;
  // Not named landlord-*: buildOperatorImage deletes those as superseded.
  const archive = join(cacheRoot(env), "images", `job-${key}.tar`);
  if (existsSync(archive)) return { ref, archive, cached: true, seconds: (Date.now() - started) / 1000 };
  await writeDockerArchive({ out: archive, ref, layers: [base], config: { entrypoint: [], cmd: ["/bin/sh"], user: "1000:1000", workingDir: "/", env: { PATH: RUNTIME_CONFIG.env.PATH as string }, exposedPorts: [] } });
  return { ref, archive, cached: false, seconds: (Date.now() - started) / 1000 };
}
