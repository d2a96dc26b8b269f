import fc from "fast-check";

/**
 * fast-check generators of TenantPlacement, TenantPool and PlacementPolicy documents that are
 * "valid-ish": every field is usually valid and sometimes not (a wrong type, a bad format, a broken
 * cross-field rule, an unknown field, a missing required one), so about a third of the documents
 * are valid and the rest are wrong in one or a few places. Names are filled in when a document is
 * sent (`name`), so shrinking keeps them unique.
 */

export interface Document {
  kind: "TenantPlacement" | "TenantPool" | "PlacementPolicy";
  /** The document for a given object name. */
  build(name: string): Record<string, unknown>;
  /** A short description for failure messages. */
  summary: string;
}

const API_VERSION = "landlord.dev/v1alpha1";
/** The annotation the chart's admission policy requires with every change of spec.tier. */
export const TIER_REASON = "landlord.dev/tier-reason";

/** Mostly `valid`, one time in `1 + weight` something from `invalid` (weighted so that about a third of the documents are valid). */
function mostly<T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>, weight = 20): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight }, { arbitrary: invalid, weight: 1 });
}

/** An optional member: absent a third of the time (fast-check's freq is one in freq). */
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });

/** Drops undefined members, so absent means absent in the JSON. */
function compact(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
const objectName = mostly(fc.constantFrom("standard", "default", "gold", "eu-west"), fc.constantFrom("Bad_Name", "-x", "a..b", 7));
const labelValue = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,12}[A-Za-z0-9])?$/);
const tier = mostly(fc.constantFrom("pooled", "namespace", "database", "account"), fc.constantFrom("platinum", "", "Pooled", 2));
const quantity = mostly(
  fc.oneof(fc.constantFrom("250m", "2", "4Gi", "512Mi", "1.5", "0", "100M", "2e3"), fc.nat({ max: 1000 })),
  fc.constantFrom("-1", "abc", "1.5.2", "2 Gi", -3, true, 1.5),
);
const quota = fc.record({ cpu: maybe(quantity), memory: maybe(quantity), storage: maybe(quantity), pods: maybe(quantity) }).map(compact);
const duration = mostly(fc.constantFrom("0s", "30s", "5m", "1h", "24h", "1h30m", "720h", "500ms"), fc.constantFrom("soon", "-1h", "1d", "5 minutes", "", 60));
const signalName = mostly(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/), fc.constantFrom("1abc", "bad-name", "", "x".repeat(64)));
const tagKey = mostly(fc.constantFrom("team", "owner", "example.com/env", "cost_code", "a.b"), fc.constantFrom("aws:createdBy", "landlord.dev/tenant", "bad key", "x/y/z", ""));
const tagValue = mostly(labelValue, fc.constantFrom("bad value", "x".repeat(64), "-lead", 3));
/** Free text, ASCII or not: a length limit counts characters, whatever their encoding. */
const text = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 10 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 5 },
  { arbitrary: fc.string({ minLength: 250, maxLength: 270 }), weight: 1 },
);
/** floor ≤ ceiling usually; the other way round (a broken cross-field rule) now and then. */
const floorCeiling = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 30 }))
  .map(([a, b, flip]) => {
    const tiers = ["pooled", "namespace", "database", "account"];
    const [low, high] = flip === 0 ? [Math.max(a, b), Math.min(a, b)] : [Math.min(a, b), Math.max(a, b)];
    return { floor: tiers[low], ceiling: tiers[high] };
  });

/** Now and then a field no schema knows. */
const extraField = fc.oneof({ arbitrary: fc.constant(undefined), weight: 40 }, { arbitrary: fc.constant({ unexpected: true }), weight: 1 });

