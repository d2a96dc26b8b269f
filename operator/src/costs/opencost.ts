import { z } from "zod";
import { CATEGORIES, decimalToUnits, type Category, type NamespaceCost } from "./model.ts";

/**
 * Kubernetes cost by namespace from OpenCost's allocation API
 * (GET <url>/allocation?window=<start>,<end>&aggregate=namespace&accumulate=true): one set per
 * step in `data`, each a map namespace → allocation with cpuCost, gpuCost, ramCost, pvCost,
 * networkCost, loadBalancerCost, sharedCost, externalCost and their *CostAdjustment fields.
 */

const amount = z.number().finite().optional();
const allocation = z.looseObject({
  name: z.string().optional(),
  cpuCost: amount,
  cpuCostAdjustment: amount,
  gpuCost: amount,
  gpuCostAdjustment: amount,
  ramCost: amount,
  ramCostAdjustment: amount,
  pvCost: amount,
  pvCostAdjustment: amount,
  networkCost: amount,
  networkCostAdjustment: amount,
  loadBalancerCost: amount,
  loadBalancerCostAdjustment: amount,
  sharedCost: amount,
  externalCost: amount,
  totalCost: z.number().finite(),
});
const response = z.looseObject({
  code: z.number(),
  data: z.array(z.record(z.string(), allocation.nullable())),
  message: z.string().optional(),
});

const FIELDS: Record<Category, readonly (keyof z.infer<typeof allocation>)[]> = {
  compute: ["cpuCost", "cpuCostAdjustment", "gpuCost", "gpuCostAdjustment", "ramCost", "ramCostAdjustment"],
  storage: ["pvCost", "pvCostAdjustment"],
  database: [],
  network: ["networkCost", "networkCostAdjustment", "loadBalancerCost", "loadBalancerCostAdjustment"],
  other: ["sharedCost", "externalCost"],
};

/** A JSON number as units, rounded to the 10th decimal (OpenCost's figures are floats). */
const units = (value: number | undefined): bigint => (value === undefined || value === 0 ? 0n : decimalToUnits(value.toFixed(10)));

/** Parses an allocation response (pure); the error says what was wrong in one line. */
export function parseAllocation(source: string, body: unknown): NamespaceCost[] {
  const parsed = response.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: not an OpenCost allocation response: ${issue ? `${issue.path.join(".") || "(top)"}: ${issue.message}` : "unreadable"}`);
  }
  if (parsed.data.code !== 200) throw new Error(`${source}: OpenCost answered code ${parsed.data.code}${parsed.data.message ? `: ${parsed.data.message}` : ""}`);
  const byNamespace = new Map<string, Record<Category, bigint>>();
  for (const set of parsed.data.data) {
    for (const [namespace, a] of Object.entries(set)) {
      if (!a) continue;
      const sums = byNamespace.get(namespace) ?? { compute: 0n, storage: 0n, database: 0n, network: 0n, other: 0n };
      for (const c of CATEGORIES) for (const f of FIELDS[c]) sums[c] += units(a[f] as number | undefined);
      byNamespace.set(namespace, sums);
    }
  }
  return [...byNamespace].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([namespace, u]) => ({ namespace, units: u }));
}

/** The window of a billing period "YYYY-MM": its first instant to the next month's, RFC 3339. */
export function periodWindow(period: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  if (!m) throw new Error(`"${period}" is not a billing period YYYY-MM`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const next = month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, "0")}`;
  return `${period}-01T00:00:00Z,${next}-01T00:00:00Z`;
}

/** Asks OpenCost for the window's cost by namespace. */
export async function fetchOpenCost(url: string, window: string, signal?: AbortSignal): Promise<{ source: string; costs: NamespaceCost[] }> {
  const base = url.replace(/\/+$/, "");
  const query = new URLSearchParams({ window, aggregate: "namespace", accumulate: "true", includeIdle: "true" });
  const source = `${base}/allocation?${query.toString()}`;
  let res: Response;
  try {
    res = await fetch(source, { signal: signal ?? AbortSignal.timeout(60_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${base}: cannot reach OpenCost: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${base}: OpenCost answered HTTP ${res.status}: ${text.slice(0, 200).replace(/\s+/g, " ")}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${base}: OpenCost's answer is not JSON: ${text.slice(0, 80).replace(/\s+/g, " ")}`);
  }
  return { source, costs: parseAllocation(base, body) };
}
