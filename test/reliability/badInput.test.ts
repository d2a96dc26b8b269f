import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placementPolicy, tenantPlacement, tenantPool } from "../../operator/src/api/v1alpha1/index.ts";
import { ApiError, type KubeObject } from "../../operator/src/kube/client.ts";
import { collectionPath, type Kind } from "../../operator/src/kube/resources.ts";
import { crdsDir } from "../../operator/src/local/paths.ts";
import { cluster, k } from "../integration/cluster.ts";
import { connect, sleep, takeSnapshot, tierReason, until, type TenantJson } from "./support/api.ts";
import { anyDocument, TIER_REASON, type Document } from "./support/documents.ts";
import { checkAlways } from "./support/invariants.ts";
import { launchOperator, type OperatorProcess } from "./support/operatorProcess.ts";

/**
 * Issue #10, fault 4: bad input. 1,000 generated TenantPlacement, TenantPool and PlacementPolicy
 * documents (support/documents.ts: each field usually valid, sometimes not) go to the real API
 * server. Every rejection must name the field, and name one the operator's own zod schema objects
 * to too; every document the API server accepts the zod schema must accept (the two are one
 * contract: the CRDs are generated from the zod schemas). The chart's admission policies (installed by the global setup)
 * answer too, and are told apart from the schema: a tier change without its reason is refused by
 * admission and accepted with one; a value of the wrong type is found by the stamp-actor policy
 * typing the object (a 403 naming the field, still a schema error zod must share). The accepted ones are then stored for real, pointed at each
 * other, and the operator — running all along — must reconcile each without crashing. Last,
 * objects that bypass validation (stored while a looser schema was installed) must get an
 * InvalidSpec condition, keep being served where they were, and still be deletable.
 */
const SEED = Number(process.env.LANDLORD_FUZZ_SEED ?? 1010);
const RUNS = Number(process.env.LANDLORD_FUZZ_RUNS ?? 1000);
const SCHEMAS: Record<Document["kind"], z.ZodType> = { TenantPlacement: tenantPlacement, TenantPool: tenantPool, PlacementPolicy: placementPolicy };
const SHORT: Record<Document["kind"], string> = { TenantPlacement: "t", TenantPool: "q", PlacementPolicy: "p" };
/** What a reconcile that threw on valid input looks like in the log: a bug, never a cluster answer. */
const PROGRAMMING_ERROR = /TypeError|ReferenceError|RangeError|SyntaxError|TagError|is not a function|Cannot read propert|is not iterable/;

interface Cause {
  field?: string;
  message?: string;
}

type Answer = { ok: true; object: KubeObject } | { ok: false; status: number; message: string; fields: string[] };

