import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../operator/src/kube/client.ts";
import { compareVersions, ObjectStore, TOMBSTONE_TTL_MS, type Cached } from "../../../operator/src/kube/store.ts";

const job = (name: string, resourceVersion?: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name, namespace: "tenant-acme", ...(resourceVersion ? { resourceVersion } : {}), labels: { "landlord.dev/tenant": "acme", ...labels } },
});

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("the store's tombstones", () => {
  it("keep a deleted object from coming back as an older copy, until they expire", () => {
    const clock = fakeClock();
    const store = new ObjectStore({ clock });
    store.upsert("Job", job("m1", "10"));
    store.remove("Job", job("m1", "11"));
    // The answer to a write made before the deletion, arriving after it.
    store.upsert("Job", job("m1", "10"));
    expect(store.get("Job", "m1", "tenant-acme")).toBeUndefined();
    expect(store.tombstoneCount()).toBe(1);

    clock.advance(TOMBSTONE_TTL_MS - 1);
    expect(store.tombstoneCount()).toBe(1);
    clock.advance(1);
    expect(store.tombstoneCount()).toBe(0);
  });

  it("let a re-created object (a newer version) in at once", () => {
    const store = new ObjectStore({ clock: fakeClock() });
    store.upsert("Job", job("m1", "10"));
    store.remove("Job", job("m1", "11"));
    store.upsert("Job", job("m1", "12"));
    expect(store.get("Job", "m1", "tenant-acme")?.metadata.resourceVersion).toBe("12");
    expect(store.tombstoneCount()).toBe(0);
  });

  it("stay bounded over many create/delete cycles: only those younger than the TTL are kept", () => {
    const clock = fakeClock();
    const store = new ObjectStore({ clock, tombstoneTtlMs: 60_000 });
    for (let i = 0; i < 1_000; i++) {
      store.upsert("Job", job(`m${i}`, String(2 * i + 1)));
      store.remove("Job", job(`m${i}`, String(2 * i + 2)));
      clock.advance(1_000);
    }
    expect(store.count("Job")).toBe(0);
    // Recorded once a second, the clock a second past the last: those of the last 59 s are left.
    expect(store.tombstoneCount()).toBe(59);
    // Without expiry (the store before issue 16) every one stayed.
    const forever = new ObjectStore({ clock: fakeClock(), tombstoneTtlMs: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 1_000; i++) forever.remove("Job", job(`m${i}`, String(i + 1)));
    expect(forever.tombstoneCount()).toBe(1_000);
  });

  it("expire in the order they were recorded, a tombstone set again counting from its new time", () => {
    const clock = fakeClock();
    const store = new ObjectStore({ clock, tombstoneTtlMs: 100 });
    store.remove("Job", job("a", "1"));
    clock.advance(50);
    store.remove("Job", job("b", "2"));
    store.remove("Job", job("a", "3"));
    clock.advance(60);
    expect(store.tombstoneCount()).toBe(2);
    clock.advance(50);
    expect(store.tombstoneCount()).toBe(0);
  });
});

describe("the store's version order", () => {
  it("orders integer versions of kinds the API orders, and nothing else", () => {
    expect(compareVersions(true, "9", "10")).toBe(-1);
    expect(compareVersions(true, "10", "10")).toBe(0);
    expect(compareVersions(true, "100000000000000000001", "99")).toBe(1);
    // Not a well-formed version (client-go's CompareResourceVersion refuses these too), or an unordered kind.
    for (const [a, b] of [["010", "9"], ["0", "1"], ["abc", "1"], [undefined, "1"], ["1.5", "2"]] as const) expect(compareVersions(true, a, b), `${a} ${b}`).toBeUndefined();
    expect(compareVersions(false, "9", "10")).toBeUndefined();
  });

  it("keeps the newer copy of an ordered kind whatever the arrival order", () => {
    const store = new ObjectStore();
    store.upsert("Job", job("m1", "20", { v: "new" }));
    store.upsert("Job", job("m1", "19", { v: "old" }));
    expect(store.get("Job", "m1", "tenant-acme")?.metadata.labels?.v).toBe("new");
  });

  it("takes a different version as newer by arrival where versions cannot be ordered", () => {
    const store = new ObjectStore({ orderedKinds: new Set() });
    store.upsert("Job", job("m1", "20", { v: "first" }));
    store.upsert("Job", job("m1", "19", { v: "second" }));
    expect(store.get("Job", "m1", "tenant-acme")?.metadata.labels?.v).toBe("second");
    // The deleted copy arriving again is still refused: its version is the tombstone's.
    store.remove("Job", job("m1", "19"));
    store.upsert("Job", job("m1", "19", { v: "late" }));
    expect(store.get("Job", "m1", "tenant-acme")).toBeUndefined();
    store.upsert("Job", job("m1", "abc", { v: "recreated" }));
    expect(store.get("Job", "m1", "tenant-acme")?.metadata.labels?.v).toBe("recreated");
  });

  it("after a re-list, removes an unlisted object it cannot order against the list", () => {
    const store = new ObjectStore({ orderedKinds: new Set() });
    store.upsert("Job", job("gone", "5"));
    store.removeUnlisted("Job", new Set(), "4");
    expect(store.count("Job")).toBe(0);
    const ordered = new ObjectStore();
    ordered.upsert("Job", job("mine", "5"));
    ordered.removeUnlisted("Job", new Set(), "4");
    expect(ordered.count("Job")).toBe(1);
  });
});

describe("cached objects are read-only", () => {
  it("in the type system, at every depth", () => {
    const store = new ObjectStore();
    store.upsert("Job", job("m1", "1"));
    const cached = store.get("Job", "m1", "tenant-acme") as Cached;
    const mutate = (): void => {
      // @ts-expect-error a cached object's metadata is shared by every reader
      cached.metadata = { name: "x" };
      // @ts-expect-error nor may a label be changed in place
      cached.metadata.labels["landlord.dev/tenant"] = "victim";
      // @ts-expect-error nor a field deleted
      delete cached.metadata.labels;
      const listed = store.list("Job")[0] as Cached;
      // @ts-expect-error the same through list()
      listed.status = {};
      const indexed = store.byLabel("Job", "landlord.dev/tenant", "acme")[0] as Cached;
      // @ts-expect-error and through byLabel()
      indexed.metadata.annotations = {};
    };
    // Only compiled, never run: what runs is the copy a caller makes first.
    expect(typeof mutate).toBe("function");
    const copy = { ...cached, metadata: { ...cached.metadata, labels: { ...cached.metadata.labels, extra: "1" } } };
    expect(copy.metadata.labels.extra).toBe("1");
    expect(store.get("Job", "m1", "tenant-acme")?.metadata.labels).not.toHaveProperty("extra");
  });
});

describe("the store's cached objects", () => {
  it("are frozen under npm test, so a change in place throws where it is made", () => {
    expect(process.env.LANDLORD_FREEZE_CACHE).toBe("1");
    const store = new ObjectStore();
    store.upsert("TenantPlacement", { apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name: "acme", resourceVersion: "1", finalizers: ["a"] }, spec: { tags: { team: "x" } } });
    const cached = store.get<KubeObject & { spec: { tags: Record<string, string> } }>("TenantPlacement", "acme");
    // What the types cannot stop: a push into an array, a write through a cast.
    expect(() => (cached?.metadata.finalizers as string[]).push("b")).toThrow(TypeError);
    expect(() => {
      (cached?.spec.tags as Record<string, string>).team = "y";
    }).toThrow(TypeError);
    expect(store.get("TenantPlacement", "acme")?.metadata.finalizers).toEqual(["a"]);
  });

  it("are left as they are when freezing is off (production and the bench)", () => {
    const store = new ObjectStore({ freeze: false });
    store.upsert("Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "n", resourceVersion: "1" } });
    expect(Object.isFrozen(store.get("Namespace", "n"))).toBe(false);
  });
});
