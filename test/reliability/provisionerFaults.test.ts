import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type OperatorConfig } from "../../operator/src/config.ts";
import { startOperator, type RunningOperator } from "../../operator/src/controller/manager.ts";
import { stackName, type StackBackend, type StackRequest } from "../../operator/src/provision/port.ts";
import { planBackend } from "../../operator/src/provision/plan.ts";
import { createPulumiBackend } from "../../operator/src/provision/pulumi.ts";
import { cluster } from "../integration/cluster.ts";
import { connect, sleep, takeSnapshot, until, type TenantJson } from "./support/api.ts";
import { fakePulumiCli, ScriptedBackend, throwFault, type Fault } from "./support/faultyBackend.ts";
import { Fleet, type Checker } from "./support/fleet.ts";
import { checkAlways } from "./support/invariants.ts";

/**
 * Issue #10, fault 6: the stack update of a promotion to the database tier fails, hangs past
 * --provision-timeout, or finds the stack locked by a concurrent update. Each time the tenant must
 * stay served where it was (pooled, its seat untouched), say why, and be retried with a backoff
 * that grows and survives an operator restart — never in a hot loop.
 *
 * The operator runs in this process (startOperator with a `backend`), so the faults can be scripted:
 * half of them thrown as the plan adapter would report them, half produced by the pulumi adapter
 * itself against a fake Pulumi CLI (a real LocalWorkspace; the CLI answers `up` with the engine's
 * lock message, a hang until SIGINT, or a failed diagnostic), so its classification is under test.
 * Retries after the 60 s ProgramError/Timeout backoff are reached by moving status.stacks[].retryAt
 * into the past and restarting the operator (what a restart after the wait would see), not by waiting.
 */
const TIMEOUT_MS = 3_000;
const VIA_CLI = new Set(["t3", "t4", "t5"]);

