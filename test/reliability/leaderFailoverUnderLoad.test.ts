import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, k } from "../integration/cluster.ts";
import { connect, sleep, until } from "./support/api.ts";
import { Fleet, FLEET_TIERS, type Checker } from "./support/fleet.ts";
import { launchOperator, metricSum, type OperatorProcess } from "./support/operatorProcess.ts";
import { seededRandom } from "./support/random.ts";

/**
 * Issue #10, fault 3: operator replicas on the chart's Lease while tenants keep moving. The leader
 * is SIGKILLed (no release) and the standby must take over once the Lease has expired — not before,
 * which would let two replicas write at once, and not much after. Then a leader is frozen (SIGSTOP)
 * past its lease, as a stalled process or a long GC pause would be, and woken once another replica
 * leads: it must step down without writing anything.
 *
 * "Never two writers" is judged from two sides: each replica's own /metrics (a standby never
 * reconciles and never reports itself leader while the leader lives), and the API server's record
 * of writes that name their writer — the Events each replica creates on every move carry its
 * identity (reportingInstance).
 */
// client-go's proportions at two thirds of its defaults (15 s / 10 s / 2 s): short enough for a quick
// test, long enough that a 2-core machine shared with other work does not starve a healthy leader.
const LEASE = { durationMs: 10_000, renewDeadlineMs: 7_000, retryPeriodMs: 1_500 };
/** Process scheduling on a loaded 2-core machine, on top of the Lease arithmetic. */
const SLACK_MS = 3_000;

interface Sample {
  at: number;
  leader: Record<string, number>;
  reconciles: Record<string, number>;
}

interface EventJson {
  reportingInstance?: string;
  firstTimestamp?: string;
  involvedObject: { name: string };
}

