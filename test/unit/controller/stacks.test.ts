import { describe, expect, it } from "vitest";
import { tenantPlacementSpec, type TenantPlacementStatus } from "../../../operator/src/api/v1alpha1/index.ts";
import { REASONS } from "../../../operator/src/controller/reasons.ts";
import { StackBook } from "../../../operator/src/controller/stacks.ts";
import { reconcileTenant } from "../../../operator/src/controller/tenantPlacement.ts";
import { ProvisionError } from "../../../operator/src/provision/port.ts";
import { retryDelayMs } from "../../../operator/src/provision/runner.ts";
import { conditionOf, converge, policyObject, poolObject, statusOf, validTenant } from "./fixtures.ts";
import { drain, memoryCluster, planBackend, type MemoryCluster } from "./memoryCluster.ts";

const spec = tenantPlacementSpec.parse({ tenantId: "acme", costCenter: "cc-1234", tier: { mode: "Pinned", pinned: "database" } });

function cluster(options: { failing?: boolean; policy?: boolean } = {}): MemoryCluster {
  const backend = planBackend({ fail: () => (options.failing ? new ProvisionError("ProgramError", "InvalidParameterValue: the subnet group is gone") : undefined) });
  const made = memoryCluster({ backend });
  made.put(poolObject());
  if (options.policy ?? true) made.put(policyObject());
  return made;
}

/** Runs `up` the way successive reconciles do: a new book per pass, over the status the last one wrote. */
async function upPasses(made: MemoryCluster, passes: number): Promise<{ book: StackBook; ready: boolean; status: TenantPlacementStatus }> {
  let status: TenantPlacementStatus = {};
  let book = new StackBook(made.ctx, spec, "acme", status, undefined);
  let ready = false;
  for (let i = 0; i < passes; i++) {
    book = new StackBook(made.ctx, spec, "acme", status, undefined);
    ready = book.up("database");
    status = { stacks: book.status(), resources: book.inventory() };
    await drain();
  }
  return { book, ready, status };
}

describe("StackBook", () => {
  it("names a stack in the status before it starts it, then brings it up", async () => {
    const made = cluster();
    const first = new StackBook(made.ctx, spec, "acme", {}, undefined);
    expect(first.up("database")).toBe(false);
    expect(first.status()).toEqual([{ kind: "database", name: "landlord-acme-database", state: "Provisioning" }]);
    // Nothing was started: a crash now leaves a status that names the stack, and no cloud resource.
    expect(made.ctx.provisioner.active()).toBe(0);

    const { book, ready } = await upPasses(made, 3);
    expect(ready).toBe(true);
    expect(book.entry("database")).toMatchObject({ state: "Ready", planned: true, endpoint: "acme.db.example", port: 5432 });
    expect(book.changes).toEqual([{ kind: "database", what: "Provisioned", entry: book.entry("database") }]);
    expect(book.inventory()).toEqual([expect.objectContaining({ kind: "aws:rds/instance:Instance", planned: true, tags: expect.objectContaining({ "landlord.dev/tenant": "acme" }) })]);
  });

  it("reports a failed up with its retry time, and holds it until then", async () => {
    const made = cluster({ failing: true });
    const { book, ready, status } = await upPasses(made, 3);
    expect(ready).toBe(false);
    expect(book.failed()).toBe(true);
    const retryAt = made.clock.now + retryDelayMs("ProgramError", 1);
    expect(book.entry("database")).toMatchObject({ state: "Failed", failures: 1, retryAt: new Date(retryAt).toISOString() });
    expect(book.retryAts).toEqual([retryAt]);
    expect(book.conditions).toEqual([expect.objectContaining({ reason: REASONS.provisionFailed, message: expect.stringContaining("the subnet group is gone") })]);

    // Before the retry time nothing runs again, whatever the number of passes.
    const again = new StackBook(made.ctx, spec, "acme", status, undefined);
    expect(again.up("database")).toBe(false);
    expect(made.ctx.provisioner.active()).toBe(0);
    expect(again.retryAts).toEqual([retryAt]);
  });

  it("says StackSettingsMissing when the policy has no settings for the tier", () => {
    const made = cluster({ policy: false });
    const book = new StackBook(made.ctx, spec, "acme", {}, "pooled");
    expect(book.up("database")).toBe(false);
    expect(book.status()).toBeUndefined();
    expect(book.conditions).toEqual([expect.objectContaining({ reason: REASONS.stackSettingsMissing, message: expect.stringContaining("PlacementPolicy default does not exist") })]);
  });

  it("releases every stack but the one kept, and forgets it once destroyed", async () => {
    const made = cluster();
    const { status } = await upPasses(made, 3);
    const kept = new StackBook(made.ctx, spec, "acme", status, "database");
    expect(kept.releaseAllBut("database")).toBe(true);
    expect(kept.status()).toHaveLength(1);

    let book = new StackBook(made.ctx, spec, "acme", status, "database");
    expect(book.releaseAllBut(undefined)).toBe(false);
    expect(book.entry("database")?.state).toBe("Destroying");
    await drain();
    book = new StackBook(made.ctx, spec, "acme", { stacks: book.status() }, "database");
    expect(book.releaseAllBut(undefined)).toBe(true);
    expect(book.status()).toBeUndefined();
    expect(book.changes.map((c) => c.what)).toEqual(["Released"]);
  });
});

