import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, settle } from "../../../operator/src/kube/clock.ts";
import { ApiError, createKubeClient } from "../../../operator/src/kube/client.ts";
import type { ClusterAccess } from "../../../operator/src/kube/kubeconfig.ts";
import { createTokenBucket, MAX_RETRIES, retryDelayMs } from "../../../operator/src/kube/rateLimit.ts";
import { ensurePki, type Pki } from "../../../operator/src/local/pki.ts";
import { hasOpenssl } from "./openssl.ts";

/** Takes `n` tokens at once; returns the fake time at which each take resolved. */
async function takeTimes(clock: FakeClock, take: () => Promise<void>, n: number, untilMs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) void take().then(() => times.push(clock.now()));
  await clock.advanceAsync(untilMs);
  return times;
}

describe("the token bucket", () => {
  it("lets a burst through at once, then one request per 1/qps, in order", async () => {
    const clock = new FakeClock(1_000);
    const bucket = createTokenBucket({ qps: 5, burst: 3 }, clock);
    const times = await takeTimes(clock, () => bucket.take(), 7, 2_000);
    expect(times).toEqual([1_000, 1_000, 1_000, 1_200, 1_400, 1_600, 1_800]);
  });

  it("refills while idle up to the burst, never beyond", async () => {
    const clock = new FakeClock();
    const bucket = createTokenBucket({ qps: 2, burst: 2 }, clock);
    await takeTimes(clock, () => bucket.take(), 2, 0);
    // An hour idle refills 2 tokens, not 7,200.
    clock.advance(3_600_000);
    const times = await takeTimes(clock, () => bucket.take(), 4, 1_000);
    expect(times.map((t) => t - 3_600_000)).toEqual([0, 0, 500, 1_000]);
  });

  it("hands a waiting reservation back when its signal aborts", async () => {
    const clock = new FakeClock();
    const bucket = createTokenBucket({ qps: 1, burst: 1 }, clock);
    await bucket.take();
    const controller = new AbortController();
    const aborted = bucket.take(controller.signal).catch((e: unknown) => e);
    controller.abort(new Error("stopped"));
    expect(await aborted).toMatchObject({ message: "stopped" });
    // The next caller waits one interval, not two.
    const times = await takeTimes(clock, () => bucket.take(), 1, 2_000);
    expect(times).toEqual([1_000]);
  });

  it("refuses a bucket that could never give a token", () => {
    expect(() => createTokenBucket({ qps: 0, burst: 1 })).toThrow(/qps > 0 and burst ≥ 1/);
    expect(() => createTokenBucket({ qps: 1, burst: 0 })).toThrow(/qps > 0 and burst ≥ 1/);
  });
});

describe("retryDelayMs", () => {
  it.each([
    [429, "3", 3_000],
    [429, undefined, 1_000],
    [429, "Wed, 21 Oct 2026 07:28:00 GMT", 1_000],
    [429, "3600", 10_000],
    [503, "2", 2_000],
    [500, "0", 0],
    [503, undefined, undefined],
    [409, "1", undefined],
    [200, "1", undefined],
  ])("status %d, Retry-After %j → %j ms", (status, header, expected) => {
    expect(retryDelayMs(status, header)).toBe(expected);
  });
});

