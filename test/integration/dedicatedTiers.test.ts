import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, k, kAsOperator, kFails, kJson } from "./cluster.ts";
import { startOperatorProcess, type OperatorProcess } from "./operatorProcess.ts";
import { INERT_CONTAINER, migrationJobs, writeJobStatus, type MigrationJobs } from "./realJobs.ts";

/**
 * The database and account tiers against the real control plane with the plan provisioner: the
 * Pulumi programs run under mocks, so every AWS resource is recorded, not created. Migration Jobs
 * run for real in pods where this machine can host the local node (realJobs.ts); elsewhere the
 * tests play the kubelet by writing their status, and with CI=true that is a failure.
 */

interface InventoryItem {
  kind: string;
  name?: string;
  namespace?: string;
  planned?: boolean;
  tags?: Record<string, string>;
}
interface Tenant {
  metadata: { name: string; finalizers?: string[] };
  status?: {
    tier?: string;
    targetTier?: string;
    phase?: string;
    namespace?: string;
    resources?: InventoryItem[];
    stacks?: Array<{ kind: string; name: string; state: string; planned?: boolean; endpoint?: string; port?: number; masterSecretArn?: string }>;
    migration?: { job: string; attempt: number; state: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}
interface Job {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }>; args?: string[] }> } } };
}
interface Decision {
  metadata: { name: string };
  spec: { from?: string; to: string };
  status?: { outcome?: string; steps?: Array<{ name: string; finishedAt?: string }>; error?: string };
}

const run = `d${Date.now().toString(36)}`;
const POOL = `${run}-pool`;
const POLICY = `${run}-policy`;
const POLICY_NO_MIGRATION = `${run}-nomig`;
/** A Job that never finishes on its own: the look-alike test decides its fate. */
const POLICY_INERT_JOB = `${run}-inert`;
const id = (n: string): string => `${run}-${n}`;

const apply = (objects: Record<string, unknown>[]): Promise<string> =>
  k(["apply", "--server-side", "--field-manager=it", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

/** `container`: the migration Job's container; none, no migration. */
function policy(name: string, container: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "PlacementPolicy",
    metadata: { name },
    spec: {
      signals: [{ name: "monthlyRevenueUSD", source: { reported: {} } }],
      tiers: [
        { tier: "namespace", promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 20000 }] }, demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 14000 }] } },
        {
          tier: "database",
          promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 50000 }] },
          demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 40000 }] },
          database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 },
        },
        {
          tier: "account",
          promoteWhen: { any: [{ signal: "monthlyRevenueUSD", gte: 250000 }] },
          demoteWhen: { all: [{ signal: "monthlyRevenueUSD", lt: 200000 }] },
          account: { organizationalUnitId: "ou-ab12-cdef3456", emailTemplate: "aws+{{tenantId}}@example.com" },
        },
      ],
      stabilization: { promoteAfter: "0s", demoteAfter: "0s", cooldown: "0s" },
      approval: { promotion: "Automatic", demotion: "Automatic" },
      rateLimit: { maxConcurrentMoves: 20, maxMovesPerHour: 1000 },
      ...(container
        ? {
            migration: {
              jobTemplate: {
                metadata: { labels: { app: "migrate" } },
                spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [container] } } },
              },
            },
          }
        : {}),
    },
  };
}

function tenant(name: string, revenue: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "landlord.dev/v1alpha1",
    kind: "TenantPlacement",
    // A tier other than the default is a manual choice: the chart's admission policy wants its reason.
    metadata: { name, ...(extra.tier ? { annotations: { "landlord.dev/tier-reason": `test ${name}` } } : {}) },
    spec: { tenantId: name, costCenter: "cc-42", pool: POOL, policyRef: POLICY, tags: { team: "data" }, reportedSignals: { monthlyRevenueUSD: revenue }, ...extra },
  };
}