export const tenantDocument: fc.Arbitrary<Document> = fc
  .record({
    tenantIdMatches: fc.oneof({ arbitrary: fc.constant(true), weight: 12 }, { arbitrary: fc.constant(false), weight: 1 }),
    displayName: maybe(text),
    costCenter: fc.option(mostly(labelValue, fc.constantFrom("", "bad value", "x".repeat(64), 42)), { nil: undefined, freq: 40 }),
    tags: maybe(fc.dictionary(tagKey as fc.Arbitrary<string>, tagValue, { maxKeys: 4 })),
    policyRef: maybe(objectName),
    pool: maybe(objectName),
    tier: maybe(
      fc
        .record({
          mode: maybe(mostly(fc.constantFrom("Auto", "Pinned"), fc.constantFrom("Sometimes", "auto"))),
          pinned: fc.option(tier, { nil: undefined, freq: 30 }),
          bounds: maybe(floorCeiling),
        })
        .map((t) => compact({ mode: t.mode, pinned: t.pinned, ...t.bounds })),
    ),
    quota: maybe(quota),
    reportedSignals: maybe(fc.dictionary(signalName as fc.Arbitrary<string>, mostly(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }), fc.constantFrom("lots", null)), { maxKeys: 3 })),
    admins: maybe(
      fc.array(
        fc
          .record({
            kind: mostly(fc.constantFrom("User", "Group", "ServiceAccount"), fc.constantFrom("Robot", "user")),
            name: mostly(fc.stringMatching(/^[a-z][a-z0-9@.-]{0,20}$/), fc.constant("")),
            namespace: fc.option(dnsLabel, { nil: undefined, freq: 30 }),
          })
          .map(compact),
        { maxLength: 3 },
      ),
    ),
    deletionPolicy: maybe(mostly(fc.constantFrom("Retain", "Snapshot", "Delete"), fc.constantFrom("Destroy", "retain"))),
    // A platform admin who sets spec.tier gives the reason the admission policy asks for; now and
    // then one forgets it (admission, not the schema, refuses that).
    tierReason: fc.oneof({ arbitrary: fc.constant(true), weight: 12 }, { arbitrary: fc.constant(false), weight: 1 }),
    extra: extraField,
  })
  .map((g) => ({
    kind: "TenantPlacement" as const,
    summary: JSON.stringify(g),
    build: (name: string) => ({
      apiVersion: API_VERSION,
      kind: "TenantPlacement",
      metadata: compact({ name, annotations: g.tier !== undefined && g.tierReason ? { [TIER_REASON]: `fuzz: ${name}` } : undefined }),
      spec: compact({
        tenantId: g.tenantIdMatches ? name : `${name}-other`,
        displayName: g.displayName,
        costCenter: g.costCenter,
        tags: g.tags,
        policyRef: g.policyRef,
        pool: g.pool,
        tier: g.tier,
        quota: g.quota,
        reportedSignals: g.reportedSignals,
        admins: g.admins,
        deletionPolicy: g.deletionPolicy,
        ...g.extra,
      }),
    }),
  }));

export const poolDocument: fc.Arbitrary<Document> = fc
  .record({
    namespacePrefix: mostly(dnsLabel, fc.constantFrom("Pool_X", "-pool", "x".repeat(51), 12)),
    capacity: fc.option(
      fc
        .record({
          maxTenants: mostly(fc.integer({ min: 1, max: 500 }), fc.constantFrom(0, 10001, -1, "many", 2.5)),
          cpu: quantity,
          memory: quantity,
        })
        .map(compact),
      { nil: undefined, freq: 40 },
    ),
    tenantDefaults: maybe(quota),
    nodeSelector: maybe(fc.dictionary(tagKey as fc.Arbitrary<string>, mostly(labelValue, fc.constantFrom("bad value")), { maxKeys: 3 })),
    extra: extraField,
  })
  .map((g) => ({
    kind: "TenantPool" as const,
    summary: JSON.stringify(g),
    build: (name: string) => ({
      apiVersion: API_VERSION,
      kind: "TenantPool",
      metadata: { name },
      spec: compact({ namespacePrefix: g.namespacePrefix, capacity: g.capacity, tenantDefaults: g.tenantDefaults, nodeSelector: g.nodeSelector, ...g.extra }),
    }),
  }));

const source = mostly(
  fc.oneof(
    fc.constant({ reported: {} }),
    fc.constant({ prometheus: { query: 'sum(rate(http_requests_total{tenant="{{tenantId}}"}[5m]))' } }),
    fc.constantFrom({ kubernetes: { resource: "requests.cpu" } }, { kubernetes: { resource: "pods" } }),
  ),
  fc.constantFrom({}, { reported: {}, kubernetes: { resource: "pods" } }, { kubernetes: { resource: "bad resource!" } }),
);

function condition(signals: string[]): fc.Arbitrary<unknown> {
  const op = fc.constantFrom("gte", "gt", "lte", "lt");
  return fc
    .record({
      signal: mostly(fc.constantFrom(...(signals.length > 0 ? signals : ["monthlyRevenueUSD"])), fc.constant("undeclaredSignal")),
      share: maybe(fc.boolean()),
      op,
      second: fc.oneof({ arbitrary: fc.constant(undefined), weight: 30 }, { arbitrary: op, weight: 1 }),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      amount: fc.integer({ min: -10, max: 1_000_000 }),
      outOfRange: fc.integer({ min: 0, max: 30 }),
    })
    .map((c) => {
      // A share is a fraction of the pool total; now and then one is not.
      const value = c.share && c.outOfRange !== 0 ? c.fraction : c.amount;
      return compact({ signal: c.signal, share: c.share, [c.op]: value, ...(c.second && c.second !== c.op ? { [c.second]: value } : {}) });
    });
}

