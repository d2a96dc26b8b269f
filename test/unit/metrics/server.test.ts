import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createMetrics } from "../../../operator/src/metrics/metrics.ts";
import { startObservabilityServers, type ObservabilityServers } from "../../../operator/src/metrics/server.ts";

const started: ObservabilityServers[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((servers) => servers.close()));
});

async function start(ready: () => boolean | string = () => true) {
  const metrics = createMetrics({ defaultMetrics: false });
  const servers = await startObservabilityServers({ metricsPort: 0, healthPort: 0, host: "127.0.0.1", registry: metrics.registry, ready });
  started.push(servers);
  const get = async (port: number, path: string, method = "GET") => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
  };
  return { metrics, servers, get };
}

describe("observability servers", () => {
  it("serve Prometheus metrics on the metrics port, on a port chosen by the OS for 0", async () => {
    const { metrics, servers, get } = await start();
    expect(servers.metricsPort).toBeGreaterThan(0);
    expect(servers.healthPort).toBeGreaterThan(0);
    expect(servers.metricsPort).not.toBe(servers.healthPort);
    metrics.leader.set(1);
    const res = await get(servers.metricsPort, "/metrics");
    expect(res.status).toBe(200);
    expect(res.type).toContain("text/plain; version=0.0.4");
    expect(res.body).toMatch(/^landlord_leader 1$/m);
    // Probes live on their own port, metrics on theirs.
    expect((await get(servers.metricsPort, "/healthz")).status).toBe(404);
    expect((await get(servers.healthPort, "/metrics")).status).toBe(404);
  });

  it("answer /healthz always and /readyz according to ready(), with the reason", async () => {
    let state: boolean | string = false;
    const { servers, get } = await start(() => state);
    expect(await get(servers.healthPort, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
    expect(await get(servers.healthPort, "/readyz")).toMatchObject({ status: 503, body: "not ready\n" });
    state = "informers have not synced";
    expect(await get(servers.healthPort, "/readyz")).toMatchObject({ status: 503, body: "not ready: informers have not synced\n" });
    state = true;
    expect(await get(servers.healthPort, "/readyz?verbose")).toMatchObject({ status: 200, body: "ok\n" });
  });

  it("report a throwing readiness check as not ready", async () => {
    const { servers, get } = await start(() => {
      throw new Error("store missing");
    });
    expect(await get(servers.healthPort, "/readyz")).toMatchObject({ status: 503, body: "not ready: readiness check failed: store missing\n" });
  });

  it("accept HEAD, refuse other methods", async () => {
    const { servers, get } = await start();
    expect(await get(servers.healthPort, "/healthz", "HEAD")).toMatchObject({ status: 200, body: "" });
    expect((await get(servers.healthPort, "/healthz", "POST")).status).toBe(405);
  });

  it("fail with a message naming the port when it is taken, and release the other port", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const metrics = createMetrics({ defaultMetrics: false });
      await expect(startObservabilityServers({ metricsPort: 0, healthPort: taken, host: "127.0.0.1", registry: metrics.registry, ready: () => true })).rejects.toThrow(
        `the health server could not listen on 127.0.0.1:${taken}`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("close promptly even with keep-alive connections open", async () => {
    const { servers, get } = await start();
    await get(servers.metricsPort, "/metrics");
    const before = Date.now();
    await servers.close();
    started.length = 0;
    expect(Date.now() - before).toBeLessThan(1000);
    await expect(fetch(`http://127.0.0.1:${servers.healthPort}/healthz`)).rejects.toThrow();
  });
});
