import { parseIpv4Cidr, type EgressAllowance } from "../config.ts";
import type { KubeObject } from "../kube/client.ts";

/**
 * Default-deny egress for every namespace Landlord creates: its pods may reach pods of the same
 * namespace, the cluster DNS, and the destinations the operator is configured with (the platform
 * database, the RDS subnets, an egress proxy); nothing else — not the instance metadata service,
 * not another tenant's namespace, not the internet. Enforced only where the cluster's network
 * plugin enforces NetworkPolicy egress (Calico, Cilium, the VPC CNI with network policies on).
 */

/** Instance metadata (IMDS), link-local: credentials of the node's role live there. */
const METADATA_CIDR = "169.254.169.254/32";

function toInt(cidr: string): { base: number; bits: number } {
  const parsed = parseIpv4Cidr(cidr);
  if (!parsed) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  return parsed;
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
