import { createHash } from "node:crypto";

/**
 * Deterministic AWS names from a tenant id. A DNS-1123 tenant id can be 63 characters and contain
 * "--", which RDS identifiers forbid; such names keep a readable prefix and end in a hash of the
 * unaltered name, so two tenants never share an identifier and a tenant's never changes.
 */

/** RDS identifier limit (also used for security groups and subnet groups for one naming scheme). */
export const RDS_IDENTIFIER_MAX = 63;
/** AWS Organizations account names. */
export const ACCOUNT_NAME_MAX = 50;
/** STS role session names. */
export const SESSION_NAME_MAX = 64;

export function awsName(tenantId: string, options: { suffix?: string; max?: number } = {}): string {
  const max = options.max ?? RDS_IDENTIFIER_MAX;
  const raw = `landlord-${tenantId}${options.suffix ? `-${options.suffix}` : ""}`;
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-{2,}/g, "-").replace(/-+$/, "");
  if (clean === raw && raw.length <= max) return raw;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${clean.slice(0, max - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}
