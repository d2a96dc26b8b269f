import { describe, expect, it, vi } from "vitest";
import { canonicalJson, decisionDigest, verifyChain, type ChainRecord } from "../../../operator/src/audit/chain.ts";
import { exportLines, formatVerification, parseSince, verifyCluster, verifyExport } from "../../../operator/src/cli/auditTrail.ts";
import type { DecisionObject, TenantObject } from "../../../operator/src/cli/clusterClient.ts";
import { main } from "../../../operator/src/cli/main.ts";

/** A tenant's chain as the operator records it: each spec links the digest of the one before. */
function chain(tenant: string, count: number): DecisionObject[] {
  const decisions: DecisionObject[] = [];
  for (let i = 1; i <= count; i++) {
    const before = decisions.at(-1);
    const spec = {
      tenant,
      ...(i > 1 ? { from: "pooled" } : {}),
      to: i % 2 === 0 ? "namespace" : "pooled",
      trigger: i === 2 ? "Manual" : "Policy",
      ...(i === 2 ? { approval: { annotation: "namespace" }, actor: "alice", reason: "CHG-1 contract" } : {}),
      signals: { monthlyRevenueUSD: 1000 * i, requestsPerDayShare: 0.004 },
      requestedAt: `2026-11-0${i}T10:00:00Z`,
      ...(before ? { previous: { name: before.metadata.name, digest: decisionDigest(before.metadata.name, before.spec), outcome: "Succeeded" } } : {}),
    };
    decisions.push({ apiVersion: "landlord.dev/v1alpha1", kind: "PlacementDecision", metadata: { name: `${tenant}-${String(i).padStart(4, "0")}`, labels: { "landlord.dev/tenant": tenant } }, spec, status: { outcome: "Succeeded" } });
  }
  return decisions;
}

const headOf = (d: DecisionObject) => ({ name: d.metadata.name, digest: decisionDigest(d.metadata.name, d.spec) });
const tenantWith = (name: string, head?: { name: string; digest: string }): TenantObject => ({ apiVersion: "landlord.dev/v1alpha1", kind: "TenantPlacement", metadata: { name }, ...(head ? { status: { decisionHead: head } } : {}) });
const records = (decisions: DecisionObject[]): ChainRecord[] => decisions.map((d) => ({ name: d.metadata.name, tenant: "acme", spec: d.spec as ChainRecord["spec"], ...(d.status?.outcome ? { outcome: d.status.outcome } : {}) }));

