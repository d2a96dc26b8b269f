import { writeFileSync } from "node:fs";
import type { ClusterConnection } from "./clusterClient.ts";
import { UsageError } from "./errors.ts";
import { renderHtmlReport } from "../costs/report/html.ts";
import type { CostRun } from "../costs/run/costRun.ts";
import { recordCostRun, type RecordResult } from "../costs/run/record.ts";
import { DEFAULT_SIGNAL_NAMES, type CostSignalNames, type SignalTenant } from "../costs/run/signals.ts";

/**
 * The flags `landlord costs` takes for the cost loop (record, signals, HTML report), and what they
 * do once the command has built its report. Kept out of cli/costs.ts so the bill readers can change
 * that file freely: it hands over the tenants and a way to make the CostRun of its report.
 */

export const COST_LOOP_FLAGS = {
  selector: { type: "string", short: "l" },
  record: { type: "boolean" },
  html: { type: "string" },
  "no-signals": { type: "boolean" },
  "cost-signal": { type: "string" },
  "share-signal": { type: "string" },
  "margin-signal": { type: "string" },
  "write-rate": { type: "string" },
} as const;

export interface CostLoopValues {
  selector?: string | undefined;
  record?: boolean | undefined;
  html?: string | undefined;
  "no-signals"?: boolean | undefined;
  "cost-signal"?: string | undefined;
  "share-signal"?: string | undefined;
  "margin-signal"?: string | undefined;
  /** A flag of landlord costs itself (it reads revenue with it); the loop checks it is not a signal it writes. */
  "revenue-signal"?: string | undefined;
  "write-rate"?: string | undefined;
}

export const COST_LOOP_HELP = `Cost loop (record the run, write cost signals, draw the report):
  -l, --selector SELECTOR  only the TenantPlacements with these labels (e.g. region=eu); shares
                           are then of the selected tenants' cost
  --record                 write a CostReport (cluster-scoped, immutable: period, basis, inputs with
                           sha256 and row counts, totals per tier and pool, unallocated lines, Pareto
                           figures, who ran it) and each tenant's cost signals into its
                           spec.reportedSignals (field manager landlord-costs; one server-side apply
                           per tenant whose figures changed, none otherwise). Needs the cluster.
  --no-signals             with --record: the CostReport only
  --cost-signal NAME       signal for the monthly cost in USD (default monthlyCostUSD)
  --share-signal NAME      signal for the tenant's share of all tenants' cost, 0..1 (default costShare)
  --margin-signal NAME     signal for revenue minus cost in USD (default marginUSD)
  --write-rate N           most signal patches per second (default 50; 0 = unlimited)
  --html FILE              write a self-contained HTML report (charts and a sortable table; opens
                           without network)
`;

const SIGNAL = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** Signal names from the flags; each checked like the CRD checks reported signal names. */
export function signalNames(values: CostLoopValues): CostSignalNames {
  const pick = (flag: "cost-signal" | "share-signal" | "margin-signal" | "revenue-signal", fallback: string): string => {
    const name = values[flag] ?? fallback;
    if (!SIGNAL.test(name)) throw new UsageError(`--${flag}: "${name}" is not a signal name (a letter, then letters, digits or '_', at most 63)`);
    return name;
  };
  const names = {
    cost: pick("cost-signal", DEFAULT_SIGNAL_NAMES.cost),
    share: pick("share-signal", DEFAULT_SIGNAL_NAMES.share),
    margin: pick("margin-signal", DEFAULT_SIGNAL_NAMES.margin),
    revenue: pick("revenue-signal", DEFAULT_SIGNAL_NAMES.revenue),
  };
  const written = [names.cost, names.share, names.margin];
  if (new Set([...written, names.revenue]).size !== 4) throw new UsageError(`the cost, share, margin and revenue signals must have four different names, got ${[...written, names.revenue].join(", ")}`);
  return names;
}

export function writeRate(text: string | undefined): number {
  if (text === undefined) return 50;
  const rate = Number(text);
  if (text.trim() === "" || !Number.isFinite(rate) || rate < 0) throw new UsageError(`--write-rate: expected patches per second such as 50 (0 = unlimited), got "${text}"`);
  return rate;
}

/** A TenantPlacement as the cost loop reads it: its name and reported signals (where the run's signals go). */
export interface LoopPlacement {
  metadata: { name: string };
  spec?: { reportedSignals?: Record<string, number> };
}

export interface CostLoopInput {
  values: CostLoopValues;
  tenants: readonly LoopPlacement[];
  /** The run to record and draw: the CostRun of the command's report (see costRunFromReport). */
  costRun: () => CostRun;
  /** undefined when the tenants came from files (-f). */
  connection: ClusterConnection | undefined;
  now?: number;
}

/** Checks the loop's flags before anything is read, so a typo costs no round trip. */
export function checkCostLoopFlags(values: CostLoopValues, offline: boolean): void {
  if (values.record && offline) throw new UsageError("--record writes to the cluster: give --kubeconfig (or KUBECONFIG), not -f files");
  if (values.selector !== undefined && offline) throw new UsageError("--selector picks TenantPlacements in the cluster; with -f files, give only the files you mean");
  if (values["no-signals"] && !values.record) throw new UsageError("--no-signals only applies with --record");
  signalNames(values);
  writeRate(values["write-rate"]);
}

/** Whether the command asked for any part of the loop. */
export const wantsCostLoop = (values: CostLoopValues): boolean => Boolean(values.record || values.html);

/** Runs the parts of the loop the flags ask for; returns lines for stderr. */
export async function costLoop(input: CostLoopInput): Promise<string[]> {
  const { values } = input;
  const names = signalNames(values);
  const now = input.now ?? Date.now();
  const run = input.costRun();
  const messages: string[] = [];
  if (values.record) {
    if (!input.connection) throw new UsageError("--record writes to the cluster: give --kubeconfig (or KUBECONFIG), not -f files");
    const result: RecordResult = await recordCostRun({
      client: input.connection.client,
      resources: input.connection.resources,
      run,
      tenants: input.tenants.map((t): SignalTenant => ({ name: t.metadata.name, reportedSignals: t.spec?.reportedSignals })),
      names: values["no-signals"] ? undefined : names,
      pacing: { perSecond: writeRate(values["write-rate"]), concurrency: 8, now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    });
    run.actor = result.actor;
    messages.push(
      `${result.created ? "Recorded" : "Already recorded:"} CostReport ${result.report} (by ${result.actor})` +
        (values["no-signals"] ? "" : `; cost signals ${names.cost}, ${names.share}, ${names.margin} written on ${result.written} TenantPlacements, ${result.unchanged} unchanged`),
    );
  }
  if (values.html) {
    try {
      writeFileSync(values.html, renderHtmlReport(run, { generatedAt: new Date(now).toISOString() }));
    } catch (error) {
      throw new UsageError(`--html ${values.html}: ${error instanceof Error ? error.message : String(error)}`);
    }
    messages.push(`Wrote the cost report ${values.html} (${run.lines.length} tenants)`);
  }
  return messages;
}
