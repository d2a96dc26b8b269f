import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { PulumiFn } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProvisionError, stackName, type StackBackend, type StackRequest } from "../../operator/src/provision/port.ts";
import { createPulumiBackend, type PulumiInstallation } from "../../operator/src/provision/pulumi.ts";
import { ensurePulumi } from "../../operator/src/local/pulumiCli.ts";

/**
 * The pulumi adapter against the real engine: the Pulumi CLI built from its Go module (through
 * ensureGoTool, so a fresh machine builds it first), a self-managed `file://` backend in a temp
 * directory, the passphrase secrets provider, and inline programs that need no cloud provider
 * (no plugin can be downloaded here). The programs run in this process, so they report what they
 * saw through `seen`; the one custom resource is a dynamic resource, served by the
 * pulumi-resource-pulumi-nodejs launcher the build installs next to the CLI.
 *
 * A cold build (no Go module or build cache) took 8 minutes on 2 busy cores; beforeAll allows 45.
 */

const PASSPHRASE = "correct horse battery staple";
const API_TOKEN = "tok-9f8e7d6c5b4a";

let root: string;
let cli: PulumiInstallation;
const backends: StackBackend[] = [];

/** What each program saw, by tenant (the program runs in this process). */
const seen = new Map<string, { region: string; apiToken: string; releasing: boolean }>();
/** Programs of these tenants wait for the gate before finishing: a slow `up`. */
const slow = new Map<string, { started: () => void; gate: Promise<void> }>();
/** Programs of these tenants fail. */
const failing = new Set<string>();

/** Stands in for a cloud resource: create and delete run in the dynamic provider's own process. */
const recordProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { name: string; tags: Record<string, string>; marker: string }) {
    return { id: `record-${inputs.name}`, outs: { ...inputs, arn: `arn:landlord:test:::record/${inputs.name}` } };
  },
  async delete(id: string, props: { marker: string }) {
    // Runs in the provider process, a CommonJS context: the marker file is the only way to tell the test.
    require("node:fs").writeFileSync(props.marker, id);
  },
};

class TenantRecord extends pulumi.dynamic.Resource {
  constructor(name: string, props: { name: string; tags: Record<string, string>; marker: string }, opts?: pulumi.CustomResourceOptions) {
    super(recordProvider, name, { ...props, arn: undefined }, opts);
  }
}

class TenantDatabase extends pulumi.ComponentResource {
  readonly endpoint: string;
  constructor(name: string, args: { region: string; tags: Record<string, string>; marker: string }, opts?: pulumi.ComponentResourceOptions) {
    super("landlordtest:tenant:Database", name, {}, opts);
    new TenantRecord(name, { name, tags: args.tags, marker: args.marker }, { parent: this });
    this.endpoint = `${name}.db.${args.region}.example`;
    this.registerOutputs({ endpoint: this.endpoint });
  }
}

const deletedMarker = (tenantId: string): string => join(root, `deleted-${tenantId}`);

function program(request: StackRequest): PulumiFn {
  return async () => {
    const region = new pulumi.Config("aws").require("region");
    const apiToken = new pulumi.Config("landlordtest").requireSecret("apiToken");
    apiToken.apply((token) => seen.set(request.tenantId, { region, apiToken: token, releasing: request.releasing === true }));
    if (failing.has(request.tenantId)) throw new Error(`no capacity for ${request.tenantId} in ${region}`);
    const db = new TenantDatabase(request.tenantId, { region, tags: request.tags, marker: deletedMarker(request.tenantId) });
    const wait = slow.get(request.tenantId);
    if (wait) {
      wait.started();
      await wait.gate;
    }
    return { endpoint: db.endpoint, port: 5432, masterSecretArn: `arn:aws:secretsmanager:${region}:123456789012:secret:${request.tenantId}` };
  };
}

async function adapter(workRoot: string): Promise<StackBackend> {
  const backend = await createPulumiBackend({
    backendUrl: `file://${join(root, "state")}`,
    secretsProvider: "passphrase",
    workRoot: join(root, workRoot),
    pulumi: cli,
    pulumiHome: join(root, "pulumi-home"),
    env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
    config: { "landlordtest:apiToken": { value: API_TOKEN, secret: true } },
    program,
  });
  backends.push(backend);
  return backend;
}

