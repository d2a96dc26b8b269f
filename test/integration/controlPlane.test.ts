import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readState } from "../../operator/src/local/controlPlane.ts";
import { KubectlError } from "../../operator/src/local/kubectl.ts";
import { isAlive } from "../../operator/src/local/processes.ts";
import { pinnedVersions } from "../../operator/src/local/versions.ts";
import { cluster, eventually, k, kJson } from "./cluster.ts";

const run = promisify(execFile);
const landlordBin = join(import.meta.dirname, "../../bin/landlord.mjs");

describe("the local control plane", () => {
  it("serves the pinned Kubernetes version, as kubectl reports it", async () => {
    const version = await kJson<{ serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } }>(["version"]);
    expect(version.serverVersion.gitVersion).toBe(pinnedVersions().kubernetes);
    expect(version.clientVersion.gitVersion).toBe(pinnedVersions().kubernetes);
  });

  it("has RBAC on: an unprivileged user is denied", async () => {
    // can-i answers "no" on stdout and exits 1.
    const error = await k(["auth", "can-i", "list", "secrets", "--as=nobody", "-A"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubectlError);
    expect((error as KubectlError).stdout.trim()).toBe("no");
    expect((await k(["auth", "can-i", "list", "secrets", "-A"])).trim()).toBe("yes");
  });

  it("finishes namespace deletion and collects owned objects, as a cluster's controller manager does", async () => {
    const ns = `cp-gc-${Date.now()}`;
    await k(["create", "namespace", ns]);
    // The serviceaccount controller creates the default ServiceAccount in every new namespace.
    await eventually(async () => ((await k(["get", "serviceaccount", "default", "-n", ns, "-o", "name"])).trim() || undefined), {
      what: "the default ServiceAccount",
    });
    await k(["create", "configmap", "owner", "-n", ns]);
    const owner = await kJson<{ metadata: { uid: string } }>(["get", "configmap", "owner", "-n", ns]);
    const owned = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owned", namespace: ns, ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid }] },
    };
    await k(["apply", "-f", "-"], JSON.stringify(owned));
    await k(["delete", "configmap", "owner", "-n", ns]);
    await eventually(async () => ((await k(["get", "configmap", "-n", ns, "-o", "name"])).includes("owned") ? undefined : true), {
      what: "garbage collection of the owned ConfigMap",
    });

    await k(["delete", "namespace", ns, "--wait=false"]);
    await eventually(async () => ((await k(["get", "namespace", ns, "--ignore-not-found", "-o", "name"])).trim() === "" ? true : undefined), {
      what: `namespace ${ns} to finish deleting`,
      timeoutMs: 60_000,
    });
  });

  it("landlord local up is harmless twice, env points kubectl at it, and down removes it", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "landlord-cli-")), "local");
    const env = { ...process.env, LANDLORD_BIN_DIR: cluster().binDir };
    await run(process.execPath, [landlordBin, "local", "up", "--dir", dir], { env });
    const first = readState(dir);
    try {
      await checkUpAgainAndEnv(dir, env, first);
    } catch (error) {
      // Never leave a control plane behind when an assertion fails before the down below.
      await run(process.execPath, [landlordBin, "local", "down", "--dir", dir], { env }).catch(() => undefined);
      throw error;
    }

    await run(process.execPath, [landlordBin, "local", "down", "--dir", dir], { env });
    expect(existsSync(dir)).toBe(false);
    for (const pid of Object.values(first?.pids ?? {})) expect(isAlive(pid)).toBe(false);
  }, 180_000);

  async function checkUpAgainAndEnv(dir: string, env: NodeJS.ProcessEnv, first: ReturnType<typeof readState>): Promise<void> {
    expect(first).toBeDefined();
    await run(process.execPath, [landlordBin, "local", "up", "--dir", dir], { env });
    expect(readState(dir)?.pids).toEqual(first?.pids);

    const script = `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(landlordBin)} local env --dir ${JSON.stringify(dir)})" && command -v kubectl && kubectl get --raw /readyz`;
    // sh, not bash: a POSIX shell is all the README asks a machine to have (.ci/prerequisites).
    const { stdout } = await run("sh", ["-c", script], { env });
    expect(stdout).toContain(join(cluster().binDir, "kubectl"));
    expect(stdout.trim().endsWith("ok")).toBe(true);
  }
});
