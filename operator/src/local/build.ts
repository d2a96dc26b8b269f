import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot, toolsDir } from "./paths.ts";
import { kubeVersionParts, pinnedVersions, type PinnedVersions } from "./versions.ts";

export const BINARY_NAMES = ["etcd", "kube-apiserver", "kube-controller-manager", "kubectl"] as const;
export type BinaryName = (typeof BINARY_NAMES)[number];

export interface Binaries {
  dir: string;
  versions: PinnedVersions | undefined;
  path: Record<BinaryName, string>;
}

export type Log = (line: string) => void;

/** Thrown when the control plane cannot be had on this machine; the message says what to do. */
export class ToolchainMissingError extends Error {
  override name = "ToolchainMissingError";
}

function binariesIn(dir: string, versions: PinnedVersions | undefined): Binaries {
  const path = Object.fromEntries(BINARY_NAMES.map((name) => [name, join(dir, name)])) as Record<BinaryName, string>;
  return { dir, versions, path };
}

function missingIn(dir: string): BinaryName[] {
  return BINARY_NAMES.filter((name) => !existsSync(join(dir, name)));
}

/**
 * The cache key changes exactly when the pinned modules change: the wrapper go.mod and go.sum
 * files decide what is compiled, so they are what is hashed.
 */
export function buildKey(versions: PinnedVersions, dir: string = toolsDir): string {
  const hash = createHash("sha256");
  for (const file of ["kube/go.mod", "kube/go.sum", "etcd/go.mod", "etcd/go.sum"]) {
    const full = join(dir, file);
    hash.update(file).update(existsSync(full) ? readFileSync(full) : "");
  }
  return `kubernetes-${versions.kubernetes}_etcd-${versions.etcd}_${hash.digest("hex").slice(0, 12)}`;
}

export function hasGo(env: NodeJS.ProcessEnv): boolean {
  return spawnSync("go", ["version"], { env, stdio: "ignore" }).status === 0;
}

export const NO_TOOLCHAIN_HELP =
  "landlord needs kube-apiserver, etcd, kube-controller-manager and kubectl, and builds them from their Go modules, " +
  "but no Go toolchain (`go`) is on PATH. Either install Go >= 1.26, or set LANDLORD_BIN_DIR to a directory that " +
  "holds prebuilt etcd, kube-apiserver, kube-controller-manager and kubectl binaries, or skip the local control " +
  "plane and set KUBECONFIG to an existing cluster.";

/**
 * Returns the four control-plane binaries, building them once from the pinned Go modules when
 * they are not cached yet. LANDLORD_BIN_DIR short-circuits the build for machines without Go.
 */
export async function ensureBinaries(options: { env?: NodeJS.ProcessEnv; log?: Log } = {}): Promise<Binaries> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  if (env.LANDLORD_BIN_DIR) {
    const missing = missingIn(env.LANDLORD_BIN_DIR);
    if (missing.length > 0) {
      throw new ToolchainMissingError(
        `LANDLORD_BIN_DIR=${env.LANDLORD_BIN_DIR} lacks ${missing.join(", ")}; put all of ${BINARY_NAMES.join(", ")} there or unset it to build them with Go`,
      );
    }
    return binariesIn(env.LANDLORD_BIN_DIR, undefined);
  }

  const versions = pinnedVersions();
  const dir = join(cacheRoot(env), "bin", buildKey(versions));
  if (missingIn(dir).length === 0) return binariesIn(dir, versions);

  if (!hasGo(env)) throw new ToolchainMissingError(NO_TOOLCHAIN_HELP);

  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const started = Date.now();
  log(
    `landlord: building Kubernetes ${versions.kubernetes} and etcd ${versions.etcd} from their Go modules into ${dir} ` +
      "(once; about 7 minutes on 2 cores with cold Go caches, under a minute with a warm build cache)",
  );

  // Both at once: each go build ends in long single-threaded links, which leave a core idle that
  // the other build's compiles use (about a minute less, cold, on 2 cores).
  await Promise.all([
    goBuild({
      label: "kube-apiserver, kube-controller-manager, kubectl",
      moduleDir: join(toolsDir, "kube"),
      args: [...KUBE_GCFLAGS, "-ldflags", `-s -w ${kubeVersionFlags(versions.kubernetes).join(" ")}`, "-o", `${staging}/`, "k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kubectl"],
      env,
      log,
    }),
    goBuild({
      label: "etcd",
      moduleDir: join(toolsDir, "etcd"),
      args: [...KUBE_GCFLAGS, "-ldflags", "-s -w", "-o", join(staging, "etcd"), "go.etcd.io/etcd/server/v3"],
      env,
      log,
    }),
  ]);

  // Rename as the last step so an interrupted build never leaves a cache entry that looks complete.
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  log(`landlord: built the control plane in ${formatDuration(Date.now() - started)}`);
  return binariesIn(dir, versions);
}

/**
 * No DWARF: -w drops it from the binaries anyway, and not generating it makes every package compile
 * faster. Every build from tools/kube must pass exactly these flags: they are part of the Go build
 * cache key, so kubelet and kube-scheduler then reuse what kube-apiserver's build compiled.
 */
export const KUBE_GCFLAGS = ["-gcflags", "all=-dwarf=false"];

/** The -X flags that make a Kubernetes binary report its release (otherwise /version says v0.0.0). */
export function kubeVersionFlags(version: string): string[] {
  const { major, minor } = kubeVersionParts(version);
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
}

export async function goBuild(options: { label: string; moduleDir: string; args: string[]; env: NodeJS.ProcessEnv; log: Log }): Promise<void> {
  const { label, moduleDir, args, env, log } = options;
  const started = Date.now();
  log(`landlord: go build ${label} ...`);
  const child = spawn("go", ["build", ...args], {
    cwd: moduleDir,
    // -mod=mod lets go add the go.sum lines a build needs; GOTOOLCHAIN=local stops go from trying to
    // download a newer toolchain named by a dependency (nothing outside the module proxy is reachable).
    env: { ...env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: `${env.GOFLAGS ?? ""} -mod=mod`.trim() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const ticker = setInterval(() => log(`landlord: still building ${label} (${formatDuration(Date.now() - started)})`), 30_000);
  const code = await new Promise<number>((resolveExit) => child.on("close", (status) => resolveExit(status ?? 1)));
  clearInterval(ticker);
  if (code !== 0) {
    throw new Error(`go build of ${label} failed (exit ${code}) in ${moduleDir}:\n${output.split("\n").slice(-40).join("\n")}`);
  }
  log(`landlord: built ${label} in ${formatDuration(Date.now() - started)}`);
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}
