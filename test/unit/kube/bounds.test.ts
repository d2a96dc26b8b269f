import { Agent } from "node:https";
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createKubeClient, readBody, type StreamingKubeClient } from "../../../operator/src/kube/client.ts";
import type { ClusterAccess, Credentials } from "../../../operator/src/kube/kubeconfig.ts";
import { MAX_WATCH_LINE_CHARS, watch } from "../../../operator/src/kube/watch.ts";

/** Issue 15, item 8: what a hostile or broken endpoint can make the client hold, and for how long. */

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("response bodies", () => {
  it("are refused past the bound instead of buffered without end", async () => {
    const body = new PassThrough();
    const read = readBody(body as unknown as IncomingMessage, 1024);
    body.write(Buffer.alloc(600));
    body.write(Buffer.alloc(600));
    await expect(read).rejects.toThrow(/larger than 1024 bytes; refused/);
  });

  it("within the bound are read whole", async () => {
    const body = new PassThrough();
    const read = readBody(body as unknown as IncomingMessage, 1024);
    body.end("{\"ok\":true}");
    await expect(read).resolves.toBe("{\"ok\":true}");
  });
});

describe("watch lines", () => {
  it("end the watch when one line grows past the bound", async () => {
    const response = new PassThrough();
    const client = { stream: async () => response as unknown as IncomingMessage } as unknown as StreamingKubeClient;
    const events: string[] = [];
    const done = watch(client, { path: "/api/v1/configmaps", resourceVersion: "1", timeoutSeconds: 60, onEvent: (type) => events.push(type) });
    await new Promise((r) => setImmediate(r));
    response.write(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "2" } } })}\n`);
    const chunk = "x".repeat(1024 * 1024);
    for (let sent = 0; sent <= MAX_WATCH_LINE_CHARS; sent += chunk.length) response.write(chunk);
    await expect(done).rejects.toThrow(/an event line is longer than 16777216 characters/);
    expect(events).toEqual(["ADDED"]);
  });
});

describe("connection pools", () => {
  it("close a pool superseded by a new client certificate once its requests had time to finish", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const destroyed = vi.spyOn(Agent.prototype, "destroy");
    let generation = 0;
    const access: ClusterAccess = {
      server: "https://127.0.0.1:1",
      insecureSkipTlsVerify: false,
      headers: {},
      source: "test",
      warnings: [],
      credentials: async (): Promise<Credentials> => ({ cert: Buffer.from(`cert-${++generation}`), key: Buffer.from("key") }),
      invalidate: () => undefined,
    };
    const client = createKubeClient(access);
    const attempt = () => client.request({ method: "GET", path: "/version" }).catch(() => undefined);
    await attempt();
    vi.setSystemTime(Date.now() + 2_000);
    await attempt();
    expect(generation).toBe(2);
    expect(destroyed).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2 * 60_000 + 1);
    expect(destroyed).toHaveBeenCalledTimes(1);
  });
});
