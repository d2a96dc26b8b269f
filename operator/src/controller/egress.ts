import type { KubeObject } from "../kube/client.ts";

/**
 * Default-deny egress for every namespace Landlord creates: its pods may reach pods of the same
 * namespace, the cluster DNS, and the destinations the operator is configured with (the platform
 * database, the RDS subnets, an egress proxy); nothing else — not the instance metadata service,
 * not another tenant's namespace, not the internet. Enforced only where the cluster's network
 * plugin enforces NetworkPolicy egress (Calico, Cilium, the VPC CNI with network policies on).
 */

/** One configured destination: a CIDR and, optionally, one TCP port. */
export interface EgressAllowance {
  cidr: string;
  port?: number;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
/** Instance metadata (IMDS), link-local: credentials of the node's role live there. */
const METADATA_CIDR = "169.254.169.254/32";

/** Parses `10.0.0.0/16` or `10.0.0.0/16:5432`; throws a one-line error naming the value otherwise. */
export function parseEgressAllowance(text: string): EgressAllowance {
  const [cidr = "", port, ...rest] = text.trim().split(":");
  const match = IPV4_CIDR.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const bits = match ? Number(match[5]) : -1;
  if (!match || octets.some((o) => o > 255) || bits > 32 || rest.length > 0) {
    throw new RangeError(`invalid egress allowance ${JSON.stringify(text)}: expected an IPv4 CIDR with an optional TCP port, e.g. 10.0.0.0/16 or 10.0.32.0/20:5432`);
  }
  if (port === undefined) return { cidr };
  const number = Number(port);
  if (!/^\d+$/.test(port) || number < 1 || number > 65535) throw new RangeError(`invalid egress allowance ${JSON.stringify(text)}: the port must be 1 to 65535`);
  return { cidr, port: number };
}

function toInt(cidr: string): { base: number; bits: number } {
  const match = IPV4_CIDR.exec(cidr);
  if (!match) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const [a, b, c, d] = match.slice(1, 5).map(Number) as [number, number, number, number];
  return { base: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, bits: Number(match[5]) };
}

/** Whether `outer` contains all of `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = toInt(outer);
  const i = toInt(inner);
  if (i.bits < o.bits) return false;
  const mask = o.bits === 0 ? 0 : (~0 << (32 - o.bits)) >>> 0;
  return (o.base & mask) === (i.base & mask);
}

export const EGRESS_POLICY_NAME = "landlord-egress";

/** The egress NetworkPolicy of one namespace. */
export function egressPolicy(namespace: string, labels: Record<string, string>, allow: readonly EgressAllowance[], annotations?: Record<string, string>): KubeObject {
  const rules: Record<string, unknown>[] = [
    // Pods of the same namespace: a tenant's own services talk to each other.
    { to: [{ podSelector: {} }] },
    // The cluster DNS.
    {
      to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
      ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
    },
    ...allow.map((a) => ({
      // A broad allowance (0.0.0.0/0 for an egress proxy) still never reaches the metadata service.
      to: [{ ipBlock: { cidr: a.cidr, ...(cidrContains(a.cidr, METADATA_CIDR) ? { except: [METADATA_CIDR] } : {}) } }],
      ...(a.port ? { ports: [{ protocol: "TCP", port: a.port }] } : {}),
    })),
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: EGRESS_POLICY_NAME, namespace, labels, ...(annotations ? { annotations } : {}) },
    spec: { podSelector: {}, policyTypes: ["Egress"], egress: rules },
  };
}
