import { createHash } from "node:crypto";

/**
 * Deterministic AWS names from a tenant id. Identifiers (RDS instance, security and subnet group,
 * session name) are `landlord-<tenantId>[-<suffix>]` verbatim and nothing else: the tenant id's
 * rules (at most 54 characters, no "--"; see TENANT_ID_MAX) make that a valid RDS
 * identifier, so the mapping is injective by construction. Shortening with a hash, as earlier
 * versions did, let a crafted id ("acme-corp-<hash>") name another tenant's instance; an id outside
 * the rules is now refused here rather than rewritten.
 */

/** RDS identifier limit (also used for security groups and subnet groups for one naming scheme). */
export const RDS_IDENTIFIER_MAX = 63;
/** AWS Organizations account names. */
export const ACCOUNT_NAME_MAX = 50;
/** STS role session names. */
export const SESSION_NAME_MAX = 64;

/** A letter first, then letters, digits and single hyphens, no trailing hyphen (RDS's rule, the strictest). */
const AWS_IDENTIFIER = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export class AwsNameError extends Error {
  override name = "AwsNameError";
}

export function awsName(tenantId: string, options: { suffix?: string; max?: number } = {}): string {
  const max = options.max ?? RDS_IDENTIFIER_MAX;
  const name = `landlord-${tenantId}${options.suffix ? `-${options.suffix}` : ""}`;
  if (!AWS_IDENTIFIER.test(name) || name.length > max) {
    throw new AwsNameError(
      `tenant id ${JSON.stringify(tenantId)} cannot name AWS resources: ${name} must be at most ${max} lowercase letters, digits and single hyphens (tenant ids are at most 54 characters and never contain "--")`,
    );
  }
  return name;
}

/**
 * A display name that may be shorter than the id allows (an AWS account's name, 50 characters):
 * a readable prefix and a hash of the whole name. Only for names that identify nothing (accounts
 * are identified by their id and e-mail), since a shortened name is not injective.
 */
export function awsDisplayName(tenantId: string, max: number): string {
  const raw = `landlord-${tenantId}`;
  if (raw.length <= max) return raw;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${raw.slice(0, max - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}
