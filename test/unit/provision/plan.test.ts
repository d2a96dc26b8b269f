import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { planBackend } from "../../../operator/src/provision/plan.ts";
import { ProvisionError, type StackRequest } from "../../../operator/src/provision/port.ts";
import { REQUIRED_COST_KEYS } from "../../../operator/src/api/labels.ts";
import { request } from "../pulumi/harness.ts";

const signal = (): AbortSignal => new AbortController().signal;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("plan provisioner", () => {
  it("records the RDS instance it would create, with every cost tag, and says it is a plan", async () => {
    const req = request({ aws: { region: "eu-west-1", subnetIds: ["subnet-a", "subnet-b"] } });
    const result = await planBackend().up(req, signal());
    expect(result.planned).toBe(true);
    const instance = result.resources.find((r) => r.type === "aws:rds/instance:Instance");
    expect(instance).toEqual({
      type: "aws:rds/instance:Instance",
      name: "database",
      id: "landlord-acme",
      arn: "arn:aws:rds:eu-west-1:planned:db:landlord-acme",
      tags: req.tags,
    });
    expect(result.resources.map((r) => r.type).sort()).toEqual(
      ["aws:ec2/securityGroup:SecurityGroup", "aws:rds/instance:Instance", "aws:rds/subnetGroup:SubnetGroup"].sort(),
    );
    for (const resource of result.resources) {
      for (const key of REQUIRED_COST_KEYS) expect(resource.tags[key], `${resource.type} ${key}`).toBe(req.tags[key]);
    }
  });

  it("leaves the providers out: they are Pulumi bookkeeping, not AWS resources", async () => {
    const result = await planBackend().up(request({ kind: "account" }), signal());
    expect(result.resources.some((r) => r.type.startsWith("pulumi:"))).toBe(false);
    expect(result.resources.map((r) => r.type)).toEqual(
      expect.arrayContaining(["aws:organizations/account:Account", "aws:budgets/budget:Budget", "aws:rds/instance:Instance"]),
    );
  });

  it.each([
    { engine: "postgres", port: 5432 },
    { engine: "mysql", port: 3306 },
  ] as const)("returns outputs that are plausible for $engine and cannot be mistaken for real ones", async ({ engine, port }) => {
    const { outputs } = await planBackend().up(
      request({ database: { engine, instanceClass: "db.t4g.medium", allocatedStorageGB: 20 } }),
      signal(),
    );
    expect(outputs).toEqual({
      endpoint: "landlord-acme.planned.invalid",
      port,
      masterSecretArn: "arn:aws:secretsmanager:eu-west-1:planned:secret:planned-rds!db-landlord-acme",
    });
  });

  it("returns the planned account id for the account kind", async () => {
    const { outputs } = await planBackend().up(request({ kind: "account" }), signal());
    expect(outputs.accountId).toBe("planned-landlord-acme");
  });

  it("runs one plan at a time, even when asked concurrently, and never mixes two tenants' resources", async () => {
    let active = 0;
    let most = 0;
    const run = pulumi.runtime.runInPulumiStack;
    vi.spyOn(pulumi.runtime, "runInPulumiStack").mockImplementation(async (init) => {
      active++;
      most = Math.max(most, active);
      try {
        return await run(init);
      } finally {
        active--;
      }
    });
    const backends = [planBackend(), planBackend()];
    const tenants = ["t1", "t2", "t3", "t4", "t5", "t6"];
    const results = await Promise.all(
      tenants.map((tenantId, i) =>
        backends[i % 2]!.up(request({ tenantId, kind: i % 3 === 0 ? "account" : "database", tags: request({ tenantId, kind: i % 3 === 0 ? "account" : "database" }).tags }), signal()),
      ),
    );
    expect(most).toBe(1);
    results.forEach((result, i) => {
      const tenantId = tenants[i]!;
      expect(result.outputs.endpoint).toBe(`landlord-${tenantId}.planned.invalid`);
      expect(result.resources.every((r) => r.tags["landlord.dev/tenant"] === tenantId)).toBe(true);
      expect(result.resources.filter((r) => r.type === "aws:rds/instance:Instance").map((r) => r.id)).toEqual([`landlord-${tenantId}`]);
    });
  });

  it("reports a request that cannot become a stack as a ProgramError, and plans the next one cleanly", async () => {
    const backend = planBackend();
    const { "landlord.dev/tenant": _dropped, ...tags } = request().tags;
    const failed = backend.up(request({ tags }), signal());
    await expect(failed).rejects.toBeInstanceOf(ProvisionError);
    await expect(failed).rejects.toMatchObject({
      kind: "ProgramError",
      message: expect.stringMatching(/^planning stack landlord-acme-database failed: .*lack the required cost keys landlord\.dev\/tenant/),
    });
    const next = await backend.up(request({ tenantId: "next", tags: request({ tenantId: "next" }).tags }), signal());
    expect(next.resources.every((r) => r.tags["landlord.dev/tenant"] === "next")).toBe(true);
  });

  it("destroys nothing, since nothing exists, and honours cancellation", async () => {
    const backend = planBackend();
    const req: StackRequest = request({ deletionPolicy: "Delete" });
    await expect(backend.destroy(req, signal())).resolves.toBeUndefined();
    const aborted = AbortSignal.abort();
    await expect(backend.up(req, aborted)).rejects.toMatchObject({ kind: "Cancelled" });
    await expect(backend.destroy(req, aborted)).rejects.toMatchObject({ kind: "Cancelled" });
    expect(backend.kind).toBe("plan");
  });

  it("loads no Pulumi module until the first plan", async () => {
    const script = `
      import { createRequire } from "node:module";
      const { planBackend } = await import("./operator/src/provision/plan.ts");
      planBackend();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes("@pulumi"));
      console.log(JSON.stringify(loaded.length));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../../..", import.meta.url).pathname,
    });
    expect(JSON.parse(stdout.trim())).toBe(0);
  });
});
