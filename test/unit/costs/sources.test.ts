import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costReport, type CostPlacement, type CostPoolObject, type CostsOptions } from "../../../operator/src/cli/costs.ts";
import { roundCents } from "../../../operator/src/costs/allocate.ts";
import { generateBill, PERIOD, type Generated } from "../../fixtures/costs/generate.ts";
import { startMoto, type Moto } from "../../fixtures/costs/moto.ts";
import { freePort } from "../../../operator/src/local/ports.ts";

/**
 * The two remote inputs against real servers on loopback: s3:// against moto's S3 server (read
 * through the AWS SDK's standard credential chain, here the environment), and OpenCost's
 * allocation API against a server that answers in OpenCost's documented JSON.
 */

const dir = mkdtempSync(join(tmpdir(), "landlord-sources-"));
let g: Generated;
let moto: Moto;
const saved = { ...process.env };

const placements = (): CostPlacement[] => g.manifests.filter((m) => (m as { kind: string }).kind === "TenantPlacement") as CostPlacement[];
const pools = (): CostPoolObject[] => g.manifests.filter((m) => (m as { kind: string }).kind === "TenantPool") as CostPoolObject[];
const options = (over: Partial<CostsOptions>): CostsOptions => ({ bills: [], basis: "unblended", period: PERIOD, shared: "none", revenueSignal: "monthlyRevenueUSD", poolCosts: {}, accounts: [], ...over });

beforeAll(async () => {
  g = await generateBill({ tenants: 40, rows: 400, seed: 5, formats: ["cur2-parquet", "focus-csv"], dir });
  moto = await startMoto();
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: moto.endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: "us-east-1" });
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "billing" }));
  const put = (key: string, body: Buffer | string): Promise<unknown> => s3.send(new PutObjectCommand({ Bucket: "billing", Key: key, Body: body }));
  await put(`cur2/landlord/data/BILLING_PERIOD=${PERIOD}/landlord-00001.snappy.parquet`, readFileSync(g.files["cur2-parquet"] as string));
  await put("cur2/landlord/metadata/BILLING_PERIOD=2026-11/landlord-Manifest.json", "{}");
  await put("focus/landlord/data/focus-00001.csv.gz", readFileSync(g.files["focus-csv"] as string));
  await put("empty/readme.txt", "nothing here");
  s3.destroy();
}, 600_000);