function when(signals: string[]): fc.Arbitrary<unknown> {
  const list = fc.array(condition(signals), { minLength: 1, maxLength: 3 });
  return mostly(fc.oneof(list.map((any) => ({ any })), list.map((all) => ({ all }))), fc.oneof(fc.constant({}), list.map((any) => ({ any, all: any }))));
}

const database = mostly(
  fc.record({
    engine: mostly(fc.constantFrom("postgres", "mysql"), fc.constant("oracle")),
    instanceClass: mostly(fc.constantFrom("db.t4g.medium", "db.r6g.large"), fc.constantFrom("t4g.medium", "db.T4G")),
    allocatedStorageGB: mostly(fc.integer({ min: 20, max: 200 }), fc.constantFrom(5, 70000, "fifty")),
  }),
  fc.constant({ engine: "postgres" }),
);
const account = mostly(
  fc.record({
    organizationalUnitId: mostly(fc.constantFrom("ou-ab12-cdef3456", "r-ab12"), fc.constantFrom("ou-x", "OU-AB12-CDEF3456")),
    emailTemplate: mostly(fc.constant("aws+{{tenantId}}@example.com"), fc.constantFrom("aws@example.com", "not-an-email-{{tenantId}}")),
  }),
  fc.constant({ organizationalUnitId: "ou-ab12-cdef3456" }),
);

function tierRule(signals: string[], tierName: string): fc.Arbitrary<unknown> {
  return fc
    .record({
      tier: mostly(fc.constant(tierName), fc.constantFrom("pooled", "gold")),
      promoteWhen: maybe(when(signals)),
      demoteWhen: maybe(when(signals)),
      quota: maybe(quota),
      database: tierName === "namespace" ? fc.oneof({ arbitrary: fc.constant(undefined), weight: 30 }, { arbitrary: database, weight: 1 }) : fc.option(database, { nil: undefined, freq: 30 }),
      account: tierName === "account" ? fc.option(account, { nil: undefined, freq: 30 }) : fc.oneof({ arbitrary: fc.constant(undefined), weight: 30 }, { arbitrary: account, weight: 1 }),
    })
    .map(compact);
}

/** Rules for distinct tiers (a list-map keyed by tier), now and then none at all. */
function tierRules(signals: string[]): fc.Arbitrary<unknown[]> {
  const none: string[] = [];
  return fc
    .subarray(["namespace", "database", "account"], { minLength: 0, maxLength: 3 })
    .chain((tiers): fc.Arbitrary<string[]> => (tiers.length === 0 ? fc.oneof({ arbitrary: fc.constant<string[]>(["namespace"]), weight: 30 }, { arbitrary: fc.constant(none), weight: 1 }) : fc.constant(tiers)))
    .chain((tiers: string[]) => fc.tuple(...tiers.map((t) => tierRule(signals, t))));
}

export const policyDocument: fc.Arbitrary<Document> = fc
  .array(fc.record({ name: signalName, source }), { minLength: 1, maxLength: 3 })
  .chain((signals) => fc.oneof({ arbitrary: fc.constant(signals), weight: 30 }, { arbitrary: fc.constant([] as typeof signals), weight: 1 }))
  .chain((signals) => {
    const names = signals.map((s) => s.name).filter((n): n is string => typeof n === "string");
    return fc.record({
      signals: fc.constant(signals),
      tiers: tierRules(names),
      stabilization: maybe(fc.record({ promoteAfter: maybe(duration), demoteAfter: maybe(duration), cooldown: maybe(duration) }).map(compact)),
      approval: maybe(
        fc
          .record({
            promotion: maybe(mostly(fc.constantFrom("Automatic", "Manual"), fc.constant("Auto"))),
            demotion: maybe(mostly(fc.constantFrom("Automatic", "Manual"), fc.constant("Never"))),
          })
          .map(compact),
      ),
      rateLimit: maybe(
        fc
          .record({
            maxConcurrentMoves: maybe(mostly(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, 1001))),
            maxMovesPerHour: maybe(mostly(fc.integer({ min: 1, max: 10000 }), fc.constantFrom(0, -5))),
          })
          .map(compact),
      ),
      maxSignalAge: maybe(duration),
      evaluationInterval: maybe(duration),
      extra: extraField,
    });
  })
  .map((g) => ({
    kind: "PlacementPolicy" as const,
    summary: JSON.stringify(g),
    build: (name: string) => ({
      apiVersion: API_VERSION,
      kind: "PlacementPolicy",
      metadata: { name },
      spec: compact({
        signals: g.signals.map((s) => compact(s)),
        tiers: g.tiers,
        stabilization: g.stabilization,
        approval: g.approval,
        rateLimit: g.rateLimit,
        maxSignalAge: g.maxSignalAge,
        evaluationInterval: g.evaluationInterval,
        ...g.extra,
      }),
    }),
  }));

export const anyDocument: fc.Arbitrary<Document> = fc.oneof(tenantDocument, poolDocument, policyDocument);