describe("provisioner faults", () => {
  const api = connect(cluster().kubeconfig);
  const run = `p${Date.now().toString(36)}`;
  const fleet = new Fleet(api, run, 7);
  const id = (short: string): string => `${run}-${short}`;
  const work = mkdtempSync(join(tmpdir(), "landlord-faults-"));
  const cli = fakePulumiCli(join(work, "cli"));
  const logLines: string[] = [];
  let backend: ScriptedBackend;
  let config: OperatorConfig;
  let operator: RunningOperator | undefined;
  let checker: Checker | undefined;

  const startInProcess = async (): Promise<RunningOperator> =>
    startOperator(config, pino({ level: "info" }, { write: (line: string) => void logLines.push(line) }), { backend });
  const tenant = async (short: string): Promise<TenantJson> => (await api.resources.get<TenantJson>("TenantPlacement", id(short))) as TenantJson;
  const stackOf = (t: TenantJson) => t.status?.stacks?.find((s) => s.kind === "database");
  const condition = (t: TenantJson, type: string) => t.status?.conditions?.find((c) => c.type === type);
  const failedAt = (short: string, failures: number): Promise<TenantJson> =>
    until(async () => {
      const t = await tenant(short);
      return stackOf(t)?.state === "Failed" && (stackOf(t)?.failures ?? 0) >= failures && t.status?.phase === "Failed" ? t : undefined;
    }, { timeoutMs: 60_000, what: `${short}: its database stack failed ${failures} time(s)` });
  const servedFromDatabase = (short: string): Promise<TenantJson> =>
    until(async () => {
      const t = await tenant(short);
      return t.status?.tier === "database" && t.status.phase === "Active" ? t : undefined;
    }, { timeoutMs: 60_000, what: `${short}: served from its database` });
  /** Time travel: the backoff has elapsed, as far as the next operator process can tell. */
  const backoffElapsed = async (shorts: string[]): Promise<void> => {
    for (const short of shorts) {
      const t = await tenant(short);
      const stacks = (t.status?.stacks ?? []).map((s) => (s.kind === "database" ? { ...s, retryAt: new Date(Date.now() - 1_000).toISOString() } : s));
      await api.client.request({
        method: "PATCH",
        path: `/apis/landlord.dev/v1alpha1/tenantplacements/${id(short)}/status`,
        query: { fieldManager: "reliability-time-travel" },
        body: { status: { stacks } },
        contentType: "application/merge-patch+json",
      });
    }
  };
  /** Stops the operator, lets the backoff of `shorts` elapse (time travel), starts a new one. */
  const restartAfterBackoff = async (shorts: string[]): Promise<void> => {
    // Stopped first: a running operator would write its own view of the stack back over the change.
    await operator?.stop();
    await backoffElapsed(shorts);
    operator = await startInProcess();
  };

  beforeAll(async () => {
    const { operator: identity } = cluster();
    const parsed = parseConfig(
      ["--kubeconfig", identity.kubeconfig, "--provisioner", "plan", "--provision-timeout", `${TIMEOUT_MS}ms`, "--metrics-port", "0", "--health-port", "0", "--bind-address", "127.0.0.1"],
      { POD_NAMESPACE: identity.namespace },
    );
    if (!parsed.ok) throw new Error(parsed.error);
    config = parsed.config;
    const pulumi: StackBackend = await createPulumiBackend({
      backendUrl: `file://${join(work, "state")}`,
      secretsProvider: "passphrase",
      workRoot: join(work, "stacks"),
      pulumi: { root: cli.root },
      env: { PULUMI_CONFIG_PASSPHRASE: "reliability", PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true" },
    });
    const faulty = async (fault: Fault, request: StackRequest, signal: AbortSignal) => {
      if (!VIA_CLI.has(request.tenantId.slice(run.length + 1))) return throwFault(fault, request, signal);
      cli.setFault(stackName(request.tenantId, request.kind), fault);
      return pulumi.up(request, signal);
    };
    backend = new ScriptedBackend(planBackend(), faulty);
    await fleet.create(() => "pooled");
    operator = await startInProcess();
    expect((await fleet.waitConverged(90_000)).pending).toEqual([]);
    checker = fleet.startChecker();
  }, 180_000);

  afterAll(async () => {
    await checker?.stop();
    await fleet.cleanup();
    await operator?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("leaves a tenant served where it was when its stack update fails, hangs or is locked, and says why", async () => {
    backend.script(id("t0"), ["fail", "fail"]);
    backend.script(id("t1"), ["hang"]);
    backend.script(id("t2"), ["lock"]);
    backend.script(id("t3"), ["lock"]);
    backend.script(id("t4"), ["hang"]);
    backend.script(id("t5"), ["fail"]);
    for (const short of ["t0", "t1", "t2", "t3", "t4", "t5"]) await fleet.repin(id(short), "database");
    // A tenant whose move needs no stack, to show the hanging updates block nothing else.
    await fleet.repin(id("t6"), "namespace");

    const expected: Record<string, { kind: RegExp; backoffMs: number; error: RegExp }> = {
      t0: { kind: /ProgramError/, backoffMs: 60_000, error: /InvalidParameterCombination/ },
      t1: { kind: /Timeout/, backoffMs: 60_000, error: /ran past 3s/ },
      t2: { kind: /ConcurrentUpdate/, backoffMs: 10_000, error: /lock/ },
      t3: { kind: /ConcurrentUpdate/, backoffMs: 10_000, error: /another update holds the stack's lock/ },
      t4: { kind: /Timeout/, backoffMs: 60_000, error: /ran past 3s/ },
      t5: { kind: /ProgramError/, backoffMs: 60_000, error: /creating RDS Instance: InvalidParameterCombination/ },
    };
    for (const [short, want] of Object.entries(expected)) {
      const t = await failedAt(short, 1);
      const stack = stackOf(t);
      const call = backend.callsOf(id(short))[0];
      expect(call?.outcome, short).toMatch(want.kind);
      expect(stack?.failures, short).toBe(1);
      expect(stack?.lastError, short).toMatch(want.error);
      // retryAt is the failure time plus the backoff of that kind of error.
      const delay = Date.parse(stack?.retryAt ?? "") - (call?.endedAt ?? 0);
      expect(Math.abs(delay - want.backoffMs), `${short} backoff ${delay} ms`).toBeLessThan(2_000);
      // Still served from the pool, and saying so.
      expect(t.status).toMatchObject({ tier: "pooled", targetTier: "database", phase: "Failed" });
      expect(condition(t, "Ready")).toMatchObject({ status: "True", reason: "ServedMoveFailed" });
      expect(condition(t, "Degraded")).toMatchObject({ status: "True", reason: "ProvisionFailed" });
      expect(condition(t, "Degraded")?.message, short).toContain("the tenant stays served from pooled");
    }
    // A hang ends by the runner's timeout (the signal aborted), not by itself.
    for (const short of ["t1", "t4"]) {
      const call = backend.callsOf(id(short))[0];
      expect(call?.aborted, short).toBe(true);
      expect((call?.endedAt ?? 0) - (call?.at ?? 0), short).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    }
    // The other tenant moved while the updates hung.
    const moved = await until(async () => {
      const t = await tenant("t6");
      return t.status?.tier === "namespace" && t.status.phase === "Active" ? t : undefined;
    }, { timeoutMs: 30_000, what: "t6 served from its namespace" });
    expect(moved.status?.tier).toBe("namespace");
    const sixth = (await takeSnapshot(api)).decisions.filter((d) => d.spec.tenant === id("t6")).at(-1);
    expect(Date.parse(sixth?.metadata.creationTimestamp ?? "")).toBeLessThan(backend.callsOf(id("t1"))[0]?.endedAt ?? 0);

    // Every placement invariant held throughout: the seats of the failing tenants were never lost.
    const snapshot = await takeSnapshot(api);
    expect(checkAlways(snapshot, fleet.scope).violations).toEqual([]);
  }, 120_000);

  it("retries with a backoff that grows with each failure, survives a restart, and never loops", async () => {
    // The lock clears within its 10 s backoff: retried by itself and moved.
    for (const short of ["t2", "t3"]) {
      const t = await servedFromDatabase(short);
      expect(backend.callsOf(id(short))).toHaveLength(2);
      expect(stackOf(t)).toMatchObject({ state: "Ready", planned: true });
      expect(stackOf(t)?.failures).toBeUndefined();
    }
    // The others wait out their minute: no call at all meanwhile.
    for (const short of ["t0", "t1", "t4", "t5"]) expect(backend.callsOf(id(short)), short).toHaveLength(1);

    // A minute later, as a restarted operator sees it: t0 fails again and waits twice as long.
    await restartAfterBackoff(["t0", "t1", "t4", "t5"]);
    const again = await failedAt("t0", 2);
    const call = backend.callsOf(id("t0"))[1];
    expect(call?.outcome).toBe("ProgramError");
    const delay = Date.parse(stackOf(again)?.retryAt ?? "") - (call?.endedAt ?? 0);
    expect(Math.abs(delay - 120_000)).toBeLessThan(2_000);
    expect(again.status?.tier).toBe("pooled");
    for (const short of ["t1", "t4", "t5"]) await servedFromDatabase(short);
    await sleep(3_000);
    expect(backend.callsOf(id("t0"))).toHaveLength(2);

    // Two minutes later (as far as the next process can tell) the cause is gone: it moves.
    await restartAfterBackoff(["t0"]);
    const done = await servedFromDatabase("t0");
    expect(stackOf(done)?.state).toBe("Ready");
    expect(backend.callsOf(id("t0"))).toHaveLength(3);

    // One decision per move, each Succeeded, nothing orphaned: the end state is exact.
    const outcome = await fleet.waitConverged(60_000);
    expect(outcome.pending).toEqual([]);
    const stats = await (checker as Checker).stop();
    expect(stats.snapshots).toBeGreaterThan(10);
    expect(stats.violations).toEqual([]);
    expect(logLines.join("")).toMatch(/"msg":"Provisioning operation failed"/);
  }, 150_000);
});
