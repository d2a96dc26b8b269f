import { readFileSync, writeFileSync } from "node:fs";
import type { ClusterConnection } from "../../cli/clusterClient.ts";
import type { CostPlacement } from "../../cli/costs.ts";
import { UsageError } from "../../cli/errors.ts";
import { allocate, formatCents, parseUsdCents, type AllocationInput } from "../allocate.ts";
import { renderHtmlReport } from "../report/html.ts";
import { costRunFromAllocation, monthPeriod, sha256, type CostRun, type CostRunInput } from "./costRun.ts";
import { recordCostRun, type RecordResult } from "./record.ts";
import { DEFAULT_SIGNAL_NAMES, type CostSignalNames, type SignalTenant } from "./signals.ts";

/**
 * The flags `landlord costs` takes for the cost loop (record, signals, HTML report), and what they
 * do once the command has read its inputs. Kept out of cli/costs.ts so the bill readers can change
 * that file freely: it passes its inputs here and this builds the CostRun.
 */

export const COST_LOOP_FLAGS = {
  bill: { type: "string" },
  selector: { type: "string", short: "l" },
  record: { type: "boolean" },
  html: { type: "string" },
  period: { type: "string" },
  basis: { type: "string" },
  "no-signals": { type: "boolean" },
  "cost-signal": { type: "string" },
  "share-signal": { type: "string" },
  "margin-signal": { type: "string" },
  "revenue-signal": { type: "string" },
  "write-rate": { type: "string" },
} as const;

export interface CostLoopValues {
  bill?: string | undefined;
  selector?: string | undefined;
  record?: boolean | undefined;
  html?: string | undefined;
  period?: string | undefined;
  basis?: string | undefined;
  "no-signals"?: boolean | undefined;
  "cost-signal"?: string | undefined;
  "share-signal"?: string | undefined;
  "margin-signal"?: string | undefined;
  "revenue-signal"?: string | undefined;
  "write-rate"?: string | undefined;
}

export const COST_LOOP_HELP = `Cost loop (record the run, write cost signals, draw the report):
  --bill FILE              the AWS cost file (same as --aws-costs)
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
  --revenue-signal NAME    signal revenue is read from (spec.reportedSignals, else status.signals;
                           default monthlyRevenueUSD)
  --write-rate N           most signal patches per second (default 50; 0 = unlimited)
  --period YYYY-MM         billing period recorded (default: the current month, UTC)
  --basis NAME             cost basis recorded (default unblended)
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

/** A TenantPlacement as the cost loop reads it: costs' view plus its reported signals. */
export interface LoopPlacement extends CostPlacement {
  spec?: CostPlacement["spec"] & { reportedSignals?: Record<string, number> };
}

const idOf = (t: LoopPlacement): string => t.spec?.tenantId ?? t.metadata.name;

/** Monthly revenue in cents from the revenue signal (spec first, as the billing system wrote it); a value that is not an amount is no revenue. */
export function revenueOf(t: LoopPlacement, signal: string): number | undefined {
  const value = t.spec?.reportedSignals?.[signal] ?? t.status?.signals?.[signal];
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  try {
    return parseUsdCents(String(value));
  } catch {
    return undefined;
  }
}

export interface CostRunSource {
  tenants: readonly LoopPlacement[];
  /** What allocate() is given (the costs command builds it from the same tenants). */
  allocation: AllocationInput;
  /** The AWS cost file, read again for its digest. */
  awsFile?: string | undefined;
  /** Where the tenants came from, e.g. the cluster at https://… or tenants.yaml. */
  from: string;
  period: { start: string; end: string };
  basis: string;
  revenueSignal: string;
}

/** Every input with its row count and sha256: the bill, each typed pool cost, and the tenants' own figures. */
export function runInputs(source: CostRunSource): CostRunInput[] {
  const inputs: CostRunInput[] = [];
  const { allocation } = source;
  if (source.awsFile) inputs.push({ name: source.awsFile, rows: allocation.awsRows.length, sha256: sha256(readFileSync(source.awsFile)) });
  for (const [pool, cents] of Object.entries(allocation.poolCosts).sort(([a], [b]) => (a < b ? -1 : 1))) {
    inputs.push({ name: `--pool-cost ${pool}`, rows: 1, sha256: sha256(`${pool}=${formatCents(cents)}`) });
  }
  // What the split depends on besides the bill: tiers, pools, usage and revenue of every tenant.
  const revenue = new Map(source.tenants.map((t) => [idOf(t), revenueOf(t, source.revenueSignal) ?? null]));
  const state = allocation.tenants
    .map((c) => [c.tenantId, c.tier ?? "", c.pool ?? "", c.requestsPerDay ?? null, revenue.get(c.tenantId) ?? null])
    .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
  inputs.push({ name: `TenantPlacements from ${source.from}`.slice(0, 1024), rows: state.length, sha256: sha256(JSON.stringify(state)) });
  return inputs;
}

/** Today's allocation of the inputs, as a CostRun. */
export function buildCostRun(source: CostRunSource): CostRun {
  const allocation = allocate(source.allocation);
  const revenueCents = new Map<string, number>();
  for (const t of source.tenants) {
    const revenue = revenueOf(t, source.revenueSignal);
    if (revenue !== undefined) revenueCents.set(idOf(t), revenue);
  }
  return costRunFromAllocation(allocation, { period: source.period, basis: source.basis, inputs: runInputs(source), revenueCents });
}

/** What a CostRun producer is told: the flags that shape the run (the bill readers may take period and basis from the bill instead). */
export interface CostRunContext {
  period: CostRun["period"];
  basis: string;
  revenueSignal: string;
}

export interface CostLoopInput {
  values: CostLoopValues;
  tenants: readonly LoopPlacement[];
  allocation: AllocationInput;
  /**
   * The seam for other producers of a CostRun (the CUR/FOCUS readers' unit economics): when set,
   * it is used instead of today's allocate() over `allocation`.
   */
  costRun?: (context: CostRunContext) => CostRun;
  awsFile?: string | undefined;
  from: string;
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
  monthPeriod(values.period, Date.now());
  if (values.basis !== undefined && !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(values.basis)) throw new UsageError(`--basis: expected a name such as unblended, got "${values.basis}"`);
}

/** Whether the command asked for any part of the loop. */
export const wantsCostLoop = (values: CostLoopValues): boolean => Boolean(values.record || values.html);

/** Runs the parts of the loop the flags ask for; returns lines for stderr. */
export async function costLoop(input: CostLoopInput): Promise<string[]> {
  const { values } = input;
  const names = signalNames(values);
  const now = input.now ?? Date.now();
  let period: CostRun["period"];
  try {
    period = monthPeriod(values.period, now);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const context: CostRunContext = { period, basis: values.basis ?? "unblended", revenueSignal: names.revenue };
  const run = input.costRun ? input.costRun(context) : buildCostRun({ ...input, ...context });
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