const getTenant = (name: string): Promise<Tenant> => kJson<Tenant>(["get", "tp", name]);
const setRevenue = (name: string, revenue: number): Promise<string> =>
  k(["patch", "tp", name, "--type=merge", "--field-manager=billing", "-p", JSON.stringify({ spec: { reportedSignals: { monthlyRevenueUSD: revenue } } })]);

async function waitFor(name: string, want: (t: Tenant) => boolean, what: string, timeoutMs = 45_000): Promise<Tenant> {
  let last: Tenant | undefined;
  try {
    return await eventually(async () => {
      last = await getTenant(name);
      return want(last) ? last : undefined;
    }, { what: `${name}: ${what}`, timeoutMs });
  } catch (error) {
    // The status says what the operator was doing: far more useful than "timed out".
    const { resources: _, ...status } = last?.status ?? {};
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(status)}`);
  }
}

const condition = (t: Tenant, type: string) => t.status?.conditions?.find((c) => c.type === type);
const decisions = async (name: string): Promise<Decision[]> =>
  (await kJson<{ items: Decision[] }>(["get", "pdec", "-l", `landlord.dev/tenant=${name}`])).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

async function registryHas(tenantId: string): Promise<boolean> {
  const maps = await kJson<{ items: Array<{ data?: Record<string, string> }> }>(["get", "configmap", "-A", "-l", `landlord.dev/pool=${POOL}`]);
  return maps.items.some((m) => m.data?.[tenantId] !== undefined);
}

/** The migration Job of a tenant's move, by its label (it outlives the move, the status field does not). */
async function migrationJob(namespace: string, tenantId: string): Promise<Job> {
  return eventually(async () => (await kJson<{ items: Job[] }>(["get", "jobs", "-n", namespace, "-l", `landlord.dev/tenant=${tenantId}`])).items[0], { what: `the migration Job of ${tenantId}` });
}

const REQUIRED_TAGS = ["landlord.dev/tenant", "landlord.dev/tier", "landlord.dev/cost-center", "landlord.dev/managed-by"];

describe("the database and account tiers (plan provisioner)", () => {
  let operator: OperatorProcess;
  let jobs: MigrationJobs | undefined;

  // Long enough for a first run on a machine where `landlord local build` and `landlord local image`
  // have not run yet (.ci/run runs both first): kubelet and the Debian base are made here then.
  beforeAll(async () => {
    jobs = await migrationJobs((line) => void process.stderr.write(`${line}\n`));
    process.stderr.write(jobs.unavailable ? `dedicatedTiers: migration Jobs get a hand-written status: ${jobs.unavailable}\n` : `measure: real_jobs_node_and_image_seconds=${jobs.setupSeconds.toFixed(1)}\n`);
    await apply([
      { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: POOL }, spec: { namespacePrefix: POOL, capacity: { maxTenants: 50, cpu: "50", memory: "100Gi" } } },
      policy(POLICY, jobs.container),
      policy(POLICY_NO_MIGRATION, undefined),
      policy(POLICY_INERT_JOB, INERT_CONTAINER),
    ]);
    operator = await startOperatorProcess(["--provisioner", "plan"]);
    await operator.waitReady();
  }, 600_000);

  afterAll(async () => {
    await operator?.stop();
    const stopped = Date.now();
    await jobs?.stop();
    if (!jobs?.unavailable) process.stderr.write(`measure: real_jobs_node_removal_seconds=${((Date.now() - stopped) / 1000).toFixed(1)}\n`);
  }, 180_000);

  // The same convention as the e2e suite: CI must run the migration Jobs in pods, not play the kubelet.
  if (process.env.CI === "true") {
    it("runs the migration Jobs in real pods (CI=true)", () => {
      expect(jobs?.unavailable, "the local node could not run here").toBeUndefined();
    });
  }

  it("moves a tenant whose revenue crosses the database threshold: RDS planned with its tags, migration Job, cut-over", async () => {
    const name = id("rich");
    await apply([tenant(name, 1000)]);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "pooled");
    await setRevenue(name, 60000);

    // Provisioned, then waiting for the migration Job, still served from the pool. A Job that
    // really runs may be done before this looks (a few seconds): then the move is checked below.
    const migrating = await waitFor(name, (t) => t.status?.phase === "Migrating" || t.status?.tier === "database", "migrating");
    if (migrating.status?.phase === "Migrating") {
      expect(migrating.status.tier).toBe("pooled");
      expect(condition(migrating, "Ready")?.status).toBe("True");
      // Only while the Job cannot finish on its own is this read sure to come before the cut-over.
      if (jobs?.unavailable) expect(await registryHas(name)).toBe(true);
    }
    const stack = migrating.status?.stacks?.find((s) => s.kind === "database");
    expect(stack).toMatchObject({ name: `landlord-${name}-database`, state: "Ready", planned: true, port: 5432 });

    const namespace = `tenant-${name}`;
    const job = await migrationJob(namespace, name);
    const env = Object.fromEntries((job.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ TENANT_ID: name, FROM_TIER: "pooled", TO_TIER: "database", TARGET_ENDPOINT: stack?.endpoint, TARGET_PORT: "5432", TARGET_SECRET_ARN: stack?.masterSecretArn });
    // The jobTemplate's {{tenantId}} is filled in.
    expect((job.spec.template.spec.containers[0]?.args ?? []).join(" ")).toContain(jobs?.unavailable ? `--tenant=${name}` : `test "$TENANT_ID" = "${name}"`);
    expect(job.metadata.labels).toMatchObject({ app: "migrate", "landlord.dev/tenant": name, "landlord.dev/managed-by": "landlord" });
    expect(JSON.stringify(env).toLowerCase()).not.toContain("password");

    await jobs?.finish(namespace, job.metadata.name, "Complete");
    if (!jobs?.unavailable) expect(await jobs?.logs(namespace, job.metadata.name)).toMatch(/^migrated$/m);
    const moved = await waitFor(name, (t) => t.status?.tier === "database" && t.status.phase === "Active", "served from its database");
    expect(moved.status?.namespace).toBe(namespace);
    expect(moved.status?.migration).toBeUndefined();
    expect(await registryHas(name)).toBe(false);

    // Every AWS resource is in the inventory, planned, with the required cost tags and the tenant's own.
    const aws = (moved.status?.resources ?? []).filter((r) => r.kind.startsWith("aws:"));
    const rds = aws.find((r) => r.kind === "aws:rds/instance:Instance");
    expect(rds).toBeDefined();
    for (const item of aws) {
      expect(item.planned).toBe(true);
      for (const key of REQUIRED_TAGS) expect(item.tags?.[key], `${item.kind} ${key}`).toBeDefined();
      expect(item.tags).toMatchObject({ "landlord.dev/tenant": name, "landlord.dev/tier": "database", "landlord.dev/cost-center": "cc-42", team: "data" });
    }
    expect(condition(moved, "TagsCompliant")?.status).toBe("True");
    expect(condition(moved, "Ready")?.message).toContain("plan");

    // The application finds its database through a ConfigMap: endpoint, port, secret ARN, never a password.
    const connection = await kJson<{ data: Record<string, string> }>(["get", "configmap", "landlord-connection", "-n", namespace]);
    expect(connection.data).toMatchObject({ tier: "database", endpoint: stack?.endpoint, port: "5432", masterSecretArn: stack?.masterSecretArn, planned: "true" });
    expect(Object.keys(connection.data).join(",").toLowerCase()).not.toContain("password");

    const history = await decisions(name);
    const move = history.at(-1);
    expect(move?.spec).toMatchObject({ from: "pooled", to: "database" });
    expect(move?.status?.outcome).toBe("Succeeded");
    expect(move?.status?.steps?.map((s) => s.name)).toEqual(["Provisioning", "Migrating", "CutOver"]);
  });

  it("leaves the tenant served where it was when the migration fails, and says why", async () => {
    const name = id("fail");
    await apply([tenant(name, 1000)]);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "pooled");
    await setRevenue(name, 60000);
    await waitFor(name, (t) => t.status?.phase === "Migrating" || t.status?.phase === "Failed", "migrating");
    const job = await migrationJob(`tenant-${name}`, name);
    await jobs?.finish(`tenant-${name}`, job.metadata.name, "Failed");
    // A real Job's failure is its controller's (the backoff limit); what went wrong is in its pod's log.
    const why = jobs?.unavailable ? "relation orders is locked" : "BackoffLimitExceeded";
    if (!jobs?.unavailable) expect(await jobs?.logs(`tenant-${name}`, job.metadata.name)).toContain("relation orders is locked");

    const failed = await waitFor(name, (t) => t.status?.phase === "Failed", "failed");
    expect(failed.status?.tier).toBe("pooled");
    expect(failed.status?.targetTier).toBe("database");
    expect(condition(failed, "Ready")).toMatchObject({ status: "True", reason: "ServedMoveFailed" });
    expect(condition(failed, "Degraded")).toMatchObject({ status: "True", reason: "MigrationFailed" });
    expect(condition(failed, "Degraded")?.message).toContain(why);
    expect(failed.status?.migration).toMatchObject({ attempt: 1, state: "Failed" });
    expect(await registryHas(name)).toBe(true);
    const events = await kJson<{ items: Array<{ reason: string; involvedObject: { name: string } }> }>(["get", "events", "-A", "--field-selector", `involvedObject.name=${name}`]);
    expect(events.items.map((e) => e.reason)).toContain("MigrationFailed");
    // The move is still open (it is retried), and its error is recorded on it.
    const open = (await decisions(name)).at(-1);
    expect(open?.status?.outcome).toBeUndefined();
    expect(open?.status?.error).toContain(why);

    // Signals dipping mid-move do not call a move off (no flapping); a pin does, and the planned stack goes.
    await k(["patch", "tp", name, "--type=merge", "-p", JSON.stringify({ metadata: { annotations: { "landlord.dev/tier-reason": "call the move off" } }, spec: { tier: { mode: "Pinned", pinned: "pooled" } } })]);
    const back = await waitFor(name, (t) => t.status?.phase === "Active" && !t.status.stacks, "back in the pool, stack released");
    expect(back.status?.tier).toBe("pooled");
    expect((await decisions(name)).at(-1)?.status?.outcome).toBe("RolledBack");
  });

  it("believes only the migration Job it created: a tenant admin's look-alike, made under the same name, completes nothing (issue 15)", async () => {
    const name = id("fake");
    const admin = `${name}-admin`;
    await apply([tenant(name, 1000, { policyRef: POLICY_INERT_JOB, admins: [{ kind: "User", name: admin }] })]);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active", "pooled");
    await setRevenue(name, 60000);
    const migrating = await waitFor(name, (t) => t.status?.phase === "Migrating" && Boolean(t.status.migration?.job), "migrating");
    const namespace = `tenant-${name}`;
    const jobName = migrating.status?.migration?.job ?? "";
    // Named from the move's UID, not from anything a tenant can read before the Job exists.
    expect(jobName).toMatch(/^landlord-migrate-[0-9a-f]{20}$/);
    expect(jobName).not.toContain(name);
    const real = await kJson<Job & { metadata: { uid: string } }>(["get", "job", jobName, "-n", namespace]);
    expect(real.spec.template.spec).toMatchObject({ serviceAccountName: "default", automountServiceAccountToken: false });

    // The tenant admin (admin in the namespace) deletes Landlord's Job and makes its own, same name,
    // same labels. The operator is stopped meanwhile only so that it cannot re-create its own Job
    // first (which it does when its Job merely disappears): the swap must be what it finds.
    await operator.stop();
    await k(["delete", "job", jobName, "-n", namespace, "--as", admin, "--wait=true"]);
    const forged = { apiVersion: "batch/v1", kind: "Job", metadata: { name: jobName, namespace, labels: real.metadata.labels }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "busybox" }] } } } };
    // Admission refuses the tenant admin the operator's labels (the reserved-labels policy)…
    expect(await kFails(["create", "-f", "-", "--as", admin], JSON.stringify(forged))).toMatch(/labels under landlord\.dev\/ are reserved to the Landlord operator/);
    // …so the look-alike that gets in all the same (a cluster without the admission policies; here
    // written with the operator's token, which that policy exempts) must be caught by the operator itself.
    await kAsOperator(["create", "-f", "-"], JSON.stringify(forged));
    await writeJobStatus(namespace, jobName, "Complete");
    operator = await startOperatorProcess(["--provisioner", "plan"]);
    await operator.waitReady();

    // Not believed: the attempt fails, the tenant stays served from the pool, and the next attempt is a new Job.
    const failed = await waitFor(name, (t) => t.status?.migration?.state === "Failed", "the look-alike refused");
    expect(failed.status?.tier).toBe("pooled");
    expect(condition(failed, "Degraded")?.message).toMatch(/was replaced by an object Landlord did not create/);
    await k(["patch", "tp", name, "--type=merge", "-p", JSON.stringify({ metadata: { annotations: { "landlord.dev/tier-reason": "stay in the pool after the refused look-alike" } }, spec: { tier: { mode: "Pinned", pinned: "pooled" } } })]);
    await waitFor(name, (t) => t.status?.phase === "Active" && !t.status.stacks, "back in the pool");
  });

  it("moves up to an account and back down without a migration policy, releasing each stack after cut-over", async () => {
    const name = id("acct");
    await apply([tenant(name, 300000, { policyRef: POLICY_NO_MIGRATION, deletionPolicy: "Delete" })]);
    const placed = await waitFor(name, (t) => t.status?.tier === "account" && t.status.phase === "Active", "served from its account");
    const kinds = (placed.status?.resources ?? []).map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(["aws:organizations/account:Account", "aws:rds/instance:Instance", "aws:budgets/budget:Budget"]));
    expect(placed.status?.stacks?.map((s) => s.kind)).toEqual(["account"]);

    await setRevenue(name, 60000);
    const database = await waitFor(name, (t) => t.status?.tier === "database" && t.status.phase === "Active" && t.status.stacks?.length === 1, "served from a database, account released");
    expect(database.status?.stacks?.[0]).toMatchObject({ kind: "database", state: "Ready" });
    expect((database.status?.resources ?? []).some((r) => r.kind === "aws:organizations/account:Account")).toBe(false);

    await setRevenue(name, 1000);
    await waitFor(name, (t) => t.status?.tier === "pooled" && t.status.phase === "Active" && !t.status.stacks, "back in the pool");
    await eventually(async () => ((await k(["get", "namespace", `tenant-${name}`, "--ignore-not-found", "-o", "name"])).trim() === "" ? true : undefined), {
      what: "the dedicated namespace to go",
      timeoutMs: 60_000,
    });
  });

  it("releases the stacks of a deleted tenant before letting it go", async () => {
    const name = id("gone");
    await apply([tenant(name, 1000, { tier: { mode: "Pinned", pinned: "database" }, policyRef: POLICY_NO_MIGRATION })]);
    await waitFor(name, (t) => t.status?.tier === "database" && t.status.phase === "Active", "served from its database");
    await k(["delete", "tp", name, "--wait=true", "--timeout=90s"]);
    expect((await k(["get", "tp", name, "--ignore-not-found", "-o", "name"])).trim()).toBe("");
    expect(operator.logs()).toContain(`"stack":"landlord-${name}-database"`);
  });
});