describe.skipIf(!hasOpenssl)("the client against a local HTTPS server", () => {
  const dir = mkdtempSync(join(tmpdir(), "landlord-ratelimit-"));
  let pki: Pki;
  let server: Server;
  let port = 0;
  /** What to answer next: a status and a Retry-After header; when empty, 200. */
  let answers: Array<{ status: number; retryAfter?: string }> = [];
  let arrivals: number[] = [];
  let clock: FakeClock;

  beforeAll(async () => {
    pki = ensurePki(dir);
    server = createServer({ key: readFileSync(pki.servingKey), cert: readFileSync(pki.servingCert) }, (req, res: ServerResponse) => {
      arrivals.push(clock.now());
      req.resume();
      const answer = answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, { "Content-Type": "application/json", ...(answer.retryAfter !== undefined ? { "Retry-After": answer.retryAfter } : {}) });
      res.end(answer.status === 200 ? JSON.stringify({ ok: true }) : JSON.stringify({ kind: "Status", code: answer.status, reason: "TooManyRequests", message: "too many requests, please try again later" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    answers = [];
    arrivals = [];
  });

  const access = (overrides: Partial<ClusterAccess> = {}): ClusterAccess => ({
    server: `https://127.0.0.1:${port}`,
    ca: readFileSync(pki.caCert),
    insecureSkipTlsVerify: false,
    warnings: [],
    headers: {},
    source: "test",
    credentials: async () => ({}),
    invalidate: () => undefined,
    ...overrides,
  });

  /** Moves the fake clock in small steps, letting real I/O through, until `done` settles. */
  async function drive<T>(clockToMove: FakeClock, promise: Promise<T>, stepMs: number, maxSteps: number): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => (settled = true));
    for (let i = 0; i < maxSteps && !settled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await clockToMove.advanceAsync(stepMs);
    }
    await settle();
    return watched;
  }

  it("sleeps the Retry-After a 429 gives, then retries and succeeds", async () => {
    clock = new FakeClock(0);
    const client = createKubeClient(access(), { clock });
    answers = [{ status: 429, retryAfter: "3" }, { status: 429, retryAfter: "2" }];
    const result = await drive(clock, client.request<{ ok: boolean }>({ method: "POST", path: "/api/v1/namespaces", body: { a: 1 } }), 100, 200);
    expect(result).toEqual({ ok: true });
    expect(arrivals).toHaveLength(3);
    const [first = 0, second = 0, third = 0] = arrivals;
    // Each retry no sooner than asked, and not much later (the driver moves time 100 ms a step).
    expect(second - first).toBeGreaterThanOrEqual(3_000);
    expect(second - first).toBeLessThan(3_300);
    expect(third - second).toBeGreaterThanOrEqual(2_000);
    expect(third - second).toBeLessThan(2_300);
    expect(client.counts.POST).toBe(3);
  });

  it("bounds a long Retry-After to 10 s", async () => {
    clock = new FakeClock(0);
    const client = createKubeClient(access(), { clock });
    answers = [{ status: 429, retryAfter: "86400" }];
    await drive(clock, client.request({ method: "GET", path: "/api/v1/namespaces" }), 500, 100);
    const [first = 0, second = 0] = arrivals;
    expect(second - first).toBeGreaterThanOrEqual(10_000);
    expect(second - first).toBeLessThan(11_000);
  });

  it("gives up after MAX_RETRIES, rejecting with the 429", async () => {
    clock = new FakeClock(0);
    const client = createKubeClient(access(), { clock });
    answers = Array.from({ length: MAX_RETRIES + 1 }, () => ({ status: 429, retryAfter: "1" }));
    const error = await drive(clock, client.request({ method: "GET", path: "/api/v1/namespaces" }).catch((e: unknown) => e), 200, 400);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429 });
    expect(arrivals).toHaveLength(MAX_RETRIES + 1);
  });

  it("does not retry a 500 without Retry-After", async () => {
    clock = new FakeClock(0);
    const client = createKubeClient(access(), { clock });
    answers = [{ status: 500 }];
    const error = await client.request({ method: "GET", path: "/api/v1/namespaces" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500 });
    expect(arrivals).toHaveLength(1);
  });

  it("paces requests by the client's own token bucket (qps and burst from access.rateLimit)", async () => {
    clock = new FakeClock(0);
    const client = createKubeClient(access({ rateLimit: { qps: 2, burst: 2 } }), { clock });
    const all = Promise.all(Array.from({ length: 5 }, () => client.request({ method: "GET", path: "/api/v1/namespaces" })));
    await drive(clock, all, 50, 200);
    // Two at once, then one every 500 ms: each arrives no sooner than its token, and within the
    // driver's step or two after it.
    const released = [0, 0, 500, 1_000, 1_500];
    expect(arrivals).toHaveLength(5);
    arrivals.forEach((at, i) => {
      expect(at).toBeGreaterThanOrEqual(released[i] as number);
      expect(at).toBeLessThanOrEqual((released[i] as number) + 100);
    });
  });

  it("sends at once with qps 0 (no client-side limit)", async () => {
    clock = new FakeClock(0);
    const client = createKubeClient(access({ rateLimit: { qps: 0, burst: 1 } }), { clock });
    await Promise.all(Array.from({ length: 20 }, () => client.request({ method: "GET", path: "/api/v1/namespaces" })));
    expect(arrivals).toHaveLength(20);
    expect(new Set(arrivals)).toEqual(new Set([0]));
  });
});
