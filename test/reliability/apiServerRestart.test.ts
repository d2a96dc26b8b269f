import { afterAll, describe, expect, it } from "vitest";
import { readState, restartApiserver } from "../../operator/src/local/controlPlane.ts";
import { cluster, k } from "../integration/cluster.ts";
import { connect } from "./support/api.ts";
import { bumpRevision, compact, currentRevision } from "./support/etcd.ts";
import { Fleet, FLEET_TIERS } from "./support/fleet.ts";
import { launchOperator, type OperatorProcess } from "./support/operatorProcess.ts";

/**
 * Issue #10, fault 2: kube-apiserver is stopped and started again under a running operator, and
 * while it is down etcd's history is compacted past everything the operator has seen. Every watch
 * the operator resumes is then answered 410 Gone and must be rebuilt from a fresh list. The operator
 * runs without leader election here: with it, an outage longer than --renew-deadline rightly makes
 * the process give up the lease and exit, which is fault 3's subject, not this one's.
 */
describe("the API server restarted and etcd compacted under a running operator", () => {
  const api = connect(cluster().kubeconfig);
  const fleet = new Fleet(api, `a${Date.now().toString(36)}`, 45);
  let operator: OperatorProcess | undefined;

  afterAll(async () => {
    await fleet.cleanup();
    await operator?.stop();
  });

  it("resumes after 410 Gone without restarting itself, sees changes made after the restart and converges", async () => {
    const { dir, operator: identity } = cluster();
    await fleet.create((_, i) => FLEET_TIERS[i % FLEET_TIERS.length] as string);
    operator = await launchOperator({ kubeconfig: identity.kubeconfig, namespace: identity.namespace, logDir: dir }, ["--provisioner", "plan"]);
    await operator.waitReady();
    expect((await fleet.waitConverged(120_000)).pending).toEqual([]);
    const pid = operator.pid;
    const checker = fleet.startChecker();

    // Moves in flight when the API server goes away.
    const before = fleet.names.slice(0, 15);
    for (const [i, name] of before.entries()) await fleet.repin(name, FLEET_TIERS[(i + 1) % FLEET_TIERS.length] as string);
    const seen = JSON.parse(await k(["get", "--raw", "/apis/landlord.dev/v1alpha1/tenantplacements?limit=1"])) as { metadata: { resourceVersion: string } };

    let compactedTo = 0;
    const downAt = Date.now();
    await restartApiserver({
      dir,
      whileDown: async (state) => {
        // A revision no watcher has seen, then compaction up to it: whatever the operator resumes from is gone.
        compactedTo = await bumpRevision(state.ports.etcdClient);
        await compact(state.ports.etcdClient, compactedTo);
      },
    });
    const downForMs = Date.now() - downAt;
    expect(compactedTo).toBeGreaterThan(Number(seen.metadata.resourceVersion));
    expect(await currentRevision(readState(dir)?.ports.etcdClient ?? 0)).toBeGreaterThanOrEqual(compactedTo);

    // What the operator's informers met: a watch from a revision before the restart is 410 Gone.
    const probe = await k(["get", "--raw", `/apis/landlord.dev/v1alpha1/tenantplacements?watch=true&resourceVersion=${seen.metadata.resourceVersion}&timeoutSeconds=2`]).catch((error: Error) => error.message);
    expect(probe).toMatch(/410|Expired|too old|Gone|compacted/i);

    // Changes only a rebuilt watch can see.
    const after = fleet.names.slice(15, 30);
    for (const [i, name] of after.entries()) await fleet.repin(name, FLEET_TIERS[(i + 2) % FLEET_TIERS.length] as string);

    const outcome = await fleet.waitConverged(150_000, () => {
      if (!operator?.alive()) throw new Error(`the operator exited:\n${operator?.logs().slice(-4000)}`);
    });
    // A quick convergence leaves few snapshots: the invariants are judged a few more times at rest.
    for (const until = Date.now() + 30_000; checker.stats.snapshots <= 5 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
    const stats = await checker.stop();
    expect(outcome.pending).toEqual([]);
    // The same process all along, healthy, and it noticed the outage (its informers restarted).
    expect(operator.pid).toBe(pid);
    expect(operator.alive()).toBe(true);
    expect(await operator.healthy()).toBe(true);
    expect(operator.logs()).toMatch(/Informer failed; restarting/);
    expect(operator.logs().match(/"msg":"Started reconciling"/g)).toHaveLength(1);
    expect(stats.snapshots).toBeGreaterThan(5);
    expect(stats.violations).toEqual([]);
    process.stderr.write(`api server restart: down ${downForMs} ms, compacted to revision ${compactedTo}, ${stats.snapshots} snapshots, ${stats.checks} checks\n`);
  }, 400_000);
});