const request = (tenantId: string, overrides: Partial<StackRequest> = {}): StackRequest => ({
  tenantId,
  kind: "database",
  tags: { "landlord.dev/tenant": tenantId, "landlord.dev/tier": "database" },
  database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 20 },
  deletionPolicy: "Delete",
  aws: { region: "eu-west-1" },
  ...overrides,
});

const live = (): AbortSignal => new AbortController().signal;

/** Starts a slow up of `tenantId` and resolves once its program runs (the stack is locked by then). */
function slowUp(backend: StackBackend, req: StackRequest, signal: AbortSignal): { result: ReturnType<StackBackend["up"]>; running: Promise<void>; release: () => void } {
  let started!: () => void;
  let release!: () => void;
  const running = new Promise<void>((resolveStarted) => (started = resolveStarted));
  const gate = new Promise<void>((resolveGate) => (release = resolveGate));
  slow.set(req.tenantId, { started, gate });
  const result = backend.up(req, signal);
  // A failed up must not leave the test waiting for a program that never starts.
  result.catch(() => started());
  return { result, running, release };
}

async function rejection(promise: Promise<unknown>): Promise<ProvisionError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionError);
    return error as ProvisionError;
  }
  throw new Error("expected the operation to fail");
}

/** The stacks the file backend holds (project "landlord"). */
function storedStacks(): string[] {
  const dir = join(root, "state", ".pulumi", "stacks", "landlord");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")) : [];
}

beforeAll(async () => {
  cli = await ensurePulumi({ log: (line) => process.stderr.write(`${line}\n`) });
  root = mkdtempSync(join(tmpdir(), "landlord-pulumi-"));
}, 45 * 60_000);

