import * as pulumi from "@pulumi/pulumi";
import type { StackRequest } from "../../../operator/src/provision/port.ts";
import { PlanRecorder, type RecordedCall, type RecordedResource } from "../../../operator/src/provision/planMocks.ts";
import { runUnderMocks } from "../../../operator/src/provision/planRun.ts";
import { costTags } from "../../../pulumi/tags.ts";

/** A registration as the engine saw it: the mocks' record plus the resource options mocks hide. */
export interface Registered extends RecordedResource {
  retainOnDelete: boolean;
  protect: boolean;
}

export interface ProgramRun {
  resources: Registered[];
  calls: RecordedCall[];
  outputs: Record<string, unknown>;
  /** Providers' defaultTags by the reference resources carry. */
  providerTags(reference: string | undefined): Record<string, string>;
}

/** What the engine's registerResource request exposes (MockMonitor drops the options before calling the mocks). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getRetainondelete(): boolean;
  getProtect(): boolean;
}

/** Runs a program under the plan's mocks, as the plan adapter does, and returns every registration. */
export async function runProgram(program: () => Promise<Record<string, unknown>> | Record<string, unknown>, region = "eu-west-1"): Promise<ProgramRun> {
  const recorder = new PlanRecorder(region);
  const options = new Map<string, { retainOnDelete: boolean; protect: boolean }>();
  const outputs = await runUnderMocks(pulumi, recorder, async () => program(), {
    project: "landlord",
    stack: "test",
    // Test-only peek at the resource options, which MockMonitor drops before calling the mocks.
    onMonitor: (m) => {
      const monitor = m as { registerResource(req: RegisterRequest, cb: unknown): unknown };
      const register = monitor.registerResource.bind(monitor);
      monitor.registerResource = (req, cb) => {
        options.set(`${req.getType()}::${req.getName()}`, { retainOnDelete: req.getRetainondelete(), protect: req.getProtect() });
        return register(req, cb);
      };
    },
  });
  return {
    resources: recorder.resources.map((r) => ({ ...r, ...(options.get(`${r.type}::${r.name}`) ?? { retainOnDelete: false, protect: false }) })),
    calls: recorder.calls,
    outputs,
    providerTags: (reference) => recorder.tagsOfProvider(reference),
  };
}

/** AWS resources only: not the stack component, not providers. */
export const cloudResources = (run: ProgramRun): Registered[] =>
  run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:"));
export const providers = (run: ProgramRun): Registered[] => run.resources.filter((r) => r.type === "pulumi:providers:aws");

export function only(run: ProgramRun, type: string): Registered {
  const found = run.resources.filter((r) => r.type === type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Every key at any depth of a value, JSON-decoding strings that hold objects (provider inputs). */
export function allKeys(value: unknown, keys: string[] = []): string[] {
  if (typeof value === "string" && /^[[{]/.test(value)) {
    try {
      return allKeys(JSON.parse(value) as unknown, keys);
    } catch {
      return keys;
    }
  }
  if (Array.isArray(value)) value.forEach((v) => allKeys(v, keys));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      keys.push(k);
      allKeys(v, keys);
    }
  }
  return keys;
}

export function request(overrides: Partial<StackRequest> & { tenantId?: string; kind?: StackRequest["kind"] } = {}): StackRequest {
  const tenantId = overrides.tenantId ?? "acme";
  const kind = overrides.kind ?? "database";
  return {
    tenantId,
    kind,
    tags: costTags({ tenantId, tier: kind, costCenter: "cc-1234", tags: { team: "growth" } }),
    database: { engine: "postgres", instanceClass: "db.t4g.medium", allocatedStorageGB: 50 },
    ...(kind === "account"
      ? {
          account: {
            organizationalUnitId: "ou-ab12-cdef3456",
            emailTemplate: "aws+{{tenantId}}@example.com",
            roleName: "OrganizationAccountAccessRole",
            email: `aws+${tenantId}@example.com`,
          },
        }
      : {}),
    deletionPolicy: "Retain",
    aws: { region: "eu-west-1" },
    ...overrides,
  };
}
