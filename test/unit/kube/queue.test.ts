import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock, settle } from "../../../operator/src/kube/clock.ts";
import { createWorkQueue, type ReconcileResult, type WorkQueueOptions } from "../../../operator/src/kube/queue.ts";

interface Call {
  key: string;
  at: number;
  signal: AbortSignal;
  finish(result?: ReconcileResult): void;
}

/** A queue whose handler runs stay open until the test finishes them. */
function manualQueue(options: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const running: Call[] = [];
  let maxRunning = 0;
  let overlap = false;
  const queue = createWorkQueue({ concurrency: 1, clock, ...options });
  queue.run(
    (key, signal) =>
      new Promise<ReconcileResult>((resolve) => {
        if (running.some((call) => call.key === key)) overlap = true;
        const call: Call = {
          key,
          at: clock.now(),
          signal,
          finish: (result = { kind: "done" }) => {
            running.splice(running.indexOf(call), 1);
            resolve(result);
          },
        };
        calls.push(call);
        running.push(call);
        maxRunning = Math.max(maxRunning, running.length);
      }),
  );
  return { clock, calls, queue, open: () => [...running], stats: () => ({ maxRunning, overlap }) };
}

/** A queue whose handler answers at once with the next scripted result per key. */
function scriptedQueue(script: (key: string, attempt: number) => ReconcileResult | Promise<ReconcileResult>, options: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock();
  const calls: { key: string; at: number }[] = [];
  const results: { key: string; result: ReconcileResult; durationMs: number }[] = [];
  const queue = createWorkQueue({
    concurrency: 4,
    clock,
    onResult: (key, result, durationMs) => results.push({ key, result, durationMs }),
    ...options,
  });
  queue.run(async (key) => {
    const attempt = calls.filter((call) => call.key === key).length;
    calls.push({ key, at: clock.now() });
    return script(key, attempt);
  });
  return { clock, calls, results, queue, times: (key: string) => calls.filter((c) => c.key === key).map((c) => c.at) };
}

const failure = (message = "boom"): ReconcileResult => ({ kind: "error", error: new Error(message) });

