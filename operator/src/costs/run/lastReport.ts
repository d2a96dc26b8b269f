import { ApiError } from "../../kube/client.ts";
import type { Resources } from "../../kube/resources.ts";
import type { CostReportObject } from "./record.ts";
import { DEFAULT_SIGNAL_NAMES } from "./signals.ts";

/**
 * What `audit` and `explain` say about cost: a tenant's cost signals, and the newest CostReport.
 * Reads only; a cluster without the CostReport kind (or a user who may not list it) has no last
 * report, which is said, not an error.
 */

export interface CostFigures {
  cost?: number;
  margin?: number;
  share?: number;
}

/** The tenant's cost signals under the default names, from spec.reportedSignals. */
export function costFigures(reportedSignals: Readonly<Record<string, number>> | undefined): CostFigures {
  const pick = (name: string): number | undefined => {
    const v = reportedSignals?.[name];
    return typeof v === "number" && Number.isFinite(v) ? v : undefined;
  };
  const cost = pick(DEFAULT_SIGNAL_NAMES.cost);
  const margin = pick(DEFAULT_SIGNAL_NAMES.margin);
  const share = pick(DEFAULT_SIGNAL_NAMES.share);
  return { ...(cost !== undefined ? { cost } : {}), ...(margin !== undefined ? { margin } : {}), ...(share !== undefined ? { share } : {}) };
}

export interface ReportSummary {
  name: string;
  period: string;
  totalUSD: string;
  currency: string;
  actor: string;
  createdAt: string;
}

/** The newest of `reports` by createdAt (then name). Pure. */
export function newestReport(reports: readonly Partial<CostReportObject>[]): ReportSummary | undefined {
  let best: ReportSummary | undefined;
  for (const r of reports) {
    const spec = r.spec;
    if (!spec || !r.metadata?.name) continue;
    const summary = { name: r.metadata.name, period: spec.period?.start?.slice(0, 7) ?? "?", totalUSD: spec.totals?.totalUSD ?? "?", currency: spec.currency ?? "", actor: spec.actor ?? "?", createdAt: spec.createdAt ?? "" };
    if (!best || summary.createdAt > best.createdAt || (summary.createdAt === best.createdAt && summary.name > best.name)) best = summary;
  }
  return best;
}

export async function lastCostReport(connection: { resources: Resources }): Promise<ReportSummary | undefined> {
  try {
    const list = await connection.resources.list<CostReportObject>("CostReport");
    return newestReport(list.items);
  } catch (error) {
    if (error instanceof ApiError && error.notFound) return undefined;
    if (error instanceof Error && /refused the request \(403/.test(error.message)) return undefined;
    throw error;
  }
}

export function reportLine(report: ReportSummary | undefined): string {
  if (!report) return "none recorded (landlord costs --record writes one)";
  return `${report.name}: period ${report.period}, total ${report.totalUSD} ${report.currency}, recorded ${report.createdAt} by ${report.actor}`;
}
