import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, linkSync, mkdirSync, renameSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";

/** The runtime part of an image's configuration: what `docker inspect` shows under Config. */
export interface ImageRuntimeConfig {
  entrypoint: string[];
  cmd: string[];
  user: string;
  workingDir: string;
  env: Record<string, string>;
  exposedPorts: number[];
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * A reproducible uncompressed layer of everything under `dir`: sorted, root-owned, mtime 0, so the
 * same content gives the same digest (and containerd then skips a second unpack).
 */
export function tarLayer(dir: string, out: string): void {
  execFileSync("tar", ["--create", `--file=${out}`, `--directory=${dir}`, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--format=gnu", "."], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** The image configuration document (the OCI/Docker image config JSON) for these layers. */
export function imageConfigJson(config: ImageRuntimeConfig, diffIds: string[], created: string): string {
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created,
    config: {
      User: config.user,
      Env: Object.entries(config.env).map(([name, value]) => `${name}=${value}`),
      Entrypoint: config.entrypoint,
      Cmd: config.cmd,
      WorkingDir: config.workingDir,
      ExposedPorts: Object.fromEntries(config.exposedPorts.map((port) => [`${port}/tcp`, {}])),
    },
    rootfs: { type: "layers", diff_ids: diffIds.map((id) => `sha256:${id}`) },
  });
}

/**
 * Writes `out` in the `docker save` format (manifest.json, the config, one directory per layer),
 * which `ctr images import` and `docker load` both read. Layers are uncompressed tar files; they
 * are hard-linked into the staging directory when possible (they can be hundreds of MiB).
 */
export async function writeDockerArchive(options: { out: string; ref: string; layers: string[]; config: ImageRuntimeConfig }): Promise<void> {
  const staging = `${options.out}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const diffIds: string[] = [];
    for (const layer of options.layers) {
      const id = await sha256File(layer);
      diffIds.push(id);
      mkdirSync(join(staging, id), { recursive: true });
      try {
        linkSync(layer, join(staging, id, "layer.tar"));
      } catch {
        copyFileSync(layer, join(staging, id, "layer.tar"));
      }
    }
    // created is fixed: the digest then depends on the content only.
    const configJson = imageConfigJson(options.config, diffIds, "1970-01-01T00:00:00Z");
    const configId = createHash("sha256").update(configJson).digest("hex");
    writeFileSync(join(staging, `${configId}.json`), configJson);
    writeFileSync(
      join(staging, "manifest.json"),
      JSON.stringify([{ Config: `${configId}.json`, RepoTags: [options.ref], Layers: diffIds.map((id) => `${id}/layer.tar`) }]),
    );
    tarLayer(staging, `${options.out}.partial`);
    renameSync(`${options.out}.partial`, options.out);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