afterAll(async () => {
  process.env = saved;
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("s3:// exports (moto's S3 server)", () => {
  it("reads a CUR 2.0 prefix with the credential chain: same total, digests of the objects", async () => {
    const report = await costReport(options({ bills: ["s3://billing/cur2/landlord/data/"] }), placements(), pools());
    expect(report.totalCents).toBe(Number(roundCents(g.expected.unblended)));
    const sha = createHash("sha256").update(readFileSync(g.files["cur2-parquet"] as string)).digest("hex");
    expect(report.inputs[0]).toMatchObject({ kind: "cur2", source: "s3://billing/cur2/landlord/data/", files: [{ path: `s3://billing/cur2/landlord/data/BILLING_PERIOD=${PERIOD}/landlord-00001.snappy.parquet`, sha256: sha }] });
    const focus = await costReport(options({ bills: ["s3://billing/focus/"], basis: "billed" }), placements(), pools());
    expect(focus.lines.map((l) => [l.tenant, l.cents])).toEqual(report.lines.map((l) => [l.tenant, l.cents]));
  }, 60_000);

  it("an unreadable prefix fails in one line", async () => {
    await expect(costReport(options({ bills: ["s3://no-such-bucket/cur2/"] }), placements(), pools())).rejects.toThrow(/^s3:\/\/no-such-bucket\/cur2\/: cannot list the prefix: NoSuchBucket: The specified bucket does not exist$/);
    await expect(costReport(options({ bills: ["s3://billing/empty/"] }), placements(), pools())).rejects.toThrow("s3://billing/empty/: no .parquet, .csv or .csv.gz object under this prefix");
  }, 60_000);
});

describe("OpenCost's allocation API", () => {
  let server: Server;
  let url = "";
  const seen: URLSearchParams[] = [];
  const dedicated = (): string => g.tenants.find((t) => t.tier === "namespace")?.tenantId as string;

  beforeAll(async () => {
    // The shape of GET /allocation?aggregate=namespace&accumulate=true in OpenCost's API docs:
    // one set (accumulated), namespace → allocation with per-resource costs and adjustments.
    const allocation = (name: string, costs: Record<string, number>): object => ({
      name,
      properties: { cluster: "cluster-one", namespace: name },
      window: { start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z" },
      start: "2026-11-01T00:00:00Z",
      end: "2026-12-01T00:00:00Z",
      minutes: 43200,
      cpuCores: 0.5,
      cpuCoreRequestAverage: 0.5,
      cpuCoreHours: 360,
      cpuCost: 0,
      cpuCostAdjustment: 0,
      gpuCost: 0,
      gpuCostAdjustment: 0,
      networkCost: 0,
      networkCostAdjustment: 0,
      loadBalancerCost: 0,
      loadBalancerCostAdjustment: 0,
      pvCost: 0,
      pvCostAdjustment: 0,
      ramCost: 0,
      ramCostAdjustment: 0,
      sharedCost: 0,
      externalCost: 0,
      ...costs,
      totalCost: Object.values(costs).reduce((a, b) => a + b, 0),
    });
    server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      if (u.pathname !== "/allocation") {
        res.writeHead(404).end("404 page not found");
        return;
      }
      seen.push(u.searchParams);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          code: 200,
          data: [
            {
              [`tenant-${dedicated()}`]: allocation(`tenant-${dedicated()}`, { cpuCost: 0.12, cpuCostAdjustment: 0.0004, ramCost: 0.05, pvCost: 0.025 }),
              "pool-standard-1": allocation("pool-standard-1", { cpuCost: 0.3, ramCost: 0.1, networkCost: 0.05 }),
              "kube-system": allocation("kube-system", { cpuCost: 0.075 }),
              __idle__: allocation("__idle__", { cpuCost: 0.2 }),
            },
          ],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("moves each namespace's cost out of the bill's untagged usage to its tenant or pool; the total stays the bill's", async () => {
    const without = await costReport(options({ bills: [g.files["cur2-parquet"] as string] }), placements(), pools());
    const report = await costReport(options({ bills: [g.files["cur2-parquet"] as string], opencost: url }), placements(), pools());
    expect(Object.fromEntries(seen[0] ?? [])).toEqual({ window: "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z", aggregate: "namespace", accumulate: "true", includeIdle: "true" });
    expect(report.totalCents).toBe(without.totalCents);
    const cents = (r: typeof report, tenant: string): number => r.lines.find((l) => l.tenant === tenant)?.cents ?? 0;
    // 0.12 + 0.0004 + 0.05 + 0.025 = 0.1954 → the dedicated tenant's line grows by 0.19 or 0.20 after rounding.
    expect(cents(report, dedicated()) - cents(without, dedicated())).toBeGreaterThanOrEqual(19);
    expect(cents(report, dedicated()) - cents(without, dedicated())).toBeLessThanOrEqual(20);
    expect(report.lines.find((l) => l.tenant === dedicated())?.basis).toContain(`namespace tenant-${dedicated()} (OpenCost)`);
    // The shard's 0.45 goes to the pool's members; kube-system and idle (0.275) stay shared.
    const pooledDelta = report.lines.filter((l) => l.pool === "standard").reduce((a, l) => a + l.cents, 0) - without.lines.filter((l) => l.pool === "standard").reduce((a, l) => a + l.cents, 0);
    expect(Math.abs(pooledDelta - 45)).toBeLessThanOrEqual(1);
    expect(report.inputs.at(-1)).toMatchObject({ kind: "opencost", rows: 4 });
  }, 60_000);

  it("without a bill, OpenCost's figures are the input; an unreachable OpenCost fails in one line", async () => {
    const alone = await costReport(options({ opencost: url }), placements(), pools());
    // 0.1954 + 0.45 + 0.075 + 0.2 = 0.9204 → 0.92.
    expect(alone.totalCents).toBe(92);
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(costReport(options({ opencost: closed }), placements(), pools())).rejects.toThrow(`${closed}: cannot reach OpenCost: ECONNREFUSED`);
  }, 60_000);
});
