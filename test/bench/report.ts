/**
 * The benchmark's figures: one table on stdout, the same figures as JSON under bench/results/.
 * A figure may carry the issue's target beside it; the table says "met" or "missed", never fails.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../operator/src/local/paths.ts";

export interface Target {
  /** The figure must be at most (`<=`) or exactly (`==`) this value. */
  op: "<=" | "==";
  value: number;
}

export interface Figure {
  scenario: string;
  n: number;
  figure: string;
  value: number;
  unit: string;
  target?: Target;
  /** Anything a reader needs to interpret the figure (how it was measured, what it includes). */
  note?: string;
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews absolute times. */
  loadAverage: number;
}

export function describeMachine(): Machine {
  const list = cpus();
  let load = NaN;
  try {
    load = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  } catch {
    // Not Linux: the load is only informative.
  }
  return { cores: list.length, cpuModel: list[0]?.model.trim() ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage: load };
}

export const machineLine = (m: Machine): string => `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, load ${m.loadAverage} at start`;

export class Report {
  readonly figures: Figure[] = [];
  constructor(readonly machine: Machine) {}

  record(figure: Figure): void {
    this.figures.push(figure);
    // Printed as it comes too: a long run shows progress, and a crash keeps what was measured.
    process.stderr.write(`bench: ${figure.scenario} [N=${figure.n}] ${figure.figure}: ${figure.value} ${figure.unit}${figure.target ? ` (target ${figure.target.op} ${figure.target.value})` : ""}\n`);
  }

  table(startedAt: Date, elapsedMs: number): string {
    const verdict = (f: Figure): string => {
      if (!f.target) return "";
      const met = f.target.op === "<=" ? f.value <= f.target.value : f.value === f.target.value;
      return `${f.target.op} ${f.target.value} ${met ? "met" : "MISSED"}`;
    };
    const header = ["scenario", "N", "figure", "value", "target"];
    const rows = this.figures.map((f) => [f.scenario, f.n.toLocaleString("en-US"), f.figure, `${f.value} ${f.unit}`.trim(), verdict(f)]);
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]?.length ?? 0)));
    const line = (cells: string[]): string => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd();
    const notes = this.figures.filter((f) => f.note).map((f) => `  - ${f.scenario} / ${f.figure}: ${f.note}`);
    return [
      `Landlord benchmarks — ${startedAt.toISOString()} — ${machineLine(this.machine)} — took ${Math.round(elapsedMs / 1000)} s`,
      "",
      line(header),
      line(widths.map((w) => "-".repeat(w))),
      ...rows.map(line),
      ...(notes.length > 0 ? ["", "Notes:", ...notes] : []),
    ].join("\n");
  }

  write(startedAt: Date, elapsedMs: number, extra: Record<string, unknown> = {}): string {
    const dir = join(projectRoot, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `bench-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify({ date: startedAt.toISOString(), elapsedMs: Math.round(elapsedMs), machine: this.machine, figures: this.figures, ...extra }, null, 2)}\n`);
    return file;
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  // Nearest rank: p99 of 100 samples is the 99th smallest, not the maximum.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export const round = (value: number, digits = 0): number => Number(value.toFixed(digits));
