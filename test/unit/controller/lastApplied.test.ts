import { describe, expect, it } from "vitest";
import pino from "pino";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import type { Resources } from "../../../operator/src/kube/resources.ts";
import { ObjectStore } from "../../../operator/src/kube/store.ts";
import { namespaceTierObjects } from "../../../operator/src/controller/children.ts";
import { applyIfChanged, type ControllerContext } from "../../../operator/src/controller/context.ts";
import { APPLIED_HASH_ANNOTATION } from "../../../operator/src/api/labels.ts";
import { alreadyApplied, appliedHash, withAppliedHash } from "../../../operator/src/controller/lastApplied.ts";

/**
 * The API server's side of an apply, as far as these tests need it: the applied object comes back
 * with a new resourceVersion and its quota quantities normalised ("0.5" → "500m"), the way the real
 * one answers (the integration test in test/integration/removals.test.ts checks the real one).
 */
function fakeCluster() {
  const applied: KubeObject[] = [];
  let version = 1;
  const normalise = (object: KubeObject): KubeObject => {
    const hard = (object.spec as { hard?: Record<string, string> } | undefined)?.hard;
    if (!hard) return object;
    const normalised = Object.fromEntries(Object.entries(hard).map(([k, v]) => [k, v === "0.5" ? "500m" : v]));
    return { ...object, spec: { ...(object.spec as object), hard: normalised } };
  };
  const resources = {
    async apply<T extends KubeObject>(object: KubeObject): Promise<T> {
      applied.push(object);
      return normalise({ ...structuredClone(object), metadata: { ...structuredClone(object.metadata), resourceVersion: String(++version) } }) as T;
    },
    async get() {
      return undefined;
    },
  } as unknown as Resources; // Only apply and get are reached by applyIfChanged.
  const store = new ObjectStore();
  const ctx = { store, resources, log: pino({ level: "silent" }) } as unknown as ControllerContext; // applyIfChanged reads only these.
  return { ctx, store, applied };
}

const tenant = (tags: Record<string, string>) => ({ tenantId: "acme", costCenter: "cc-1", tags });
const children = (tags: Record<string, string>, quota: Record<string, string> = { cpu: "0.5", memory: "1Gi" }) =>
  namespaceTierObjects({ tenant: tenant(tags), quota, owner: "uid-acme", admins: [{ kind: "Group", name: "acme-admins" }] });

async function applyAll(ctx: ControllerContext, objects: KubeObject[]): Promise<number> {
  let writes = 0;
  for (const object of objects) if ((await applyIfChanged(ctx, object)).changed) writes++;
  return writes;
}

describe("applies compare against what Landlord last applied", () => {
  it("writes each object once, then nothing while the desired objects stay the same", async () => {
    const { ctx, applied } = fakeCluster();
    const objects = children({ team: "growth", project: "x1" });
    expect(await applyAll(ctx, objects)).toBe(objects.length);
    expect(await applyAll(ctx, children({ team: "growth", project: "x1" }))).toBe(0);
    expect(applied.every((o) => o.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== undefined)).toBe(true);
  });

  it("re-applies every object when a tag is removed, without the tag's label", async () => {
    const { ctx, applied } = fakeCluster();
    await applyAll(ctx, children({ team: "growth", project: "x1" }));
    applied.length = 0;
    const fewer = children({ team: "growth" });
    // The removed label is a subset-wise no-op: only the hash sees it.
    expect(await applyAll(ctx, fewer)).toBe(fewer.length);
    for (const object of applied) {
      expect(object.metadata.labels?.["tags.landlord.dev/team"], object.kind).toBe("growth");
      expect(object.metadata.labels, object.kind).not.toHaveProperty("tags.landlord.dev/project");
    }
  });

  it("re-applies the quota when a quota field is removed, and the RoleBinding when an admin is", async () => {
    const { ctx, applied } = fakeCluster();
    await applyAll(ctx, namespaceTierObjects({ tenant: tenant({}), quota: { cpu: "0.5", memory: "1Gi" }, owner: "u", admins: [{ kind: "Group", name: "a" }, { kind: "User", name: "b" }] }));
    applied.length = 0;
    await applyAll(ctx, namespaceTierObjects({ tenant: tenant({}), quota: { cpu: "0.5" }, owner: "u", admins: [{ kind: "Group", name: "a" }] }));
    expect(applied.map((o) => o.kind).sort()).toEqual(["ResourceQuota", "RoleBinding"]);
    expect((applied.find((o) => o.kind === "ResourceQuota")?.spec as { hard: Record<string, string> }).hard).toEqual({ "requests.cpu": "0.5" });
  });

  it("repairs drift in a field it sets although the hash still matches", async () => {
    const { ctx, store } = fakeCluster();
    await applyAll(ctx, children({ team: "growth" }));
    const ns = store.get("Namespace", "tenant-acme") as KubeObject;
    store.upsert("Namespace", { ...ns, metadata: { ...ns.metadata, resourceVersion: "100", labels: { ...ns.metadata.labels, "tags.landlord.dev/team": "other" } } });
    expect(await applyAll(ctx, children({ team: "growth" }))).toBe(1);
  });

  it("compares quantities by value in a quota, and strings as strings elsewhere", () => {
    const [ns, quota] = children({ release: "1.10" }) as [KubeObject, KubeObject];
    const served = (object: KubeObject, patch: (o: KubeObject) => void): KubeObject => {
      const copy = structuredClone(withAppliedHash(object));
      patch(copy);
      return copy;
    };
    expect(alreadyApplied(quota, served(quota, (o) => ((o.spec as { hard: Record<string, string> }).hard["requests.cpu"] = "500m")))).toBe(true);
    expect(alreadyApplied(ns, served(ns, (o) => ((o.metadata.labels as Record<string, string>)["tags.landlord.dev/release"] = "1.1")))).toBe(false);
  });

  it("does not let an edited hash annotation stop the apply, nor count the annotation in the hash", () => {
    const [ns] = children({ team: "growth" }) as [KubeObject];
    const stamped = withAppliedHash(ns);
    expect(appliedHash(stamped)).toBe(appliedHash(ns));
    expect(alreadyApplied(ns, stamped)).toBe(true);
    const edited = { ...stamped, metadata: { ...stamped.metadata, annotations: { ...stamped.metadata.annotations, [APPLIED_HASH_ANNOTATION]: "forged" } } };
    expect(alreadyApplied(ns, edited)).toBe(false);
    // Key order is not part of the hash: the API server returns keys in its own order.
    const reordered = { metadata: ns.metadata, kind: ns.kind, apiVersion: ns.apiVersion };
    expect(appliedHash(reordered)).toBe(appliedHash(ns));
  });
});