afterAll(async () => {
  for (const backend of backends) await backend.close?.();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("pulumi adapter (real engine, file backend)", () => {
  it("creates a stack and returns its outputs and the resources in its state", async () => {
    const backend = await adapter("work");
    const result = await backend.up(request("acme"), live());
    expect(result.planned).toBe(false);
    expect(result.outputs).toEqual({ endpoint: "acme.db.eu-west-1.example", port: 5432, masterSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme" });
    expect(result.resources).toEqual([
      {
        type: "pulumi-nodejs:dynamic:Resource",
        name: "acme",
        id: "record-acme",
        arn: "arn:landlord:test:::record/acme",
        tags: { "landlord.dev/tenant": "acme", "landlord.dev/tier": "database" },
      },
    ]);
    const state = JSON.parse(readFileSync(join(root, "state", ".pulumi", "stacks", "landlord", `${stackName("acme", "database")}.json`), "utf8")) as {
      checkpoint: { latest: { secrets_providers?: { type: string } } };
    };
    expect(state.checkpoint.latest.secrets_providers?.type).toBe("passphrase");
  }, 120_000);

  it("hands the region from the request and the static config to the program, and keeps secrets encrypted", async () => {
    const backend = await adapter("work");
    const result = await backend.up(request("initech", { aws: { region: "ap-southeast-2" } }), live());
    expect(result.outputs.endpoint).toBe("initech.db.ap-southeast-2.example");
    expect(seen.get("initech")).toEqual({ region: "ap-southeast-2", apiToken: API_TOKEN, releasing: false });
    const name = stackName("initech", "database");
    const settings = readFileSync(join(root, "work", name, `Pulumi.${name}.yaml`), "utf8");
    expect(settings).toContain("ap-southeast-2");
    expect(settings).toContain("secure:");
    expect(settings).not.toContain(API_TOKEN);
    expect(readFileSync(join(root, "state", ".pulumi", "stacks", "landlord", `${name}.json`), "utf8")).not.toContain(API_TOKEN);
    // A changed request is an update of the same stack.
    const moved = await backend.up(request("initech", { aws: { region: "eu-central-1" } }), live());
    expect(moved.outputs.endpoint).toBe("initech.db.eu-central-1.example");
  }, 120_000);

  it("refuses a second update of a locked stack with ConcurrentUpdate, and the first one completes", async () => {
    // Two adapters with their own work directories on one backend: two operator replicas.
    const [first, second] = [await adapter("work"), await adapter("work-replica")];
    const slowFirst = slowUp(first, request("globex"), live());
    await slowFirst.running;
    const refused = await rejection(second.up(request("globex"), live()));
    expect(refused.kind).toBe("ConcurrentUpdate");
    expect(refused.message).toContain(stackName("globex", "database"));
    slowFirst.release();
    slow.delete("globex");
    expect((await slowFirst.result).outputs.endpoint).toBe("globex.db.eu-west-1.example");
  }, 120_000);

  it("runs updates of different stacks at the same time, each program with its own config", async () => {
    // The runner bounds concurrency across stacks; inline programs share this process.
    const backend = await adapter("work");
    const ups = ["wayne", "stark", "oscorp"].map((tenant, i) => slowUp(backend, request(tenant, { aws: { region: ["eu-west-1", "us-east-2", "sa-east-1"][i] as string } }), live()));
    await Promise.all(ups.map((up) => up.running));
    for (const up of ups) up.release();
    const results = await Promise.all(ups.map((up) => up.result));
    for (const tenant of ["wayne", "stark", "oscorp"]) slow.delete(tenant);
    expect(results.map((r) => r.outputs.endpoint)).toEqual(["wayne.db.eu-west-1.example", "stark.db.us-east-2.example", "oscorp.db.sa-east-1.example"]);
    expect(results.map((r) => r.resources.map((res) => res.id))).toEqual([["record-wayne"], ["record-stark"], ["record-oscorp"]]);
  }, 120_000);

  it("cancels an up when the signal aborts, reports the runner's reason, and leaves the stack usable", async () => {
    const backend = await adapter("work");
    await backend.up(request("umbrella"), live());

    const shutdown = new AbortController();
    const cancelled = slowUp(backend, request("umbrella", { tags: { "landlord.dev/tenant": "umbrella", extra: "1" } }), shutdown.signal);
    await cancelled.running;
    const started = Date.now();
    shutdown.abort();
    const error = await rejection(cancelled.result);
    expect(error.kind).toBe("Cancelled");
    expect(Date.now() - started).toBeLessThan(15_000);
    cancelled.release();

    const timeout = new AbortController();
    const timedOut = slowUp(backend, request("umbrella"), timeout.signal);
    await timedOut.running;
    const reason = new ProvisionError("Timeout", "up of landlord-umbrella-database ran past 1s and was cancelled");
    timeout.abort(reason);
    expect(await rejection(timedOut.result)).toBe(reason);
    timedOut.release();
    slow.delete("umbrella");

    // No lock left behind: the next update goes through at once.
    const after = await backend.up(request("umbrella"), live());
    expect(after.resources.map((r) => r.name)).toEqual(["umbrella"]);
  }, 120_000);

  it("reports a failing program as a ProgramError in the program's words, without secrets", async () => {
    const backend = await adapter("work");
    failing.add("hooli");
    const error = await rejection(backend.up(request("hooli"), live()));
    failing.delete("hooli");
    expect(error.kind).toBe("ProgramError");
    expect(error.message).toBe("pulumi up of landlord-hooli-database failed: no capacity for hooli in eu-west-1");
    expect(error.message).not.toContain(PASSPHRASE);
    expect(error.message).not.toContain(API_TOKEN);
    expect(error.message.length).toBeLessThanOrEqual(1000);
  }, 120_000);

  it("destroys with deletionPolicy Delete from a fresh work directory: releasing up, resources deleted, stack gone", async () => {
    await (await adapter("work")).up(request("soylent"), live());
    // A restarted operator has only the backend: the work directory is not needed.
    const restarted = await adapter("work-after-restart");
    await restarted.destroy(request("soylent"), live());
    expect(seen.get("soylent")?.releasing).toBe(true);
    expect(readFileSync(deletedMarker("soylent"), "utf8")).toBe("record-soylent");
    expect(storedStacks()).not.toContain(stackName("soylent", "database"));
    expect(existsSync(join(root, "work-after-restart", stackName("soylent", "database")))).toBe(false);
    // Destroying what is already gone succeeds.
    await restarted.destroy(request("soylent"), live());
  }, 120_000);

  it("destroys with deletionPolicy Retain by forgetting the stack and deleting nothing", async () => {
    const backend = await adapter("work");
    await backend.up(request("tyrell", { deletionPolicy: "Retain" }), live());
    await backend.destroy(request("tyrell", { deletionPolicy: "Retain" }), live());
    expect(storedStacks()).not.toContain(stackName("tyrell", "database"));
    expect(existsSync(deletedMarker("tyrell"))).toBe(false);
  }, 120_000);
});
