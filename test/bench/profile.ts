/**
 * Summarizes a V8 CPU profile (node --cpu-prof): the functions with the most self time, and the
 * project's own functions by total (inclusive) time. `npm run bench -- --profile` writes the
 * operator's profiles under bench/results/profiles/; run this on one:
 *   npx tsx test/bench/profile.ts bench/results/profiles/operator-5000-….cpuprofile [top]
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../../operator/src/local/paths.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  self: { name: string; ms: number }[];
  inclusive: { name: string; ms: number }[];
}

const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(pathToFileURL(projectRoot).href + "/", "").replace(/^file:\/\/.*node_modules\//, "node_modules/");
  return `${functionName || "(anonymous)"} ${where ? `${where}:${lineNumber + 1}` : ""}`.trim();
};

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const name = label(node);
    if (node.callFrame.functionName === "(idle)") idle += us;
    self.set(name, (self.get(name) ?? 0) + us);
    // Inclusive time: every distinct function on the stack, counted once per sample.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur);
      if (!frame) break;
      const frameName = label(frame);
      if (seen.has(frameName)) continue;
      seen.add(frameName);
      inclusive.set(frameName, (inclusive.get(frameName) ?? 0) + us);
    }
  }
  const ms = (entries: Map<string, number>, filter: (name: string) => boolean): { name: string; ms: number }[] =>
    [...entries].filter(([name]) => filter(name)).sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, ms: Math.round(us / 1000) }));
  return {
    totalMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    self: ms(self, (name) => !name.startsWith("(idle)")),
    inclusive: ms(inclusive, (name) => name.includes("operator/src/")),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  return [
    `sampled ${summary.totalMs} ms, of which idle ${summary.idleMs} ms`,
    "self time:",
    ...summary.self.map((e) => `  ${String(e.ms).padStart(7)} ms  ${e.name}`),
    "operator functions, inclusive time:",
    ...summary.inclusive.map((e) => `  ${String(e.ms).padStart(7)} ms  ${e.name}`),
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: tsx test/bench/profile.ts <file.cpuprofile> [top]\n");
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, Number(process.argv[3] ?? 25)))}\n`);
}