describe("the decision hash chain", () => {
  it("digests canonical JSON: key order and whitespace do not matter, values do", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 0.004, c: "x" }], e: undefined })).toBe('{"a":[{"c":"x","d":0.004}],"b":1}');
    expect(decisionDigest("acme-0001", { to: "pooled", tenant: "acme" })).toBe(decisionDigest("acme-0001", JSON.parse('{ "tenant": "acme", "to": "pooled" }')));
    expect(decisionDigest("acme-0001", { to: "pooled" })).not.toBe(decisionDigest("acme-0001", { to: "namespace" }));
    expect(decisionDigest("acme-0001", { to: "pooled" })).not.toBe(decisionDigest("acme-0002", { to: "pooled" }));
    expect(decisionDigest("acme-0001", {})).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("accepts an intact chain whose head matches the tenant's status", () => {
    const decisions = chain("acme", 4);
    const result = verifyChain("acme", records(decisions), headOf(decisions[3] as DecisionObject));
    expect(result).toEqual({ tenant: "acme", checked: 4, breaks: [], notes: [] });
  });

  it("names a deleted decision in the middle, at the start and at the head", () => {
    const decisions = chain("acme", 4);
    const head = headOf(decisions[3] as DecisionObject);
    expect(verifyChain("acme", records(decisions.filter((_, i) => i !== 1)), head).breaks).toEqual([{ tenant: "acme", decision: "acme-0003", problem: "links to acme-0002, which is missing: it was deleted" }]);
    expect(verifyChain("acme", records(decisions.slice(1)), head).breaks).toEqual([{ tenant: "acme", decision: "acme-0002", problem: "links to acme-0001, which is missing: it was deleted" }]);
    expect(verifyChain("acme", records(decisions.slice(0, 3)), head).breaks).toEqual([{ tenant: "acme", decision: "acme-0004", problem: "is the chain head in TenantPlacement acme's status but is missing: it was deleted" }]);
  });

  it("names an altered decision, an altered outcome and an altered head", () => {
    const decisions = chain("acme", 3);
    const head = headOf(decisions[2] as DecisionObject);
    const edited = structuredClone(decisions);
    (edited[1]?.spec as Record<string, unknown>).actor = "mallory";
    const [broken] = verifyChain("acme", records(edited), head).breaks;
    expect(broken?.decision).toBe("acme-0002");
    expect(broken?.problem).toMatch(/^was altered: acme-0003 recorded its digest as [0-9a-f]{12}, it now hashes to [0-9a-f]{12}$/);
    const outcome = structuredClone(decisions);
    (outcome[0] as DecisionObject).status = { outcome: "Failed" };
    expect(verifyChain("acme", records(outcome), head).breaks).toEqual([{ tenant: "acme", decision: "acme-0001", problem: "its outcome was changed: acme-0002 recorded it as Succeeded, it now says Failed" }]);
    const newest = structuredClone(decisions);
    (newest[2]?.spec as Record<string, unknown>).reason = "rewritten";
    expect(verifyChain("acme", records(newest), head).breaks[0]?.problem).toMatch(/^was altered: the chain head in TenantPlacement acme's status says/);
  });

  it("names a re-ordered trail and a decision without a link", () => {
    const decisions = chain("acme", 3);
    const swapped = records(decisions);
    const [first, second] = [swapped[0] as ChainRecord, swapped[1] as ChainRecord];
    swapped[0] = { ...second, name: first.name };
    swapped[1] = { ...first, name: second.name };
    expect(verifyChain("acme", swapped, headOf(decisions[2] as DecisionObject)).breaks.length).toBeGreaterThan(0);
    const unlinked = records(decisions);
    delete (unlinked[2] as ChainRecord).spec.previous;
    expect(verifyChain("acme", unlinked, null).breaks).toEqual([{ tenant: "acme", decision: "acme-0003", problem: expect.stringMatching(/^has no link to acme-0002/) }]);
  });

  it("verifies the cluster per tenant and says which tenant broke, with exit status", () => {
    const acme = chain("acme", 3);
    const globex = chain("globex", 2);
    const results = verifyCluster([tenantWith("acme", headOf(acme[2] as DecisionObject)), tenantWith("globex", headOf(globex[1] as DecisionObject))], [...acme.slice(0, 2), ...globex]);
    const { text, broken } = formatVerification(results);
    expect(broken).toBe(1);
    expect(text).toContain("BROKEN acme-0003 is the chain head in TenantPlacement acme's status but is missing: it was deleted");
    expect(text).toMatch(/globex\s+2 decisions\s+ok/);
    expect(text).toContain("verified 4 decisions of 2 tenants: 1 broken link");
  });

  it("exports one line per decision and verifies the file offline, --since anchored", () => {
    const acme = chain("acme", 4);
    const tenants = [tenantWith("acme", headOf(acme[3] as DecisionObject))];
    const lines = exportLines(tenants, acme);
    expect(lines[1]).toMatchObject({ tenant: "acme", decision: "acme-0002", actor: "alice", reason: "CHG-1 contract", trigger: "Manual", outcome: "Succeeded", digest: headOf(acme[1] as DecisionObject).digest });
    const file = lines.map((l) => JSON.stringify(l)).join("\n");
    expect(formatVerification(verifyExport(file)).broken).toBe(0);
    const since = exportLines(tenants, acme, { since: parseSince("2026-11-03") as number });
    expect(since.map((l) => l.decision)).toEqual(["acme-0003", "acme-0004"]);
    const anchored = verifyExport(since.map((l) => JSON.stringify(l)).join("\n"));
    expect(anchored[0]?.breaks).toEqual([]);
    expect(anchored[0]?.notes).toEqual([expect.stringMatching(/^the export starts at acme-0003, anchored on acme-0002/)]);
    // Tampering with the file: an edited line, a dropped line, a dropped newest line.
    const tampered = JSON.parse(lines.map((l) => JSON.stringify(l))[1] as string) as { spec: Record<string, unknown> };
    tampered.spec.actor = "mallory";
    const withTamper = [lines[0], tampered, lines[2], lines[3]].map((l) => JSON.stringify(l)).join("\n");
    expect(verifyExport(withTamper)[0]?.breaks.map((b) => b.decision)).toContain("acme-0002");
    // A readable copy edited, the spec left alone: the copy is checked against the spec.
    const copyEdited = [lines[0], { ...lines[1], actor: "mallory" }, lines[2], lines[3]].map((l) => JSON.stringify(l)).join("\n");
    expect(verifyExport(copyEdited)[0]?.breaks).toEqual([{ tenant: "acme", decision: "acme-0002", problem: 'was edited in the export: its actor says "mallory", the spec the digest covers says "alice"' }]);
    expect(verifyExport([lines[0], lines[2], lines[3]].map((l) => JSON.stringify(l)).join("\n"))[0]?.breaks[0]?.problem).toBe("links to acme-0002, which is missing: it was deleted");
    expect(verifyExport(lines.slice(0, 3).map((l) => JSON.stringify(l)).join("\n"))[0]?.breaks[0]?.problem).toMatch(/acme's status but is missing/);
  });

  it("refuses a file that is not an export, and a --since that is not a date, with one line", () => {
    expect(() => verifyExport("not json")).toThrow("line 1 is not JSON: this is not a file written by landlord audit export -o jsonl");
    expect(() => verifyExport('{"tenant":"acme"}')).toThrow(/line 1 lacks tenant, decision, digest or spec/);
    expect(() => parseSince("yesterday")).toThrow('--since "yesterday" is not a date: use 2026-01-31 or 2026-01-31T12:00:00Z');
    expect(parseSince("2026-01-31")).toBe(Date.parse("2026-01-31T00:00:00Z"));
  });
});

describe("landlord audit verify and export, bad input", () => {
  const run = async (args: string[]): Promise<{ code: number; stderr: string }> => {
    let stderr = "";
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      return { code: await main(args), stderr };
    } finally {
      spy.mockRestore();
    }
  };

  it.each([
    [["audit", "export", "-o", "csv"], 'landlord audit: -o must be jsonl (one decision per line), got "csv"\n'],
    [["audit", "export", "--since", "last week"], 'landlord audit: --since "last week" is not a date: use 2026-01-31 or 2026-01-31T12:00:00Z\n'],
    [["audit", "verify", "--tenant", "Not_A_Tenant"], 'landlord audit: --tenant "Not_A_Tenant" is not a tenant id (a DNS-1123 label such as acme)\n'],
    [["audit", "verify", "acme"], 'landlord audit: audit verify takes no arguments, got "acme"\n'],
    [["audit", "verify", "--file", "/nonexistent/decisions.jsonl"], expect.stringMatching(/^landlord audit: cannot read \/nonexistent\/decisions\.jsonl: ENOENT/)],
  ])("%j → one line, exit 2", async (args, message) => {
    const result = await run(args);
    expect(result).toEqual({ code: 2, stderr: message });
  });
});