describe("leader failover under load", () => {
  const api = connect(cluster().kubeconfig);
  const run = `l${Date.now().toString(36)}`;
  const fleet = new Fleet(api, run, 40);
  const random = seededRandom(7);
  const replicas = new Map<string, OperatorProcess>();
  const samples: Sample[] = [];
  let sampling = true;
  let sampler: Promise<void> | undefined;
  let checker: Checker | undefined;
  let moving = true;
  let mover: Promise<void> | undefined;
  let moves = 0;

  const start = async (name: string): Promise<OperatorProcess> => {
    const { dir, operator: identity } = cluster();
    const replica = await launchOperator({ kubeconfig: identity.kubeconfig, namespace: identity.namespace, logDir: dir }, [
      "--provisioner", "plan", "--leader-elect", "--identity", `${run}-${name}`,
      "--lease-duration", `${LEASE.durationMs}ms`, "--renew-deadline", `${LEASE.renewDeadlineMs}ms`, "--retry-period", `${LEASE.retryPeriodMs}ms`,
    ]);
    replicas.set(name, replica);
    await replica.waitReady();
    return replica;
  };
  const leaderNow = (): string | undefined => {
    const last = samples.at(-1);
    const leading = Object.entries(last?.leader ?? {}).filter(([, v]) => v === 1);
    return leading.length === 1 ? leading[0]?.[0] : undefined;
  };
  const eventsBy = async (name: string): Promise<number[]> =>
    ((await api.list("Event", { namespace: "default" })) as unknown as EventJson[])
      .filter((e) => e.involvedObject.name.startsWith(fleet.prefix) && e.reportingInstance === `${run}-${name}`)
      .map((e) => Date.parse(e.firstTimestamp ?? ""));
  /** Log lines the replica wrote at or after `since` (pino's time field) with one of these messages. */
  const loggedSince = (replica: OperatorProcess, since: number, messages: RegExp): string[] =>
    replica.logs().split("\n").filter((line) => messages.test(line) && Number(/"time":(\d+)/.exec(line)?.[1] ?? 0) >= since);

  beforeAll(async () => {
    await fleet.create((_, i) => FLEET_TIERS[i % FLEET_TIERS.length] as string);
    await start("a");
    await start("b");
    sampler = (async () => {
      while (sampling) {
        const live = [...replicas].filter(([, r]) => r.alive());
        const texts = await Promise.all(live.map(([, r]) => r.metrics()));
        const sample: Sample = { at: Date.now(), leader: {}, reconciles: {} };
        live.forEach(([name], i) => {
          sample.leader[name] = metricSum(texts[i], "landlord_leader");
          sample.reconciles[name] = metricSum(texts[i], "landlord_reconcile_total");
        });
        samples.push(sample);
        await sleep(100);
      }
    })();
    await until(async () => leaderNow(), { timeoutMs: 30_000, what: "exactly one leader" });
    expect((await fleet.waitConverged(120_000)).pending).toEqual([]);
    // Load: re-pin settled tenants continuously, before, during and after each failover.
    checker = fleet.startChecker();
    mover = (async () => {
      while (moving) {
        await sleep(300);
        const snapshot = checker?.latest();
        const candidates = snapshot ? fleet.settled(snapshot) : [];
        if (candidates.length === 0) continue;
        const tenant = random.pick(candidates);
        const others = FLEET_TIERS.filter((t) => t !== fleet.requested.get(tenant.metadata.name)?.at(-1));
        if (await fleet.repin(tenant.metadata.name, random.pick(others))) moves++;
        checker?.invalidate();
      }
    })();
  }, 240_000);

  afterAll(async () => {
    // How long the API server's fairness queues held requests back, per priority level: a leader
    // whose renewals wait behind its own reconcile traffic is the likeliest way to lose a Lease.
    const metrics = await k(["get", "--raw", "/metrics"]).catch(() => "");
    const waits = metrics.split("\n").filter((l) => /^apiserver_flowcontrol_request_wait_duration_seconds_(sum|count)\{/.test(l) && /execute="true"/.test(l));
    process.stderr.write(`API Priority and Fairness waits:\n${waits.join("\n")}\n`);
    moving = false;
    await mover;
    await checker?.stop();
    sampling = false;
    await sampler;
    await fleet.cleanup();
    for (const replica of replicas.values()) {
      if (replica.alive()) process.kill(replica.pid, "SIGCONT");
      await replica.stop();
    }
  });

  it("hands over to the standby within the lease duration after the leader is killed, and never has two writers", async () => {
    const leaderName = leaderNow() as string;
    const standbyName = leaderName === "a" ? "b" : "a";
    const leader = replicas.get(leaderName) as OperatorProcess;
    await sleep(5_000);
    const movesBeforeKill = moves;
    await leader.kill();
    const killedAt = Date.now();
    const takeoverAt = await until(async () => {
      const last = samples.at(-1);
      return last && last.at > killedAt && last.leader[standbyName] === 1 ? last.at : undefined;
    }, { timeoutMs: 30_000, what: "the standby to lead", everyMs: 20 });
    await sleep(4_000);

    // The standby waited out the Lease (last renewed at most one retry period before the kill), then
    // took over at its next retry: within the lease duration plus that retry.
    const takeoverMs = takeoverAt - killedAt;
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE.durationMs - LEASE.retryPeriodMs - 500);
    expect(takeoverMs).toBeLessThanOrEqual(LEASE.durationMs + LEASE.retryPeriodMs + SLACK_MS);

    // Its own view: while the leader lived the standby never led and never reconciled.
    const whileLeaderLived = samples.filter((s) => s.at < killedAt);
    expect(whileLeaderLived.length).toBeGreaterThan(20);
    expect(whileLeaderLived.every((s) => s.leader[standbyName] === 0 && s.reconciles[standbyName] === 0)).toBe(true);
    expect(samples.every((s) => Object.values(s.leader).filter((v) => v === 1).length <= 1)).toBe(true);
    expect(Math.max(...samples.map((s) => s.reconciles[standbyName] ?? 0))).toBeGreaterThan(0);
    expect(replicas.get(standbyName)?.alive()).toBe(true);

    // The API server's view: the old leader's last Event was written before it died, the new
    // leader's first after it took over (Event timestamps have seconds resolution).
    const byLeader = await eventsBy(leaderName);
    const byStandby = await eventsBy(standbyName);
    expect(byLeader.length).toBeGreaterThan(0);
    expect(byStandby.length).toBeGreaterThan(0);
    expect(Math.max(...byLeader)).toBeLessThanOrEqual(killedAt);
    expect(Math.min(...byStandby)).toBeGreaterThanOrEqual(Math.floor(takeoverAt / 1000) * 1000 - 1000);
    expect(Math.max(...byLeader)).toBeLessThan(Math.min(...byStandby));
    expect(movesBeforeKill).toBeGreaterThan(5);
    expect(moves).toBeGreaterThan(movesBeforeKill);
    expect(checker?.stats.violations).toEqual([]);
    process.stderr.write(`leader failover (SIGKILL): takeover after ${takeoverMs} ms (lease ${LEASE.durationMs} ms), ${moves} moves so far\n`);
  }, 120_000);

  it("makes a leader frozen past its lease step down without a single write once it wakes", async () => {
    const frozenName = await until(async () => leaderNow(), { timeoutMs: 10_000, what: "the current leader" });
    const frozen = replicas.get(frozenName) as OperatorProcess;
    await start("c");
    await sleep(1_000);
    expect(await until(async () => leaderNow(), { timeoutMs: 10_000, what: "the current leader" })).toBe(frozenName);
    // Frozen mid-work: reconciles are waiting on API answers, its deadline timer cannot fire.
    process.kill(frozen.pid, "SIGSTOP");
    const frozenAt = Date.now();
    const takeoverAt = await until(async () => {
      const last = samples.at(-1);
      return last && last.at > frozenAt && last.leader.c === 1 ? last.at : undefined;
    }, { timeoutMs: 30_000, what: "the third replica to lead", everyMs: 20 });
    // The new leader works for a while; then the old one wakes up, with its Lease long gone.
    await sleep(2_000);
    const resumedAt = Date.now();
    process.kill(frozen.pid, "SIGCONT");
    const exitCode = await Promise.race([frozen.exited, sleep(20_000).then(() => "still running")]);
    expect(exitCode).toBe(0);

    // Nothing it did after waking reached the API server: no Event with its name, no move, no stack.
    const events = await eventsBy(frozenName);
    expect(events.filter((t) => t >= Math.floor(resumedAt / 1000) * 1000)).toEqual([]);
    expect(loggedSince(frozen, resumedAt, /"msg":"(Moved tenant|Provisioned stack|Released stack|Released tenant|Started the migration job)"/)).toEqual([]);
    expect(loggedSince(frozen, resumedAt, /Lost the leader Lease/).length).toBe(1);
    expect(takeoverAt - frozenAt).toBeGreaterThanOrEqual(LEASE.durationMs - LEASE.retryPeriodMs - 500);

    moving = false;
    await mover;
    const outcome = await fleet.waitConverged(150_000);
    const stats = await (checker as Checker).stop();
    expect(outcome.pending).toEqual([]);
    expect(stats.violations).toEqual([]);
    const refused = loggedSince(frozen, resumedAt, /refused to/).length;
    process.stderr.write(`leader failover (SIGSTOP): takeover after ${takeoverAt - frozenAt} ms; ${refused} write(s) refused by the woken replica; ${moves} moves; ${stats.snapshots} snapshots\n`);
  }, 180_000);
});