describe("reconcileTenant with a stack", () => {
  it("retries a failed stack at its retry time, not before, Degraded ProvisionFailed, still served from the pool", async () => {
    let attempts = 0;
    const made = memoryCluster({ backend: planBackend({ fail: () => (++attempts, new ProvisionError("ProgramError", "InvalidParameterValue: the subnet group is gone")) }) });
    made.put(poolObject());
    made.put(policyObject());
    made.put(validTenant("acme"));
    await converge(made, ["tenant/acme"]);
    expect(statusOf(made, "acme").tier).toBe("pooled");

    made.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "database" } }));
    await reconcileTenant(made.ctx, "acme"); // decide
    await reconcileTenant(made.ctx, "acme"); // the stack is named in the status
    await reconcileTenant(made.ctx, "acme"); // started
    await drain();
    const result = await reconcileTenant(made.ctx, "acme"); // failed
    const retryAt = made.clock.now + retryDelayMs("ProgramError", 1);
    // A move in progress polls every 5 s, sooner than the retry time (60 s here).
    expect(result).toEqual({ kind: "requeueAfter", ms: Math.min(5_000, retryDelayMs("ProgramError", 1)) });
    expect(statusOf(made, "acme")).toMatchObject({ tier: "pooled", phase: "Failed", targetTier: "database", stacks: [{ kind: "database", state: "Failed", failures: 1, retryAt: new Date(retryAt).toISOString() }] });
    expect(conditionOf(made, "acme", "Degraded")).toMatchObject({ status: "True", reason: REASONS.provisionFailed });
    expect(conditionOf(made, "acme", "Degraded")?.message).toContain(`retrying at ${new Date(retryAt).toISOString()}; the tenant stays served from pooled`);
    expect(conditionOf(made, "acme", "Ready")).toMatchObject({ status: "True", reason: REASONS.servedMoveFailed });
    expect(attempts).toBe(1);

    // Polls before the retry time run nothing.
    made.clock.now = retryAt - 1_000;
    expect(await reconcileTenant(made.ctx, "acme")).toEqual({ kind: "requeueAfter", ms: 1_000 });
    await drain();
    expect(attempts).toBe(1);

    // At the retry time the next attempt runs, and its failure doubles the delay.
    made.clock.now = retryAt;
    await reconcileTenant(made.ctx, "acme");
    await drain();
    await reconcileTenant(made.ctx, "acme");
    expect(attempts).toBe(2);
    expect(statusOf(made, "acme").stacks).toEqual([expect.objectContaining({ state: "Failed", failures: 2, retryAt: new Date(retryAt + retryDelayMs("ProgramError", 2)).toISOString() })]);
  });

  it("moves to database once the stack is up: connection ConfigMap, status names the stack", async () => {
    const made = cluster();
    made.put(validTenant("acme", { tier: { mode: "Pinned", pinned: "database" } }));
    for (let i = 0; i < 6; i++) {
      await reconcileTenant(made.ctx, "acme");
      await drain();
    }
    expect(statusOf(made, "acme")).toMatchObject({ tier: "database", phase: "Active", stacks: [{ kind: "database", state: "Ready" }] });
    expect(made.store.get("ConfigMap", "landlord-connection", "tenant-acme")?.data).toMatchObject({ tier: "database", endpoint: "acme.db.example", planned: "true" });
    expect(made.events.map((e) => e.reason)).toEqual(["Placing", "Provisioned", "Placed"]);
  });
});
