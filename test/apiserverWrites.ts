import { existsSync, readFileSync } from "node:fs";

// The verb label of apiserver_request_total; server-side apply is reported as APPLY.
export const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"]);

/**
 * The API server's request counters from its own /metrics text, summed per "resource[/subresource]
 * VERB" over the verbs `want` accepts (every other label, e.g. code and scope, summed away).
 */
export function requestCounts(metricsText: string, want: (verb: string) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metricsText.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    if (!verb || !want(verb)) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? "";
    const subresource = /subresource="([^"]*)"/.exec(line)?.[1] ?? "";
    const key = `${resource}${subresource ? `/${subresource}` : ""} ${verb}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

/** after − before, dropping zeros. */
export function diffCounts(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) out.set(key, delta);
  }
  return out;
}

export const formatCounts = (counts: Map<string, number>): string =>
  [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key} ${value}`).join(", ");

/** The write counters that moved between two /metrics texts, from anyone: context for a failure message. */
export function writeDelta(before: string, after: string): string {
  const writes = (text: string): Map<string, number> => requestCounts(text, (verb) => WRITE_VERBS.has(verb));
  return formatCounts(diffCounts(writes(before), writes(after)));
}

/**
 * ServiceAccount writes the API server audited after `since` (its audit log, see the local control
 * plane's policy), one "verb resource namespace/name by user (code)" line each: who wrote what, exactly.
 */
export function auditedWrites(auditLog: string, since: Date): string[] {
  if (!existsSync(auditLog)) return [];
  const out: string[] = [];
  for (const line of readFileSync(auditLog, "utf8").split("\n")) {
    if (!line) continue;
    const event = JSON.parse(line) as {
      verb: string;
      user?: { username?: string };
      objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
      requestReceivedTimestamp: string;
      responseStatus?: { code?: number };
      requestObject?: { data?: Record<string, string> };
    };
    if (new Date(event.requestReceivedTimestamp) < since) continue;
    const ref = event.objectRef ?? {};
    const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
    // A ConfigMap's body is audited (see the policy): what it was made to hold says why it was written.
    const data = event.requestObject?.data ? ` data=${JSON.stringify(event.requestObject.data)}` : "";
    out.push(`${event.verb} ${resource} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name ?? ""} by ${event.user?.username ?? "?"} (${event.responseStatus?.code ?? "?"})${data}`);
  }
  return out;
}
