import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localDown, localUp, readState, type LocalState } from "../../operator/src/local/controlPlane.ts";
import { ensureGoTool } from "../../operator/src/local/goTools.ts";
import { HELM_TOOL } from "../../operator/src/local/helmTool.ts";
import { importImage } from "../../operator/src/local/node.ts";
import { BRIDGE, CGROUP_ROOT, NAT_CHAIN } from "../../operator/src/local/nodeConfig.ts";
import { hostFacts, ourNetns, preflightProblems } from "../../operator/src/local/nodeHost.ts";
import { buildOperatorImage } from "../../operator/src/local/operatorImage.ts";
import { projectRoot } from "../../operator/src/local/paths.ts";

/**
 * The operator in real pods: a local node (containerd + kubelet), the image built here, and the
 * checks test/e2e/kind.sh runs on kind (test/e2e/checks.sh): helm install, leader, examples,
 * promotion, failover, migration Jobs that run, upgrade, uninstall. Runs wherever a node can
 * (Linux, root, Debian's containerd/runc/CNI plugins); elsewhere it is skipped, and with CI=true a
 * skip is a failure.
 */
const problems = preflightProblems(hostFacts());
const canRun = problems.length === 0;
const measures: string[] = [];

if (!canRun && process.env.CI === "true") {
  describe("the operator on a local node", () => {
    it("can run in CI", () => {
      expect.fail(`CI must run the node suite, but:\n${problems.join("\n")}`);
    });
  });
}

describe.skipIf(!canRun)("the operator on a local node", () => {
  let dir = "";
  let state: LocalState;
  let env: NodeJS.ProcessEnv;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "landlord-node-"));
    const helm = await ensureGoTool(HELM_TOOL, { log });
    const started = Date.now();
    state = await localUp({ dir, log, node: true, readyTimeoutMs: 180_000 });
    measures.push(`measure: control_plane_and_node_up_seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    const image = await buildOperatorImage({ log });
    measures.push(`measure: image_build_seconds=${image.seconds.toFixed(1)}${image.cached ? " (cached)" : ""}`);
    const importStarted = Date.now();
    await importImage(state.node?.socket as string, image.archive);
    measures.push(`measure: image_import_seconds=${((Date.now() - importStarted) / 1000).toFixed(1)}`);
    env = {
      ...process.env,
      KUBECONFIG: state.kubeconfig,
      PATH: [state.binDir, helm.dir, process.env.PATH].join(":"),
      IMAGE: image.ref,
      CONTAINERD_SOCKET: state.node?.socket,
      FREEZE_POD: join(projectRoot, "test/e2e/freeze-pod-local.sh"),
    };
  }, 900_000);

  afterAll(async () => {
    process.stderr.write(`\n${measures.join("\n")}\n`);
    if (dir && readState(dir)) await localDown({ dir });
  }, 120_000);

  function check(step: string): Promise<string> {
    return new Promise((resolveRun, reject) => {
      const child = spawn("bash", [join(projectRoot, "test/e2e/checks.sh"), step], { cwd: projectRoot, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("close", (code) => {
        measures.push(...output.split("\n").filter((line) => line.startsWith("measure: ")));
        if (code === 0) resolveRun(output);
        else reject(new Error(`checks.sh ${step} failed (exit ${code}):\n${output.slice(-6000)}`));
      });
    });
  }

  it("runs both replicas of the chart Ready, read-only root, seccomp, uid 1000", async () => {
    expect(await check("install")).toContain("measure: install_to_ready_seconds=");
  });
  it("elects one leader that holds the Lease", async () => {
    expect(await check("leader")).toMatch(/leader: landlord-/);
  });
  it("places the example tenants", async () => {
    await check("examples");
  });
  it("promotes by policy", async () => {
    expect(await check("promotion")).toContain("pooled->namespace Policy Succeeded");
  });
  it("keeps the namespace guard", async () => {
    await check("guard");
  });
  it("serves the leader's metrics", async () => {
    expect(await check("metrics")).toContain("landlord_leader 1");
  });
  it("fails over when the leader hangs and when it is deleted, and the new leader promotes", async () => {
    const output = await check("failover");
    expect(output).toContain("measure: failover_expiry_seconds=");
    expect(output).toContain("measure: failover_handover_seconds=");
  });
  it("runs the migration Job in a pod and cuts over after it completes", async () => {
    expect(await check("migration")).toMatch(/^migrated$/m);
  });
  it("leaves the tenant where it was when the migration Job fails", async () => {
    await check("migration-failure");
  });
  it("reports the operator pods' memory", async () => {
    expect(await check("memory")).toMatch(/measure: pod_working_set_mib=[1-9]/);
  });
  it("rolls out a helm upgrade with changed values", async () => {
    await check("upgrade");
  });
  it("waits to delete a pool until its tenants have gone; helm uninstall leaves nothing behind, Lease included", async () => {
    const output = await check("uninstall");
    expect(output).toMatch(/^pool standard: Being deleted: waiting for \d+ tenant\(s\) still served here to leave/m);
    process.stderr.write(`${output.split("\n").find((line) => line.startsWith("pool standard: ")) ?? ""}\n`);
  });
  it("local down removes every process, mount, network device and rule of the node", async () => {
    const node = state.node;
    expect(node).toBeDefined();
    await localDown({ dir });
    for (const pid of Object.values(node?.pids ?? {})) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow();
    expect(existsSync(`/sys/class/net/${BRIDGE}`)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dir);
    expect(ourNetns()).toEqual([]);
    expect(existsSync(join("/sys/fs/cgroup/memory", CGROUP_ROOT))).toBe(false);
    const nat = await new Promise<string>((resolveList) => {
      const child = spawn("iptables", ["-t", "nat", "-S"]);
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.on("close", () => resolveList(out));
    });
    expect(nat).not.toContain(NAT_CHAIN);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});
