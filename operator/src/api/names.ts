import { createHash } from "node:crypto";

/**
 * Every name Landlord derives from a tenant id or another name: Kubernetes objects, AWS resources,
 * label values. Identifying names are the id verbatim and are refused, never shortened, when they
 * would not fit (see awsName); only names that identify nothing may be shortened, and those end in
 * a hash of the whole name (shortenWithHash), so the result never changes and two names never share
 * a shortened form.
 */

const HASH_LENGTH = 8;

/**
 * `readable` cut to fit `max` with `-<hash>` appended, the hash taken of `whole` (the name before
 * any rewriting), trailing punctuation of the cut dropped; only the hash when nothing readable is
 * left. Deterministic, and distinct for distinct `whole`s.
 */
export function shortenWithHash(readable: string, max: number, whole: string = readable): string {
  const hash = createHash("sha256").update(whole).digest("hex").slice(0, HASH_LENGTH);
  const kept = readable.slice(0, max - HASH_LENGTH - 1).replace(/[^A-Za-z0-9]+$/, "");
  return kept.length > 0 ? `${kept}-${hash}` : hash;
}

const MAX_LABEL = 63;

/** A DNS-1123 label of at most 63 characters: the name itself, or a readable prefix and a hash of it. */
export function dnsLabelName(name: string): string {
  return name.length <= MAX_LABEL ? name : shortenWithHash(name, MAX_LABEL);
}

/** A tenant's own namespace. Tenant ids are at most 54 characters (TENANT_ID_MAX), so this is `tenant-<id>` verbatim. */
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

/*
 * Deterministic AWS names from a tenant id. Identifiers (RDS instance, security and subnet group,
 * session name) are `landlord-<tenantId>[-<suffix>]` verbatim and nothing else: the tenant id's
 * rules (at most 54 characters, no "--"; see TENANT_ID_MAX) make that a valid RDS identifier, so
 * the mapping is injective by construction. Shortening with a hash, as earlier versions did, let a
 * crafted id ("acme-corp-<hash>") name another tenant's instance; an id outside the rules is now
 * refused here rather than rewritten.
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
  return raw.length <= max ? raw : shortenWithHash(raw, max);
}
