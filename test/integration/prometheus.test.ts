import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../operator/src/local/ports.ts";
import { createPrometheusClient, PrometheusError, renderQuery, type PrometheusClient } from "../../operator/src/policy/prometheus.ts";
import { startPrometheus, type PrometheusServer } from "./prometheusServer.ts";

/**
 * The Prometheus signal source against a real Prometheus (Debian's package) that scrapes a local
 * exporter every second. Everything below shares one Prometheus; its start is ~5 s of the run.
 */

const REQUESTS = "landlord_it_requests_total";
const REVENUE = "landlord_it_revenue_usd";
// A tenant id built to escape a label matcher in either quote style, with a regex thrown in.
const EVIL = `ev"il'} or vector(666) or ${REVENUE}{tenant=~".+` + "\\\n";

let prom: PrometheusServer;
let client: PrometheusClient;

beforeAll(async () => {
  prom = await startPrometheus();
  const { exporter } = prom;
  exporter.setSeries(REVENUE, { tenant: "acme" }, 1200);
  exporter.setSeries(REVENUE, { tenant: "globex" }, 300);
  exporter.setSeries(REVENUE, { tenant: "acm" }, 7);
  exporter.setSeries(REVENUE, { tenant: EVIL }, 42);
  exporter.setSeries(REQUESTS, { tenant: "acme", code: "200" }, 1000);
  exporter.setSeries(REQUESTS, { tenant: "acme", code: "500" }, 10);
  exporter.setSeries(REQUESTS, { tenant: "globex", code: "200" }, 50);
  // Not a whole number of seconds on purpose: Prometheus refuses "2.5s" as its timeout parameter.
  client = createPrometheusClient({ url: prom.url, timeoutMs: 2500 });
  await prom.waitForValue(`count(${REVENUE})`, 4);
  await prom.waitForValue(`count(${REQUESTS})`, 3);
});

afterAll(async () => {
  await prom?.stop();
});

const kindOf = async (promise: Promise<unknown>): Promise<PrometheusError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrometheusError);
  return error as PrometheusError;
};