/** How the API server words a ValidatingAdmissionPolicy's refusal: the policy, then its message. */
const ADMISSION = /ValidatingAdmissionPolicy '([^']+)' with binding '[^']+' denied request: (.*)$/s;
/** The chart's MutatingAdmissionPolicy failing to type the object it would patch: a wrong type, named by its path. */
const TYPED_BY_ADMISSION = /policy 'landlord-stamp-actor' with binding 'landlord-stamp-actor' denied request: error applying patch: failed to convert original object to typed object: \.((?:spec|metadata)\S*): /;
/** Stamped by the chart's MutatingAdmissionPolicy on a change of spec.tier. */
const TIER_CHANGED_BY = "landlord.dev/tier-changed-by";
const annotations = (body: Record<string, unknown>): Record<string, string> => ((body.metadata as { annotations?: Record<string, string> }).annotations ?? {});

/** "spec.tiers[0].database" for zod's ["spec", "tiers", 0, "database"]. */
const apiPath = (path: readonly PropertyKey[]): string => path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
const related = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`) || b.startsWith(`${a}.`) || b.startsWith(`${a}[`);

describe("bad input", () => {
  const api = connect(cluster().kubeconfig);
  const run = `f${Date.now().toString(36)}`;
  const stored: Array<{ kind: Kind; name: string }> = [];
  let operator: OperatorProcess;
  let pid: number;

  async function send(body: Record<string, unknown>, dryRun: boolean): Promise<Answer> {
    try {
      const object = await api.client.request<KubeObject>({
        method: "POST",
        path: collectionPath(body.kind as Kind),
        query: { fieldManager: "fuzz", fieldValidation: "Strict", ...(dryRun ? { dryRun: "All" } : {}) },
        body,
      });
      return { ok: true, object };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const status = (error.body ?? {}) as { message?: string; details?: { causes?: Cause[] } };
      const message = status.message ?? error.message;
      const fields = new Set<string>();
      for (const cause of status.details?.causes ?? []) if (cause.field) fields.add(cause.field.replace(/^\./, ""));
      // The whole path (a tag key may hold dots and slashes), as the stamp-actor policy names it.
      const typed = TYPED_BY_ADMISSION.exec(message);
      if (typed) fields.add(typed[1] as string);
      for (const match of message.matchAll(/\b((?:spec|metadata)(?:\.[A-Za-z0-9_]+|\[\d+\])*)/g)) fields.add(match[1] as string);
      return { ok: false, status: error.status, message, fields: [...fields] };
    }
  }

  beforeAll(async () => {
    const { dir, operator: identity } = cluster();
    operator = await launchOperator({ kubeconfig: identity.kubeconfig, namespace: identity.namespace, logDir: dir }, ["--provisioner", "plan"]);
    await operator.waitReady();
    pid = operator.pid;
  });

  afterAll(async () => {
    const tenants = stored.filter((s) => s.kind === "TenantPlacement").map((s) => s.name);
    for (const name of tenants) await api.resources.delete("TenantPlacement", name).catch(() => undefined);
    await until(async () => ((await api.list("TenantPlacement")).some((t) => t.metadata.name.startsWith(run)) ? undefined : true), { timeoutMs: 120_000, what: "the fuzzed tenants to be gone" }).catch(
      (error: unknown) => process.stderr.write(`${String(error)}\n`),
    );
    for (const { kind, name } of stored.filter((s) => s.kind !== "TenantPlacement")) await api.resources.delete(kind, name).catch(() => undefined);
    await operator?.stop();
  }, 180_000);

  it("rejects every invalid document with a message naming the field, and accepts exactly what the operator's schema accepts", async () => {
    const accepted: Array<{ kind: Document["kind"]; body: Record<string, unknown> }> = [];
    const counts = { accepted: 0, rejected: 0, typedByAdmission: 0, admission: 0 };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyDocument, async (doc) => {
        const body = doc.build(`${run}-${SHORT[doc.kind]}${n++}`);
        let answer = await send(body, true);
        const refusal = answer.ok ? "" : answer.message;
        const admission = ADMISSION.exec(refusal);
        if (admission) {
          // Not a schema refusal: the API server asks the validating admission policies only about
          // what passed the schema. The one refusal a platform admin (the suite's admin is one) can
          // meet here is a tier change without its reason; with the reason the same document is accepted.
          counts.admission++;
          expect(admission[1], refusal).toBe("landlord-tenant-writes");
          expect(admission[2], refusal).toMatch(/^a change of spec\.tier needs a reason: set the annotation landlord\.dev\/tier-reason/);
          expect(doc.kind).toBe("TenantPlacement");
          expect(annotations(body)[TIER_REASON], "refused for a missing reason it had").toBeUndefined();
          expect((body.spec as Record<string, unknown>).tier, "refused for a tier change without spec.tier").toBeDefined();
          const metadata = body.metadata as Record<string, unknown>;
          metadata.annotations = { ...annotations(body), [TIER_REASON]: "fuzz: the reason the first try forgot" };
          answer = await send(body, true);
          expect(answer.ok, `refused even with a tier reason: ${JSON.stringify(answer)}`).toBe(true);
        }
        if (answer.ok) {
          counts.accepted++;
          // Judged as stored: the API server prunes a null where the schema allows none, and fills in defaults.
          const stored = SCHEMAS[doc.kind].safeParse(answer.object);
          const storedPaths = stored.success ? [] : stored.error.issues.map((issue) => `${apiPath(issue.path)}: ${issue.message}`);
          expect(stored.success, `the API server accepted and stored what zod rejects (${storedPaths.join("; ")}): ${JSON.stringify(answer.object.spec)}`).toBe(true);
          // A tier change accepted (the API server stamped who made it) came with its reason.
          const storedAnnotations = answer.object.metadata.annotations ?? {};
          if (storedAnnotations[TIER_CHANGED_BY] !== undefined) expect(storedAnnotations[TIER_REASON], `a tier change accepted without a reason: ${JSON.stringify(answer.object)}`).toMatch(/\S/);
          accepted.push({ kind: doc.kind, body });
          return;
        }
        const zod = SCHEMAS[doc.kind].safeParse(body);
        const zodPaths = zod.success ? [] : zod.error.issues.map((issue) => apiPath(issue.path));
        counts.rejected++;
        // A value of the wrong type is found before the schema's validation when the chart's
        // MutatingAdmissionPolicy (stamp-actor) converts the object to the CRD's types to apply its
        // patch: a 403 from that policy, naming the field like the schema would. Any other answer is a 400 or 422.
        const typedByAdmission = TYPED_BY_ADMISSION.test(answer.message);
        if (typedByAdmission) counts.typedByAdmission++;
        expect(typedByAdmission ? [403] : [400, 422], answer.message).toContain(answer.status);
        // The message names at least one field, and one zod objects to as well.
        expect(answer.fields.length, `no field named in: ${answer.message}`).toBeGreaterThan(0);
        expect(answer.fields.some((f) => answer.message.includes(f)), answer.message).toBe(true);
        expect(zod.success, `zod accepts what the API server rejected (${answer.message}): ${JSON.stringify(body)}`).toBe(false);
        expect(answer.fields.some((f) => zodPaths.some((z) => related(f, z))), `API fields ${answer.fields.join(", ")} vs zod ${zodPaths.join(", ")}: ${answer.message}`).toBe(true);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    process.stderr.write(`fuzz: ${counts.accepted} accepted, ${counts.rejected} rejected by the schema (${counts.typedByAdmission} of them a wrong type found by the stamp-actor policy), ${counts.admission} refused by admission for a missing tier reason, then accepted with one (seed ${SEED})\n`);
    // Both sides were exercised in earnest.
    expect(counts.accepted).toBeGreaterThan(RUNS * 0.1);
    expect(counts.rejected).toBeGreaterThan(RUNS * 0.3);
    // The admission branch too (about one document in 140 forgets its tier reason; 7 at the default seed).
    if (RUNS >= 1000) expect(counts.admission).toBeGreaterThan(0);

    // Stored for real: pools and policies first, then tenants pointed at them (or at none).
    const pools = accepted.filter((a) => a.kind === "TenantPool");
    const policies = accepted.filter((a) => a.kind === "PlacementPolicy");
    for (const { body } of [...pools, ...policies]) {
      const answer = await send(body, false);
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      stored.push({ kind: body.kind as Kind, name: (body.metadata as { name: string }).name });
    }
    const nameOf = (list: typeof pools, i: number): string | undefined => (list.length > 0 ? ((list[i % list.length]?.body.metadata as { name: string }).name) : undefined);
    let i = 0;
    for (const { body } of accepted.filter((a) => a.kind === "TenantPlacement")) {
      const spec = body.spec as Record<string, unknown>;
      // Two in three point at a fuzzed pool and policy; the rest keep theirs (which do not exist here).
      if (i % 3 !== 2) Object.assign(spec, { pool: nameOf(pools, i) ?? spec.pool, policyRef: nameOf(policies, i) ?? spec.policyRef });
      i++;
      const answer = await send(body, false);
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      stored.push({ kind: "TenantPlacement", name: (body.metadata as { name: string }).name });
    }

    // Each is reconciled to an answer: served (Ready), or saying in a Degraded condition why not
    // (no such pool, no room, no stack settings, a value Kubernetes refuses) — never silence.
    const tenants = new Set(stored.filter((s) => s.kind === "TenantPlacement").map((s) => s.name));
    const answered = (t: TenantJson): boolean =>
      t.status?.observedGeneration === t.metadata.generation && (t.status?.conditions ?? []).some((c) => (c.type === "Ready" || c.type === "Degraded") && c.status === "True");
    let unanswered: TenantJson[] = [];
    await until(async () => {
      unanswered = (await api.list<TenantJson>("TenantPlacement")).filter((t) => tenants.has(t.metadata.name) && !answered(t));
      return unanswered.length === 0 ? true : undefined;
    }, { timeoutMs: 180_000, what: "every fuzzed tenant to be served or to say why not", everyMs: 1_000, describe: () => unanswered.slice(0, 3).map((t) => `${t.metadata.name} ${JSON.stringify(t.spec)} → ${JSON.stringify(t.status)}`).join("\n") });
    const reasons = new Map<string, number>();
    for (const t of await api.list<TenantJson>("TenantPlacement")) {
      if (!tenants.has(t.metadata.name)) continue;
      const degraded = t.status?.conditions?.find((c) => c.type === "Degraded" && c.status === "True");
      const key = degraded ? degraded.reason : "Served";
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    process.stderr.write(`fuzz: tenant outcomes ${JSON.stringify(Object.fromEntries(reasons))}\n`);
    const poolNames = new Set(pools.map((p) => (p.body.metadata as { name: string }).name));
    await until(
      async () => ((await api.list("TenantPool")).filter((p) => poolNames.has(p.metadata.name)).every((p) => (p.status as { observedGeneration?: number } | undefined)?.observedGeneration === p.metadata.generation) ? true : undefined),
      { timeoutMs: 60_000, what: "every fuzzed pool to be reconciled" },
    );

    // …by the same process, still healthy, and no reconcile threw a programming error.
    expect(operator.pid).toBe(pid);
    expect(operator.alive()).toBe(true);
    expect(await operator.healthy()).toBe(true);
    const failures = operator.logs().split("\n").filter((line) => line.includes("Reconcile failed"));
    expect(failures.filter((line) => PROGRAMMING_ERROR.test(line))).toEqual([]);
    process.stderr.write(`fuzz: stored ${pools.length} pools, ${policies.length} policies, ${tenants.size} tenants; ${failures.length} reconcile failures logged (API answers)\n`);
  }, 600_000);

  it("marks objects stored before a stricter schema InvalidSpec, keeps them served where they were and still deletes them", async () => {
    const crdFile = join(crdsDir, "tenantplacements.landlord.dev.yaml");
    const strict = parseYaml(readFileSync(crdFile, "utf8")) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Record<string, unknown> & { properties: Record<string, unknown> } } }> } };
    const pool = `${run}-legacy`;
    await api.apply({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPool", metadata: { name: pool }, spec: { namespacePrefix: `${run}-legacy`, capacity: { maxTenants: 10, cpu: "10", memory: "10Gi" } } });
    stored.push({ kind: "TenantPool", name: pool });
    const names = { served: `${run}-served`, pooled: `${run}-pooled`, bad: `${run}-bad`, typed: `${run}-typed` };
    const tp = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: "landlord.dev/v1alpha1",
      kind: "TenantPlacement",
      metadata: { name, ...(spec.tier === undefined ? {} : { annotations: tierReason(`legacy: ${name}`) }) },
      spec: { tenantId: name, pool, ...spec },
    });
    await api.apply(tp(names.served, { costCenter: "cc-1", tier: { mode: "Pinned", pinned: "namespace" } }));
    await api.apply(tp(names.pooled, { costCenter: "cc-1" }));
    for (const name of Object.values(names)) stored.push({ kind: "TenantPlacement", name });
    await until(async () => {
      const [served, pooled] = await Promise.all([api.resources.get<TenantJson>("TenantPlacement", names.served), api.resources.get<TenantJson>("TenantPlacement", names.pooled)]);
      return served?.status?.tier === "namespace" && served.status.phase === "Active" && pooled?.status?.tier === "pooled" && pooled.status.phase === "Active" ? true : undefined;
    }, { timeoutMs: 60_000, what: "the two tenants served" });

    // An older, looser CRD: spec is anything. Objects stored meanwhile skip today's rules.
    const loose = structuredClone(strict);
    const schema = loose.spec.versions[0]?.schema.openAPIV3Schema as Record<string, unknown> & { properties: Record<string, unknown> };
    schema.properties.spec = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    delete schema["x-kubernetes-validations"];
    const applyCrd = (crd: unknown): Promise<string> => k(["apply", "--server-side", "--force-conflicts", "--field-manager=landlord-install", "-f", "-"], JSON.stringify(crd));
    // …and older than the chart's admission policies: the stamp-actor policy types every object it
    // might patch by the CRD's schema, so with it bound a value of the wrong type never gets in.
    const stampBinding = JSON.parse(await k(["get", "mutatingadmissionpolicybinding", "landlord-stamp-actor", "-o", "json"])) as KubeObject;
    const { name: bindingName, labels: bindingLabels } = stampBinding.metadata;
    try {
      await applyCrd(loose);
      await until(async () => ((await send(tp(names.bad, { costCenter: "not a label value!", tier: { mode: "Pinned" } }), false)).ok ? true : undefined), { timeoutMs: 30_000, what: "the loose schema to take effect" });
      await api.merge("TenantPlacement", names.served, { spec: { costCenter: "has spaces" } });
      await api.merge("TenantPlacement", names.pooled, { metadata: { annotations: tierReason("legacy: bounds the wrong way round") }, spec: { tier: { floor: "account", ceiling: "pooled" } } });
      await k(["delete", "mutatingadmissionpolicybinding", "landlord-stamp-actor"]);
      let typed: Answer | undefined;
      await until(async () => ((typed = await send(tp(names.typed, { costCenter: 42, deletionPolicy: ["Delete"] }), false)).ok ? true : undefined), { timeoutMs: 30_000, what: "a wrongly typed tenant stored", describe: () => JSON.stringify(typed) });
    } finally {
      await k(["apply", "--server-side", "--force-conflicts", "--field-manager=landlord-install", "-f", "-"], JSON.stringify({ ...stampBinding, metadata: { name: bindingName, labels: bindingLabels } }));
      await applyCrd(strict);
      await until(async () => ((await send(tp(`${run}-probe`, { costCenter: "not a label value!" }), true)).ok ? undefined : true), { timeoutMs: 30_000, what: "the strict schema to be back" });
      let probe: Answer | undefined;
      await until(async () => {
        probe = await send(tp(`${run}-probe`, { costCenter: "cc-1", tier: { mode: "Pinned", pinned: "namespace" } }), true);
        return probe.ok && probe.object.metadata.annotations?.[TIER_CHANGED_BY] !== undefined ? true : undefined;
      }, { timeoutMs: 30_000, what: "the stamp-actor policy to be bound again", describe: () => JSON.stringify(probe) });
    }

    const invalid = async (name: string): Promise<TenantJson> =>
      until(async () => {
        const t = await api.resources.get<TenantJson>("TenantPlacement", name);
        return t?.status?.conditions?.some((c) => c.type === "Degraded" && c.reason === "InvalidSpec") ? t : undefined;
      }, { timeoutMs: 30_000, what: `${name}: an InvalidSpec condition` });
    const condition = (t: TenantJson, type: string) => t.status?.conditions?.find((c) => c.type === type);
    const [bad, typed, served, pooled] = await Promise.all([invalid(names.bad), invalid(names.typed), invalid(names.served), invalid(names.pooled)]);
    expect(condition(bad, "Degraded")?.message).toMatch(/spec\.costCenter/);
    expect(condition(bad, "Degraded")?.message).toMatch(/spec\.tier\.pinned/);
    expect(condition(typed, "Degraded")?.message).toMatch(/spec\.costCenter/);
    expect(condition(typed, "Degraded")?.message).toMatch(/spec\.deletionPolicy/);
    for (const never of [bad, typed]) {
      expect(never.status?.tier).toBeUndefined();
      expect(condition(never, "Ready")).toMatchObject({ status: "False", reason: "InvalidSpec" });
    }
    // Not acted on, but not abandoned: still served where they were.
    expect(served.status).toMatchObject({ tier: "namespace", namespace: `tenant-${names.served}` });
    expect(condition(served, "Ready")).toMatchObject({ status: "True", reason: "InvalidSpec" });
    expect(condition(served, "Degraded")?.message).toMatch(/spec\.costCenter/);
    expect(pooled.status?.tier).toBe("pooled");
    expect(condition(pooled, "Degraded")?.message).toMatch(/spec\.tier/);
    // Past any safety-net poll a reconcile scheduled before the spec went bad (5 s)…
    await sleep(6_000);
    // …the pool reconciles (an annotation wakes it) and must leave the invalid tenant's seat alone.
    await api.merge("TenantPool", pool, { metadata: { annotations: { "reliability.landlord.dev/poke": String(Date.now()) } } });
    await sleep(3_000);
    const scope = { owns: (id: string) => Object.values(names).includes(id), requested: new Map<string, string[]>(), pool };
    expect(checkAlways(await takeSnapshot(api), scope).violations).toEqual([]);

    // No crash loop: one process, and an InvalidSpec reconcile is not retried on its own.
    const failuresOf = (): number => operator.logs().split("\n").filter((line) => line.includes("Reconcile failed") && Object.values(names).some((n) => line.includes(`"tenant":"${n}"`))).length;
    const before = failuresOf();
    await sleep(5_000);
    expect(failuresOf()).toBe(before);
    expect(operator.pid).toBe(pid);
    expect(await operator.healthy()).toBe(true);

    // Still deletable: the finalizer runs and releases the namespace and the seat.
    for (const name of Object.values(names)) await api.resources.delete("TenantPlacement", name);
    await until(async () => ((await api.list("TenantPlacement")).some((t) => Object.values(names).includes(t.metadata.name)) ? undefined : true), { timeoutMs: 60_000, what: "the invalid tenants to be deleted" });
    const namespace = await api.resources.get("Namespace", `tenant-${names.served}`);
    expect(namespace === undefined || namespace.metadata.deletionTimestamp !== undefined).toBe(true);
    expect(checkAlways(await takeSnapshot(api), scope).violations).toEqual([]);
  }, 240_000);
});