describe("work queue", () => {
  it("processes a key added many times before a worker is free only once", async () => {
    const { queue, calls, open } = manualQueue();
    queue.add("busy");
    queue.add("a");
    queue.add("b");
    queue.add("a");
    queue.add("a");
    expect(queue.depth()).toBe(2);
    for (let i = 0; i < 3; i++) {
      open()[0]?.finish();
      await settle();
    }
    expect(calls.map((c) => c.key)).toEqual(["busy", "a", "b"]);
    expect(queue.depth()).toBe(0);
  });

  it("never runs the same key twice at once, and runs it again after an add while it ran", async () => {
    const { queue, calls, open, stats } = manualQueue({ concurrency: 4 });
    queue.add("a");
    queue.add("a");
    queue.add("a");
    expect(queue.inFlight()).toBe(1);
    expect(queue.depth()).toBe(0);
    open()[0]?.finish();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(["a", "a"]);
    open()[0]?.finish();
    await settle();
    expect(calls).toHaveLength(2);
    expect(stats().overlap).toBe(false);
  });

  it("runs at most `concurrency` handlers and starts the next key when one finishes", async () => {
    const { queue, calls, open, stats } = manualQueue({ concurrency: 2 });
    for (const key of ["a", "b", "c", "d"]) queue.add(key);
    expect(queue.inFlight()).toBe(2);
    expect(queue.depth()).toBe(2);
    open().find((c) => c.key === "b")?.finish();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(["a", "b", "c"]);
    for (const call of open()) call.finish();
    await settle();
    for (const call of open()) call.finish();
    await settle();
    expect(calls.map((c) => c.key)).toEqual(["a", "b", "c", "d"]);
    expect(stats().maxRunning).toBe(2);
  });

  it("keeps its invariants under any interleaving of adds and completions", async () => {
    const op = fc.oneof(
      fc.record({ add: fc.constantFrom("a", "b", "c", "d", "e") }),
      fc.record({ finish: fc.nat(), terminalError: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 40 }), async (concurrency, ops) => {
        const { queue, calls, open, stats } = manualQueue({ concurrency });
        const lastAdd = new Map<string, number>();
        for (const step of ops) {
          if ("add" in step) {
            lastAdd.set(step.add, calls.length);
            queue.add(step.add);
          } else {
            const running = open();
            running[step.finish % Math.max(running.length, 1)]?.finish(step.terminalError ? { kind: "error", error: new Error("x"), terminal: true } : undefined);
            await settle();
          }
          expect(queue.inFlight()).toBeLessThanOrEqual(concurrency);
        }
        // Drain: everything added must have been handled at least once after its last add.
        for (let guard = 0; open().length > 0 && guard < 100; guard++) {
          for (const call of open()) call.finish();
          await settle();
        }
        expect(stats().overlap).toBe(false);
        expect(stats().maxRunning).toBeLessThanOrEqual(concurrency);
        for (const [key, callsBefore] of lastAdd) {
          expect(calls.some((call, index) => index >= callsBefore && call.key === key)).toBe(true);
        }
        expect(queue.depth()).toBe(0);
        await queue.shutdown();
      }),
      { numRuns: 200 },
    );
  });

  it("backs a failing key off exponentially from baseMs, capped at maxMs", async () => {
    const { queue, clock, times } = scriptedQueue(() => failure(), { backoff: { baseMs: 100, maxMs: 1000 } });
    queue.add("a");
    await clock.advanceAsync(6000);
    // Delays: 100, 200, 400, 800, then capped at 1000.
    expect(times("a")).toEqual([0, 100, 300, 700, 1500, 2500, 3500, 4500, 5500]);
    expect(queue.failures("a")).toBe(9);
  });

  it("uses 500 ms and 5 minutes as the default backoff", async () => {
    const { queue, clock, times } = scriptedQueue(() => failure());
    queue.add("a");
    await clock.advanceAsync(499);
    expect(times("a")).toEqual([0]);
    await clock.advanceAsync(1);
    expect(times("a")).toEqual([0, 500]);
    // Let it fail until the cap: 500·2^n reaches 300 s after 10 doublings.
    await clock.advanceAsync(2_000_000);
    const gaps = times("a").slice(1).map((at, i) => at - (times("a")[i] as number));
    expect(Math.max(...gaps)).toBe(300_000);
  });

  it("backs off per key: one key's failures do not slow another", async () => {
    const { queue, clock, times } = scriptedQueue((key) => (key === "bad" ? failure() : { kind: "done" }), { backoff: { baseMs: 100, maxMs: 1000 } });
    queue.add("bad");
    await clock.advanceAsync(750);
    queue.add("good");
    await clock.advanceAsync(0);
    expect(times("good")).toEqual([750]);
    expect(queue.failures("good")).toBe(0);
  });

  it("resets a key's backoff after it succeeds", async () => {
    // fail, fail, done, fail: the last failure backs off from baseMs again.
    const { queue, clock, times } = scriptedQueue((_key, attempt) => (attempt === 2 ? { kind: "done" } : failure()), { backoff: { baseMs: 100, maxMs: 1000 } });
    queue.add("a");
    await clock.advanceAsync(300);
    expect(times("a")).toEqual([0, 100, 300]);
    expect(queue.failures("a")).toBe(0);
    queue.add("a");
    await clock.advanceAsync(100);
    expect(times("a")).toEqual([0, 100, 300, 300, 400]);
  });

  it("does not retry a terminal error", async () => {
    const { queue, clock, times, results } = scriptedQueue(() => ({ kind: "error", error: new Error("bad spec"), terminal: true }));
    queue.add("a");
    await clock.advanceAsync(1_000_000);
    expect(times("a")).toEqual([0]);
    expect(results[0]?.result).toMatchObject({ kind: "error", terminal: true });
    expect(queue.failures("a")).toBe(0);
  });

  it("treats a handler that throws as a non-terminal error", async () => {
    const { queue, clock, times, results } = scriptedQueue((_key, attempt) => {
      if (attempt === 0) throw new Error("kaput");
      if (attempt === 1) return Promise.reject("a string, not an Error");
      return { kind: "done" };
    }, { backoff: { baseMs: 100, maxMs: 1000 } });
    queue.add("a");
    await clock.advanceAsync(1000);
    expect(times("a")).toEqual([0, 100, 300]);
    expect(results.map((r) => r.result.kind)).toEqual(["error", "error", "done"]);
    const second = results[1]?.result;
    expect(second?.kind === "error" && second.error).toBeInstanceOf(Error);
  });

  it("revisits a key after requeueAfter, and a sooner delayed add replaces a later one", async () => {
    const { queue, clock, times } = scriptedQueue((_key, attempt) => (attempt === 0 ? { kind: "requeueAfter", ms: 1000 } : { kind: "done" }));
    queue.add("a");
    await clock.advanceAsync(0);
    queue.addAfter("a", 200);
    await clock.advanceAsync(5000);
    expect(times("a")).toEqual([0, 200]);
  });

  it("keeps a pending delayed add when a later one is asked for", async () => {
    const { queue, clock, times } = scriptedQueue(() => ({ kind: "done" }));
    queue.addAfter("a", 200);
    queue.addAfter("a", 1000);
    await clock.advanceAsync(5000);
    expect(times("a")).toEqual([200]);
  });

  it("runs keys added now before delayed keys that came due, and moves a delayed key added now to the front", async () => {
    const { queue, clock, calls, open } = manualQueue();
    queue.add("busy");
    queue.addAfter("poll-1", 100);
    queue.addAfter("poll-2", 100);
    queue.addAfter("poll-3", 100);
    await clock.advanceAsync(100);
    queue.add("change");
    queue.add("poll-3");
    expect(queue.depth()).toBe(4);
    for (let i = 0; i < 5; i++) {
      open()[0]?.finish();
      await settle();
    }
    expect(calls.map((c) => c.key)).toEqual(["busy", "change", "poll-3", "poll-1", "poll-2"]);
    expect(queue.depth()).toBe(0);
  });

  it("brings a key that was added now while it ran back in the front lane", async () => {
    const { queue, clock, calls, open } = manualQueue();
    queue.add("a");
    queue.addAfter("poll", 50);
    await clock.advanceAsync(50);
    queue.addAfter("a", 10);
    await clock.advanceAsync(10);
    queue.add("a");
    for (let i = 0; i < 3; i++) {
      open()[0]?.finish();
      await settle();
    }
    expect(calls.map((c) => c.key)).toEqual(["a", "a", "poll"]);
  });

  it("runs a requeued key again at once, but behind every key already queued and any added meanwhile", async () => {
    const { queue, calls, open } = manualQueue();
    queue.add("decide-a");
    queue.add("decide-b");
    open()[0]?.finish({ kind: "requeue" });
    await settle();
    // A key woken while decide-b runs still goes before decide-a's second pass.
    queue.add("decide-c");
    for (let i = 0; i < 4; i++) {
      open()[0]?.finish();
      await settle();
    }
    expect(calls.map((c) => c.key)).toEqual(["decide-a", "decide-b", "decide-c", "decide-a"]);
    expect(queue.depth()).toBe(0);
  });

  it("puts a requeued key behind polls already due in the back lane, and in front again when it is woken now", async () => {
    const { queue, clock, calls, open } = manualQueue();
    queue.add("busy");
    queue.addAfter("poll", 10);
    await clock.advanceAsync(10);
    queue.add("decide-a");
    open()[0]?.finish();
    await settle();
    open()[0]?.finish({ kind: "requeue" });
    await settle();
    expect(calls.map((c) => c.key)).toEqual(["busy", "decide-a", "poll"]);
    // Woken by a change while it waits in the back lane: it moves to the front, once.
    queue.addAfter("poll-2", 5);
    await clock.advanceAsync(5);
    queue.add("decide-a");
    for (let i = 0; i < 3; i++) {
      open()[0]?.finish();
      await settle();
    }
    expect(calls.map((c) => c.key)).toEqual(["busy", "decide-a", "poll", "decide-a", "poll-2"]);
    expect(queue.depth()).toBe(0);
  });

  it("adds at once for a zero or negative delay", async () => {
    const { queue, clock, times } = scriptedQueue(() => ({ kind: "done" }));
    queue.addAfter("a", 0);
    queue.addAfter("b", -5);
    await clock.advanceAsync(0);
    expect(times("a")).toEqual([0]);
    expect(times("b")).toEqual([0]);
  });

  it("reports each run's result and duration to onResult", async () => {
    const clock = new FakeClock();
    const seen: [string, string, number][] = [];
    const queue = createWorkQueue({ concurrency: 1, clock, onResult: (key, result, ms) => seen.push([key, result.kind, ms]) });
    queue.run(
      (key) =>
        new Promise((resolve) => {
          clock.setTimeout(() => resolve({ kind: "done" }), key === "slow" ? 250 : 10);
        }),
    );
    queue.add("slow");
    queue.add("fast");
    await clock.advanceAsync(1000);
    expect(seen).toEqual([
      ["slow", "done", 250],
      ["fast", "done", 10],
    ]);
  });

  it("keeps working when onResult throws", async () => {
    const { queue, clock, times } = scriptedQueue(() => ({ kind: "done" }), {
      onResult: () => {
        throw new Error("metrics broke");
      },
    });
    queue.add("a");
    queue.add("b");
    await clock.advanceAsync(0);
    expect(times("a")).toEqual([0]);
    expect(times("b")).toEqual([0]);
  });

  it("on shutdown aborts running handlers, waits for them, and takes no more keys", async () => {
    const { queue, calls, open, clock } = manualQueue({ concurrency: 1 });
    queue.add("a");
    queue.add("b");
    queue.addAfter("c", 100);
    const running = open()[0] as Call;
    expect(running.signal.aborted).toBe(false);
    let done = false;
    const stopped = queue.shutdown().then(() => (done = true));
    expect(running.signal.aborted).toBe(true);
    await settle();
    expect(done).toBe(false);
    running.finish({ kind: "error", error: new Error("aborted") });
    await stopped;
    queue.add("d");
    await clock.advanceAsync(10_000);
    expect(calls.map((c) => c.key)).toEqual(["a"]);
    expect(queue.depth()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it("resolves shutdown at once when nothing runs", async () => {
    const queue = createWorkQueue({ concurrency: 1, clock: new FakeClock() });
    await queue.shutdown();
    expect(queue.inFlight()).toBe(0);
  });

  it("refuses a concurrency below one and a second run()", () => {
    expect(() => createWorkQueue({ concurrency: 0 })).toThrow(/concurrency/);
    const queue = createWorkQueue({ concurrency: 1 });
    queue.run(async () => ({ kind: "done" }));
    expect(() => queue.run(async () => ({ kind: "done" }))).toThrow(/already running/);
  });

  it("idle() waits for queued and running work and for delayed adds due soon", async () => {
    const { queue, open, clock } = manualQueue({ concurrency: 1 });
    let idle = false;
    queue.add("a");
    const waiting = queue.idle().then(() => (idle = true));
    open()[0]?.finish({ kind: "requeueAfter", ms: 500 });
    await settle();
    expect(idle).toBe(false);
    await clock.advanceAsync(500);
    expect(idle).toBe(false);
    open()[0]?.finish({ kind: "requeueAfter", ms: 60_000 });
    await waiting;
    expect(idle).toBe(true);
    // A delayed add further away than soonMs does not count as work.
    await expect(queue.idle({ soonMs: 0 })).resolves.toBeUndefined();
  });
});
