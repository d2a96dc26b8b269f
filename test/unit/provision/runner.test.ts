import { describe, expect, it } from "vitest";
import { ProvisionError, type StackBackend, type StackRequest, type StackResult } from "../../../operator/src/provision/port.ts";
import { createOperationRunner, requestHash, retryDelayMs, type OperationState } from "../../../operator/src/provision/runner.ts";

const request = (tenantId: string, tags: Record<string, string> = {}): StackRequest => ({
  tenantId,
  kind: "database",
  tags: { "landlord.dev/tenant": tenantId, ...tags },
  database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 },
  deletionPolicy: "Retain",
  aws: { region: "us-east-1" },
});

const result = (tenantId: string): StackResult => ({ outputs: { endpoint: `${tenantId}.db`, port: 5432, masterSecretArn: "arn:secret" }, resources: [], planned: true });

/** A backend whose operations finish only when the test says so. */
function controlledBackend() {
  const calls: Array<{ op: "up" | "destroy"; tenantId: string; signal: AbortSignal; finish: (error?: Error) => void }> = [];
  const backend: StackBackend = {
    kind: "plan",
    up: (req, signal) =>
      new Promise<StackResult>((resolveUp, rejectUp) => {
        const finish = (error?: Error): void => (error ? rejectUp(error) : resolveUp(result(req.tenantId)));
        signal.addEventListener("abort", () => rejectUp(signal.reason));
        calls.push({ op: "up", tenantId: req.tenantId, signal, finish });
      }),
    destroy: (req, signal) =>
      new Promise<void>((resolveDestroy, rejectDestroy) => {
        signal.addEventListener("abort", () => rejectDestroy(signal.reason));
        calls.push({ op: "destroy", tenantId: req.tenantId, signal, finish: (error) => (error ? rejectDestroy(error) : resolveDestroy()) });
      }),
  };
  return { backend, calls };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("OperationRunner", () => {
  it("answers at once, runs the operation in the background and wakes the tenant when it settles", async () => {
    const { backend, calls } = controlledBackend();
    const woken: string[] = [];
    const runner = createOperationRunner({ backend, concurrency: 2, timeoutMs: 60_000, onSettled: (t) => woken.push(t) });
    expect(runner.ensure("up", request("acme")).state).toBe("queued");
    await settle();
    expect(runner.ensure("up", request("acme")).state).toBe("running");
    expect(calls).toHaveLength(1);
    calls[0]?.finish();
    await settle();
    const done = runner.ensure("up", request("acme"));
    expect(done).toMatchObject({ state: "succeeded", operation: "up", result: { outputs: { endpoint: "acme.db" } } });
    expect(woken).toEqual(["acme"]);
    // Succeeded with the same request: nothing runs again.
    expect(calls).toHaveLength(1);
    // A changed request (a new tag) runs again.
    expect(runner.ensure("up", request("acme", { team: "growth" })).state).toBe("queued");
    await settle();
    expect(calls).toHaveLength(2);
  });

  it("never runs more than `concurrency` operations at once", async () => {
    const { backend, calls } = controlledBackend();
    const runner = createOperationRunner({ backend, concurrency: 2, timeoutMs: 60_000, onSettled: () => undefined });
    for (const t of ["a", "b", "c", "d"]) runner.ensure("up", request(t));
    await settle();
    expect(calls.map((c) => c.tenantId)).toEqual(["a", "b"]);
    expect(runner.ensure("up", request("c")).state).toBe("queued");
    calls[0]?.finish();
    await settle();
    await settle();
    expect(calls.map((c) => c.tenantId)).toEqual(["a", "b", "c"]);
    expect(runner.active()).toBe(3);
  });

  it("keeps one operation per stack: a destroy asked during an up waits for it", async () => {
    const { backend, calls } = controlledBackend();
    const runner = createOperationRunner({ backend, concurrency: 4, timeoutMs: 60_000, onSettled: () => undefined });
    runner.ensure("up", request("acme"));
    await settle();
    expect(runner.ensure("destroy", request("acme"))).toMatchObject({ state: "running", operation: "up" });
    expect(calls).toHaveLength(1);
    calls[0]?.finish();
    await settle();
    expect(runner.ensure("destroy", request("acme"))).toMatchObject({ state: "queued", operation: "destroy" });
  });

  it("backs off after a failure by its kind and retries only when the time has come", async () => {
    const { backend, calls } = controlledBackend();
    let clock = new Date("2026-01-01T00:00:00Z");
    const runner = createOperationRunner({ backend, concurrency: 1, timeoutMs: 60_000, onSettled: () => undefined, now: () => clock });
    runner.ensure("up", request("acme"), { failures: 2 });
    await settle();
    calls[0]?.finish(new ProvisionError("ProgramError", "InvalidParameterCombination: db.t4g.medium does not support postgres 9"));
    await settle();
    const failed = runner.ensure("up", request("acme")) as Extract<OperationState, { state: "failed" }>;
    expect(failed.state).toBe("failed");
    expect(failed.failures).toBe(3);
    expect(failed.error.kind).toBe("ProgramError");
    expect(failed.retryAt.getTime() - clock.getTime()).toBe(retryDelayMs("ProgramError", 3));
    clock = new Date(failed.retryAt.getTime() - 1);
    expect(runner.ensure("up", request("acme")).state).toBe("failed");
    clock = new Date(failed.retryAt.getTime());
    expect(runner.ensure("up", request("acme")).state).toBe("queued");
  });

  it("turns a hung operation into a Timeout and anything unclassified into a ProgramError", async () => {
    const { backend, calls } = controlledBackend();
    const runner = createOperationRunner({ backend, concurrency: 2, timeoutMs: 20, onSettled: () => undefined });
    runner.ensure("up", request("slow"));
    runner.ensure("up", request("odd"));
    await settle();
    calls[1]?.finish(new Error("boom"));
    await new Promise((r) => setTimeout(r, 60));
    expect(runner.ensure("up", request("slow"))).toMatchObject({ state: "failed", error: { kind: "Timeout" } });
    expect(runner.ensure("up", request("odd"))).toMatchObject({ state: "failed", error: { kind: "ProgramError", message: "boom" } });
    expect(calls[0]?.signal.aborted).toBe(true);
  });

  it("retries a concurrent update within seconds, a bad program within minutes", () => {
    expect(retryDelayMs("ConcurrentUpdate", 1)).toBe(10_000);
    expect(retryDelayMs("ConcurrentUpdate", 10)).toBe(120_000);
    expect(retryDelayMs("ProgramError", 1)).toBe(60_000);
    expect(retryDelayMs("ProgramError", 30)).toBe(3_600_000);
  });

  it("cancels everything on close and wakes no one afterwards", async () => {
    const { backend, calls } = controlledBackend();
    const woken: string[] = [];
    const runner = createOperationRunner({ backend, concurrency: 1, timeoutMs: 60_000, onSettled: (t) => woken.push(t) });
    runner.ensure("up", request("a"));
    runner.ensure("up", request("b"));
    await settle();
    await runner.close();
    expect(calls[0]?.signal.aborted).toBe(true);
    expect(runner.ensure("up", request("a"))).toMatchObject({ state: "failed", error: { kind: "Cancelled" } });
    expect(woken).toEqual([]);
  });

  it("hashes requests independently of key order", () => {
    const a = request("acme", { x: "1", y: "2" });
    const b = { ...a, tags: { y: "2", x: "1", "landlord.dev/tenant": "acme" } };
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash(a)).not.toBe(requestHash(request("acme", { x: "1" })));
  });
});
