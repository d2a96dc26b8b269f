import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKubeClient, type KubeClient } from "../../operator/src/kube/client.ts";
import { loadClusterAccess } from "../../operator/src/kube/kubeconfig.ts";
import { runLeaderElection, type LeaderElector } from "../../operator/src/kube/leaderElection.ts";
import { cluster, eventually, k, kJson } from "./cluster.ts";

interface LeaseJson {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

const ns = `le-${Date.now().toString(36)}`;
const timings = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 250 };
const running: LeaderElector[] = [];
let client: KubeClient;

beforeAll(async () => {
  client = createKubeClient(loadClusterAccess(cluster().kubeconfig));
  await k(["create", "namespace", ns]);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((le) => le.stop()));
});

afterAll(async () => {
  await k(["delete", "namespace", ns, "--wait=false"]);
});

/** Two replicas on one Lease, and a sampler that records any moment both believe they lead. */
function pair(lease: string) {
  const lost: string[] = [];
  const start = (identity: string): LeaderElector => {
    const le = runLeaderElection({ client, namespace: ns, name: lease, identity, ...timings }, { onStartedLeading: () => undefined, onStoppedLeading: () => lost.push(identity) });
    running.push(le);
    return le;
  };
  const a = start(`${lease}-a`);
  const b = start(`${lease}-b`);
  const replicas = { [`${lease}-a`]: a, [`${lease}-b`]: b };
  let bothLed = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    samples++;
    if (a.isLeader() && b.isLeader()) bothLed++;
  }, 10);
  const leader = (): Promise<[string, LeaderElector]> =>
    eventually(async () => Object.entries(replicas).find(([, le]) => le.isLeader()), { what: "a leader", timeoutMs: 10_000 });
  const other = (id: string): [string, LeaderElector] => Object.entries(replicas).find(([name]) => name !== id) as [string, LeaderElector];
  return { leader, other, lost, stopSampling: () => clearInterval(sampler), sampled: () => ({ bothLed, samples }) };
}

const readLease = (name: string): Promise<LeaseJson> => kJson<LeaseJson>(["get", "lease", name, "-n", ns]);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("leader election on a real API server", () => {
  it("lets exactly one of two replicas lead, and hands over at once when the leader stops", async () => {
    const replicas = pair("handover");
    const [leaderId, leader] = await replicas.leader();
    const [otherId, other] = replicas.other(leaderId);
    // Many renewals later it is still the same single leader.
    await sleep(2000);
    expect(leader.isLeader()).toBe(true);
    expect(other.isLeader()).toBe(false);

    const held = await readLease("handover");
    expect(held.spec).toMatchObject({ holderIdentity: leaderId, leaseDurationSeconds: 2, leaseTransitions: 0 });
    // MicroTime as the API server stores it: RFC 3339 with exactly six fractional digits.
    expect(held.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Date.parse(held.spec.renewTime ?? "")).toBeGreaterThan(Date.parse(held.spec.acquireTime ?? ""));
    expect(Date.now() - Date.parse(held.spec.renewTime ?? "")).toBeLessThan(1000);

    const stoppedAt = Date.now();
    await leader.stop();
    const released = await readLease("handover");
    // Unless the other replica was quicker than kubectl, the Lease reads as released.
    if (released.spec.holderIdentity !== otherId) expect(released.spec).toMatchObject({ leaseDurationSeconds: 1 });
    await eventually(async () => other.isLeader() || undefined, { what: `${otherId} to take over`, timeoutMs: 5000 });
    expect(Date.now() - stoppedAt).toBeLessThan(1000);

    const taken = await readLease("handover");
    expect(taken.spec).toMatchObject({ holderIdentity: otherId, leaseDurationSeconds: 2, leaseTransitions: 1 });
    expect(Date.parse(taken.spec.acquireTime ?? "")).toBeGreaterThanOrEqual(stoppedAt - 5);
    replicas.stopSampling();
    expect(replicas.sampled().bothLed).toBe(0);
    expect(replicas.sampled().samples).toBeGreaterThan(100);
    expect(replicas.lost).toEqual([]);
  });

  it("takes over from a leader that died without releasing once its Lease expired", async () => {
    const replicas = pair("crash");
    const [leaderId, leader] = await replicas.leader();
    const [otherId, other] = replicas.other(leaderId);
    await sleep(1000);
    const diedAt = Date.now();
    leader.abandon();
    const held = await readLease("crash");
    expect(held.spec.holderIdentity).toBe(leaderId);
    await eventually(async () => other.isLeader() || undefined, { what: `${otherId} to take over`, timeoutMs: 10_000 });
    const waited = Date.now() - diedAt;
    // The dead leader renewed at most one retry period (250 ms) before dying; its 2 s Lease had to run out.
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waited).toBeLessThan(4000);
    const taken = await readLease("crash");
    expect(taken.spec).toMatchObject({ holderIdentity: otherId, leaseTransitions: 1 });
    replicas.stopSampling();
    expect(replicas.sampled().bothLed).toBe(0);
  });

  it("keeps one leader through a burst of replicas racing for a fresh Lease", async () => {
    const electors = Array.from({ length: 5 }, (_, i) =>
      runLeaderElection({ client, namespace: ns, name: "race", identity: `race-${i}`, ...timings }, { onStartedLeading: () => undefined, onStoppedLeading: () => undefined }),
    );
    running.push(...electors);
    let maxLeaders = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      maxLeaders = Math.max(maxLeaders, electors.filter((le) => le.isLeader()).length);
      await sleep(10);
    }
    expect(maxLeaders).toBe(1);
    expect(electors.filter((le) => le.isLeader())).toHaveLength(1);
  });
});
