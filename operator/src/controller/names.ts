import { createHash } from "node:crypto";

const MAX_LABEL = 63;

/**
 * A DNS-1123 label of at most 63 characters. Longer names keep a readable prefix and end in a
 * hash of the whole name, so two long names never collide and the result never changes.
 */
export function dnsLabelName(name: string): string {
  if (name.length <= MAX_LABEL) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, MAX_LABEL - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

export function tenantNamespace(tenantId: string): string {
  return dnsLabelName(`tenant-${tenantId}`);
}

/** PlacementDecisions are `<tenant>-<4-digit sequence>`; a 253-character object name leaves room. */
export function decisionName(tenantId: string, sequence: number): string {
  return `${tenantId}-${String(sequence).padStart(4, "0")}`;
}

export function decisionSequence(tenantId: string, name: string): number | undefined {
  const prefix = `${tenantId}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^\d{4,}$/.test(rest) ? Number(rest) : undefined;
}
