import { existsSync, readFileSync } from "node:fs";
/** Every resource the operator writes: what "the operator wrote nothing" is counted over. */
export const LANDLORD_WRITE_RESOURCES = [
  "tenantplacements",
  "tenantpools",
  "placementdecisions",
  "namespaces",
  "resourcequotas",
  "limitranges",
  "networkpolicies",
  "configmaps",
  "rolebindings",
  "events",
] as const;

// The verb label of apiserver_request_total; server-side apply is reported as APPLY.
const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY"]);

/** Sum of the API server's write requests for `resources`, from its own /metrics text. */
export function countWrites(metricsText: string, resources: readonly string[] = LANDLORD_WRITE_RESOURCES): number {
  let total = 0;
  for (const line of metricsText.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    const resource = /resource="([^"]*)"/.exec(line)?.[1];
    // kube-controller-manager's writes, never Landlord's: quota usage (resourcequotas/status) and
    // namespace finalization (namespaces/status, namespaces/finalize) of earlier tests' namespaces.
    const subresource = /subresource="([^"]*)"/.exec(line)?.[1] ?? "";
    if ((resource === "resourcequotas" || resource === "namespaces") && (subresource === "status" || subresource === "finalize")) continue;
    if (verb && resource && WRITE_VERBS.has(verb) && resources.includes(resource)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** The write counters that moved between two /metrics texts, for a failure message that says who wrote what. */
export function writeDelta(before: string, after: string): string {
  const counters = (text: string): Map<string, number> => {
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line.startsWith("apiserver_request_total{")) continue;
      const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? "";
      if (!WRITE_VERBS.has(verb)) continue;
      const key = ["resource", "subresource", "code"].map((l) => new RegExp(`${l}="([^"]*)"`).exec(line)?.[1] ?? "").join("/") + ` ${verb}`;
      out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
    }
    return out;
  };
  const a = counters(before);
  return [...counters(after)].filter(([key, n]) => n !== (a.get(key) ?? 0)).map(([key, n]) => `${key}: +${n - (a.get(key) ?? 0)}`).join(", ");
}

/**
 * ServiceAccount writes the API server audited after `since` (its audit log, see the local control
 * plane's policy), one "verb resource namespace/name by user" line each: who wrote what, exactly.
 */
export function auditedWrites(auditLog: string, since: Date): string[] {
  if (!existsSync(auditLog)) return [];
  const out: string[] = [];
  for (const line of readFileSync(auditLog, "utf8").split("\n")) {
    if (!line) continue;
    const event = JSON.parse(line) as { verb: string; user?: { username?: string }; objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string }; requestReceivedTimestamp: string; responseStatus?: { code?: number } };
    if (new Date(event.requestReceivedTimestamp) < since) continue;
    const ref = event.objectRef ?? {};
    const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
    out.push(`${event.verb} ${resource} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name ?? ""} by ${event.user?.username ?? "?"} (${event.responseStatus?.code ?? "?"})`);
  }
  return out;
}