describe(`Prometheus signal source against a real Prometheus`, () => {
  it("reads a tenant's series, stamped with the evaluation time", async () => {
    const before = Date.now();
    const sample = await client.query(`${REVENUE}{tenant="acme"}`);
    expect(sample?.value).toBe(1200);
    expect(sample?.at).toBeGreaterThanOrEqual(before - 1000);
    expect(sample?.at).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("follows a changed value after the next scrape", async () => {
    prom.exporter.setSeries(REVENUE, { tenant: "globex" }, 21_000);
    await prom.waitForValue(`${REVENUE}{tenant="globex"}`, 21_000);
    expect((await client.query(`${REVENUE}{tenant="globex"}`))?.value).toBe(21_000);
  });

  it("evaluates sum(increase(...)) over a counter that grew between scrapes", async () => {
    const promql = renderQuery(`sum(increase(${REQUESTS}{tenant="{{tenantId}}"}[1m]))`, { tenantId: "acme" });
    prom.exporter.setSeries(REQUESTS, { tenant: "acme", code: "200" }, 1060);
    await prom.waitForValue(`sum(${REQUESTS}{tenant="acme"})`, 1070);
    const sample = await client.query(promql);
    // increase() extrapolates to the window's edges, so it is at least the raw growth.
    expect(sample?.value).toBeGreaterThanOrEqual(60);
    expect(sample?.value).toBeLessThan(200);
  });

  it("evaluates aggregations without by(), plain sum over every tenant, and scalars", async () => {
    prom.exporter.setSeries(REQUESTS, { tenant: "acme", code: "200" }, 1060);
    await prom.waitForValue(`sum(${REQUESTS}{tenant="acme"})`, 1070);
    expect((await client.query(renderQuery(`sum(${REQUESTS}{tenant="{{tenantId}}"})`, { tenantId: "acme" })))?.value).toBe(1070);
    expect((await client.query(`sum(${REQUESTS})`))?.value).toBe(1120);
    expect((await client.query(`scalar(sum(${REQUESTS}{tenant="globex"}))`))?.value).toBe(50);
    // The share of the pool's total, the way `share: true` signals are computed.
    expect((await client.query(`sum(${REQUESTS}{tenant="globex"}) / sum(${REQUESTS})`))?.value).toBeCloseTo(50 / 1120, 10);
  });

  it("selects the right tenant with a rendered template, in either quote style and in a regex matcher", async () => {
    for (const template of [`${REVENUE}{tenant="{{tenantId}}"}`, `${REVENUE}{tenant='{{ tenantId }}'}`, `${REVENUE}{tenant=~"{{tenantId}}"}`]) {
      expect((await client.query(renderQuery(template, { tenantId: "acme" })))?.value, template).toBe(1200);
    }
    // "acm" is a prefix of "acme": an anchored regex matcher picks exactly one of them.
    expect((await client.query(renderQuery(`${REVENUE}{tenant=~"{{tenantId}}"}`, { tenantId: "acm" })))?.value).toBe(7);
    // A regex metacharacter in an id is literal: "acm." does not match "acme".
    expect(await client.query(renderQuery(`${REVENUE}{tenant=~"{{tenantId}}"}`, { tenantId: "acm." }))).toBeUndefined();
  });

  it("keeps a tenant id with quotes, braces and a newline inside the label matcher", async () => {
    for (const template of [`sum(${REVENUE}{tenant="{{tenantId}}"})`, `sum(${REVENUE}{tenant='{{tenantId}}'})`, `sum(${REVENUE}{tenant=~"{{tenantId}}"})`]) {
      const promql = renderQuery(template, { tenantId: EVIL });
      // Exactly the one series whose label is that odd id: no vector(666), no other tenant.
      expect((await client.query(promql))?.value, promql).toBe(42);
    }
    expect(await client.query(renderQuery(`${REVENUE}{tenant="{{tenantId}}"}`, { tenantId: `nobody"} or vector(666) or x{a="` }))).toBeUndefined();
  });

  it("returns undefined when the query has no data", async () => {
    expect(await client.query(renderQuery(`${REVENUE}{tenant="{{tenantId}}"}`, { tenantId: "nobody" }))).toBeUndefined();
    expect(await client.query(`sum(${REVENUE}{tenant="nobody"})`)).toBeUndefined();
    // 0/0 is NaN: no data as well.
    expect(await client.query(`sum(${REVENUE}{tenant="acme"}) * 0 / 0`)).toBeUndefined();
  });

  it("stops returning a series the exporter dropped", async () => {
    prom.exporter.setSeries(REVENUE, { tenant: "gone" }, 5);
    await prom.waitForValue(`${REVENUE}{tenant="gone"}`, 5);
    prom.exporter.removeSeries(REVENUE, { tenant: "gone" });
    // A staleness marker is written on the next scrape: no 5-minute lookback of a vanished tenant.
    await prom.waitForValue(`${REVENUE}{tenant="gone"}`, undefined);
    expect(await client.query(`${REVENUE}{tenant="gone"}`)).toBeUndefined();
  });

  it("reports a syntactically bad query as BadQuery, with Prometheus's parse error", async () => {
    const error = await kindOf(client.query(`sum(${REVENUE}{tenant="acme"}`));
    expect(error.kind).toBe("BadQuery");
    expect(error.status).toBe(400);
    expect(error.message).toContain(`Prometheus at ${prom.url} rejected the query`);
    expect(error.message).toContain("parse error");
  });

  it("reports a query that cannot be evaluated as BadQuery", async () => {
    const error = await kindOf(client.query(`${REVENUE} + on() ${REVENUE}`));
    expect(error.kind).toBe("BadQuery");
    expect(error.status).toBe(422);
    expect(error.message).toContain("many-to-many matching not allowed");
  });

  it("refuses a query that returns a series per tenant, suggesting sum(...)", async () => {
    const error = await kindOf(client.query(REVENUE));
    expect(error.kind).toBe("BadResult");
    expect(error.message).toMatch(/returned \d series \(.*\) but a signal needs one series per tenant/);
    expect(error.message).toContain("sum(...)");
  });

  it("refuses a range vector and an infinite value", async () => {
    expect((await kindOf(client.query(`${REVENUE}{tenant="acme"}[1m]`))).kind).toBe("BadResult");
    const inf = await kindOf(client.query(`sum(${REVENUE}{tenant="acme"}) / 0`));
    expect(inf.kind).toBe("BadResult");
    expect(inf.message).toContain("returned +Inf");
  });

  it("reports a URL where nothing listens as Unreachable", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await kindOf(createPrometheusClient({ url }).query("up"));
    expect(error.kind).toBe("Unreachable");
    expect(error.message).toContain(`could not reach Prometheus at ${url}`);
  });

  it("sends the bearer token on the query request", async () => {
    // Prometheus itself ignores Authorization; a recording server shows what is sent.
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: "success", data: { resultType: "scalar", result: [Date.now() / 1000, "1"] } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const tokened = createPrometheusClient({ url, bearerToken: () => Promise.resolve("s3cret-token") });
      expect((await tokened.query("1"))?.value).toBe(1);
      expect(seen).toEqual(["Bearer s3cret-token"]);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });
});
