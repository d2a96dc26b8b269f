import { createHash } from "node:crypto";
import { decisionSequence } from "../api/names.ts";

/**
 * The per-tenant hash chain of PlacementDecisions. Each decision's immutable spec carries a link to
 * the decision before it (its name, digest and final outcome); the TenantPlacement's status carries
 * the digest of the newest one (the head). A deleted, altered or re-ordered decision therefore
 * breaks a link, or the head. Pure: the CLI verifies live chains and exported files with it.
 */

/** The link a decision's spec.previous holds. */
export interface ChainLink {
  name: string;
  digest: string;
  /** The predecessor's status.outcome when the link was made (it is final by then). */
  outcome?: string;
}

/** The head a TenantPlacement's status.decisionHead holds. */
export interface ChainHead {
  name: string;
  digest: string;
}

/**
 * JSON with object keys sorted at every level and no whitespace: one byte string per value,
 * whichever order the API server returned the keys in. Undefined members are left out, as
 * JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error(`cannot digest a ${typeof value}`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** sha256 of the canonical JSON of the decision's name and spec, as "sha256:<hex>". */
export function decisionDigest(name: string, spec: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson({ name, spec })).digest("hex")}`;
}

/** One decision as the verifier needs it, from the cluster or from an export line. */
export interface ChainRecord {
  name: string;
  /** landlord.dev/tenant label (cluster) or the line's tenant (export). */
  tenant: string;
  spec: { tenant?: unknown; previous?: ChainLink } & Record<string, unknown>;
  outcome?: string;
  /** The digest an export line claims; checked against the recomputed one. */
  claimedDigest?: string;
}

export interface ChainBreak {
  tenant: string;
  decision: string;
  problem: string;
}

export interface ChainResult {
  tenant: string;
  checked: number;
  breaks: ChainBreak[];
  notes: string[];
}

const short = (digest: string): string => digest.replace(/^sha256:/, "").slice(0, 12);

/**
 * Walks one tenant's decisions oldest first. `head` is the TenantPlacement's status.decisionHead
 * (null when the TenantPlacement is gone, so the newest decision cannot be checked);
 * `anchored` lets the oldest record link to one outside the set (an export with --since).
 */
export function verifyChain(tenant: string, input: readonly ChainRecord[], head: ChainHead | null | undefined, options: { anchored?: boolean } = {}): ChainResult {
  const breaks: ChainBreak[] = [];
  const notes: string[] = [];
  const broken = (decision: string, problem: string): void => void breaks.push({ tenant, decision, problem });
  const sequenced = input.map((record) => ({ record, sequence: decisionSequence(tenant, record.name) }));
  for (const { record, sequence } of sequenced) {
    if (sequence === undefined) broken(record.name, `its name does not follow ${tenant}-<sequence>`);
  }
  const records = sequenced
    .filter((s): s is { record: ChainRecord; sequence: number } => s.sequence !== undefined)
    .sort((a, b) => a.sequence - b.sequence)
    .map((s) => s.record);
  const names = new Set(records.map((r) => r.name));
  const digests = new Map(records.map((r) => [r.name, decisionDigest(r.name, r.spec)]));

  records.forEach((record, index) => {
    const digest = digests.get(record.name) as string;
    if (record.claimedDigest !== undefined && record.claimedDigest !== digest) {
      broken(record.name, `was altered: it was exported with digest ${short(record.claimedDigest)}, its content now hashes to ${short(digest)}`);
    }
    if (record.spec.tenant !== tenant) broken(record.name, `is labelled for tenant ${tenant} but its spec says ${String(record.spec.tenant)}`);
    const link = record.spec.previous;
    const before = index > 0 ? records[index - 1] : undefined;
    if (!before) {
      if (link && !(options.anchored ?? false)) broken(record.name, `links to ${link.name}, which is missing: it was deleted`);
      if (link && options.anchored) notes.push(`the export starts at ${record.name}, anchored on ${link.name} (${short(link.digest)})`);
      return;
    }
    if (!link) {
      broken(record.name, `has no link to ${before.name}: it was not recorded by the operator's chain (forged, or recorded before the chain existed)`);
      return;
    }
    if (link.name !== before.name) {
      broken(record.name, names.has(link.name) ? `links to ${link.name}, not to the decision before it (${before.name}): the trail was re-ordered` : `links to ${link.name}, which is missing: it was deleted`);
      return;
    }
    const actual = digests.get(before.name) as string;
    if (link.digest !== actual) broken(before.name, `was altered: ${record.name} recorded its digest as ${short(link.digest)}, it now hashes to ${short(actual)}`);
    if (link.outcome !== undefined && link.outcome !== before.outcome) {
      broken(before.name, `its outcome was changed: ${record.name} recorded it as ${link.outcome}, it now says ${before.outcome ?? "(none)"}`);
    }
  });

  const last = records.at(-1);
  if (head === null) {
    if (last) notes.push(`no TenantPlacement ${tenant}: the newest decision (${last.name}) has no head to be checked against`);
  } else if (head === undefined) {
    if (last) notes.push(`TenantPlacement ${tenant} has no status.decisionHead yet (recorded before the chain existed)`);
  } else if (!last || head.name !== last.name) {
    if (!names.has(head.name)) broken(head.name, `is the chain head in TenantPlacement ${tenant}'s status but is missing: it was deleted`);
    else {
      const open = last?.outcome === undefined ? " (or its move started a moment ago, before the operator wrote the new head: verify again)" : "";
      broken(last?.name ?? head.name, `is newer than the chain head ${head.name} in TenantPlacement ${tenant}'s status: it was not recorded by the operator${open}`);
    }
  } else if (head.digest !== digests.get(last.name)) {
    broken(last.name, `was altered: the chain head in TenantPlacement ${tenant}'s status says ${short(head.digest)}, it now hashes to ${short(digests.get(last.name) as string)}`);
  }
  return { tenant, checked: records.length, breaks, notes };
}
