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
    if (verb && resource && WRITE_VERBS.has(verb) && resources.includes(resource)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}
