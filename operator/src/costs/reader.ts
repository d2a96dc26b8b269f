import { createHash } from "node:crypto";
import { createReadStream, openSync, readSync, closeSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { CATEGORIES, decimalToUnits, type BillFormat, type BillGroup, type Category, type CostBasis, type InputSummary } from "./model.ts";
import { aggregationQuery, basisFor, hasSplitData, NET_SPLIT_COLUMNS, offendingRowsQuery, quoteString, REQUIRED_COLUMNS, type QueryOptions } from "./sql.ts";

/**
 * Reads a bill export (CUR 2.0, FOCUS 1.2 or the legacy 4-column CSV; Parquet, CSV or CSV.gz; a
 * file, a directory or a glob) with DuckDB: one aggregation query, whose groups are all that
 * reaches JS. Every problem is a BillError whose message is one line naming the file, row or
 * column.
 */

export class BillError extends Error {
  override name = "BillError";
}

type FileKind = "parquet" | "csv";

export interface LocalFiles {
  /** What the user gave (file, directory, glob or s3:// URL), for messages. */
  label: string;
  kind: FileKind;
  files: string[];
  /** Display name of each file (the s3:// key when downloaded), same order as files. */
  names: string[];
}

const kindOf = (path: string): FileKind | undefined => (/\.parquet$/i.test(path) ? "parquet" : /\.csv(\.gz)?$/i.test(path) ? "csv" : undefined);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile() && kindOf(path)) out.push(path);
  }
  return out;
}

const GLOB = /[*?[]/;

/** Turns a file, a directory (searched recursively) or a glob into the list of export files. */
export async function resolveLocal(path: string, label = path, display: (file: string) => string = (f) => f): Promise<LocalFiles> {
  let files: string[];
  let stat;
  try {
    stat = statSync(path);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) {
    files = walk(path);
    if (files.length === 0) throw new BillError(`${label}: no .parquet, .csv or .csv.gz file in this directory`);
  } else if (stat?.isFile()) {
    files = [path];
  } else if (GLOB.test(path)) {
    files = await globFiles(path);
    if (files.length === 0) throw new BillError(`${label}: no file matches this pattern`);
  } else {
    throw new BillError(`${label}: no such file or directory`);
  }
  files.sort();
  const kinds = new Set(files.map((f) => kindOf(f) ?? (stat?.isFile() ? "parquet" : undefined)));
  if (kinds.has(undefined)) throw new BillError(`${label}: ${files.find((f) => !kindOf(f))} is neither .parquet nor .csv/.csv.gz`);
  if (kinds.size > 1) throw new BillError(`${label}: mixes Parquet and CSV files; give one export at a time`);
  const kind = [...kinds][0] as FileKind;
  if (kind === "parquet") for (const f of files) checkParquetMagic(f, display(f));
  return { label, kind, files, names: files.map(display) };
}

async function globFiles(pattern: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT file FROM glob(${quoteString(pattern)})`);
    return reader.getRowObjectsJson().map((r) => String(r.file)).filter((f) => kindOf(f) !== undefined);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A Parquet file starts and ends with the 4 bytes PAR1; say so plainly instead of DuckDB's wording. */
function checkParquetMagic(file: string, name: string): void {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    if (size >= 8) readSync(fd, tail, 0, 4, size - 4);
    if (size < 8 || head.toString("latin1") !== "PAR1" || tail.toString("latin1") !== "PAR1") {
      throw new BillError(`${name}: not a Parquet file (a Parquet file starts and ends with "PAR1"); give .csv/.csv.gz files a .csv or .csv.gz name`);
    }
  } finally {
    closeSync(fd);
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const list = (files: readonly string[]): string => `[${files.map(quoteString).join(", ")}]`;

function sourceSql(input: LocalFiles, named: boolean): string {
  if (input.kind === "parquet") {
    const read = `read_parquet(${list(input.files)}, union_by_name = true${named ? ", filename = true, file_row_number = true" : ""})`;
    return named ? `(SELECT *, file_row_number + 1 AS row_in_file FROM ${read})` : read;
  }
  // all_varchar: costs are parsed as exact decimals by the query, never through a double.
  const read = `read_csv(${list(input.files)}, header = true, all_varchar = true, union_by_name = true${named ? ", filename = true" : ""})`;
  // +1: line 1 is the header. DuckDB keeps a CSV's rows in file order.
  return named ? `(SELECT *, row_number() OVER (PARTITION BY filename) + 1 AS row_in_file FROM ${read})` : read;
}

export interface BillOptions {
  basis: CostBasis;
  /** "YYYY-MM"; undefined = the only billing period in the export. */
  period?: string | undefined;
  /** Called once the aggregation runs in DuckDB's threads, so a caller can do other work meanwhile. */
  onQueryStarted?: () => void;
}

export interface BillRead {
  format: BillFormat;
  /** "YYYY-MM", or "" for the legacy CSV (it has no period column). */
  period: string;
  currency: string;
  groups: BillGroup[];
  input: InputSummary;
}

const FORMAT_NAMES: Record<BillFormat, string> = { cur2: "CUR 2.0", focus: "FOCUS 1.2", legacy: "legacy 4-column CSV" };

/** Which format the columns are; the error names the closest format's missing columns. */
export function detectFormat(label: string, columns: ReadonlyMap<string, string>): BillFormat {
  const scored = (Object.keys(REQUIRED_COLUMNS) as BillFormat[]).map((format) => ({
    format,
    missing: REQUIRED_COLUMNS[format].filter((c) => !columns.has(c)),
  }));
  const found = scored.find((s) => s.missing.length === 0);
  if (found) return found.format;
  const closest = scored.sort((a, b) => a.missing.length / REQUIRED_COLUMNS[a.format].length - b.missing.length / REQUIRED_COLUMNS[b.format].length)[0] as (typeof scored)[number];
  throw new BillError(
    `${label}: not a CUR 2.0, FOCUS 1.2 or legacy costs export: missing column${closest.missing.length > 1 ? "s" : ""} ${closest.missing.join(", ")} (closest: ${FORMAT_NAMES[closest.format]})`,
  );
}

async function describe(connection: DuckDBConnection, source: string, label: string): Promise<Map<string, string>> {
  try {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    return new Map(reader.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)]));
  } catch (error) {
    throw new BillError(`${label}: cannot read: ${firstLine(error)}`);
  }
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0] as string;

function where(input: LocalFiles, row: Record<string, unknown>): string {
  const file = String(row.filename);
  const index = input.files.indexOf(file);
  return `${index >= 0 ? input.names[index] : file} ${input.kind === "csv" ? "line" : "row"} ${String(row.row_in_file)}`;
}

/** Reads one export: detect the format, check the columns, run the aggregation, check the result. */
export async function readBill(input: LocalFiles, options: BillOptions, source?: string): Promise<BillRead> {
  const label = input.label;
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const from = sourceSql(input, false);
    const columns = await describe(connection, from, label);
    const format = detectFormat(label, columns);
    let choice;
    try {
      choice = basisFor(format, options.basis);
    } catch (error) {
      throw new BillError(`${label}: ${firstLine(error)}`);
    }
    const missing = choice.needs.filter((c) => !columns.has(c));
    if (missing.length > 0) {
      throw new BillError(`${label}: --basis ${options.basis} needs column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}, which this export does not have`);
    }
    if (format === "cur2" && hasSplitData(columns)) {
      if (!columns.has("line_item_resource_id")) throw new BillError(`${label}: has EKS split cost allocation columns but no line_item_resource_id (export with INCLUDE_RESOURCES) to find the instances they split`);
      const netMissing = NET_SPLIT_COLUMNS.filter((c) => !columns.has(c));
      if (options.basis === "net" && netMissing.length > 0) throw new BillError(`${label}: --basis net needs ${netMissing.join(", ")} for the EKS split rows`);
    }
    const query: QueryOptions = { format, basis: options.basis, source: from, columns };
    // Hash the files while DuckDB scans them: the digests go into the report at no extra wall time.
    const digests = Promise.all(input.files.map(async (f, i) => ({ path: input.names[i] as string, sha256: await sha256(f), bytes: statSync(f).size })));
    digests.catch(() => undefined); // awaited at the end; a query error must not leave it unhandled
    let rows: Record<string, unknown>[];
    try {
      const running = connection.runAndReadAll(aggregationQuery(query));
      options.onQueryStarted?.();
      rows = (await running).getRowObjectsJson();
    } catch (error) {
      throw new BillError(`${label}: ${firstLine(error)}`);
    }
    const named = sourceSql(input, true);
    const offending = async (condition: Parameters<typeof offendingRowsQuery>[2]): Promise<Record<string, unknown>[]> =>
      (await connection.runAndReadAll(offendingRowsQuery(query, named, condition))).getRowObjectsJson();

    const count = (key: string): number => rows.reduce((a, r) => a + Number(r[key]), 0);
    if (count("bad_cost_rows") > 0) {
      const bad = await offending("bad_cost");
      throw new BillError(`${bad.map((r) => where(input, r)).join(", ")}: column ${choice.checked} is not a number below 100,000,000 (${count("bad_cost_rows")} rows)`);
    }
    if (count("bad_tag_rows") > 0) {
      const bad = await offending("bad_tags");
      throw new BillError(`${bad.map((r) => where(input, r)).join(", ")}: column ${format === "focus" ? "Tags" : "resource_tags"} is not a JSON object of tags (${count("bad_tag_rows")} rows)`);
    }
    const totalRows = count("row_count");
    if (totalRows === 0) throw new BillError(`${label}: the export has no rows`);

    const periods = new Map<string, number>();
    for (const r of rows) periods.set(String(r.period), (periods.get(String(r.period)) ?? 0) + Number(r.row_count));
    let period: string;
    if (format === "legacy") period = "";
    else if (options.period !== undefined) {
      period = options.period;
      if (!periods.has(period)) throw new BillError(`${label}: no rows in billing period ${period} (the export covers ${[...periods.keys()].sort().join(", ")})`);
    } else if (periods.size > 1) {
      throw new BillError(`${label}: covers ${periods.size} billing periods (${[...periods.keys()].sort().join(", ")}); choose one with --period YYYY-MM`);
    } else period = [...periods.keys()][0] as string;

    const kept = rows.filter((r) => String(r.period) === period);
    const excluded = rows.filter((r) => String(r.period) !== period);
    const currencies = new Map<string, number>();
    for (const r of kept) currencies.set(String(r.currency), (currencies.get(String(r.currency)) ?? 0) + Number(r.row_count));
    // Most rows first (ties by name): the majority currency is the run's, the others are named.
    const ranked = [...currencies].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const [currency] = ranked[0] as [string, number];
    if (currencies.size > 1) {
      const bad = await offending({ currencyNot: currency });
      const summary = ranked.map(([c, n]) => `${c || "(empty)"} in ${n} rows`).join(", ");
      throw new BillError(`${label}: mixed currencies (${summary}), e.g. ${bad.map((r) => `${where(input, r)} in ${String(r.currency) || "(empty)"}`).join(", ")}; one currency per run`);
    }

    const groups: BillGroup[] = kept.map((r) => ({
      account: String(r.account),
      tenantTag: String(r.tenant_tag),
      poolTag: String(r.pool_tag),
      namespace: String(r.namespace),
      category: (CATEGORIES as readonly string[]).includes(String(r.category)) ? (String(r.category) as Category) : "other",
      chargeType: String(r.charge_type),
      split: String(r.split) as BillGroup["split"],
      rows: Number(r.row_count),
      units: decimalToUnits(String(r.cost)),
      splitWeight: decimalToUnits(String(r.weight)),
    }));
    return {
      format,
      period,
      currency,
      groups,
      input: {
        kind: format,
        source: source ?? label,
        files: await digests,
        rows: totalRows,
        excludedRows: excluded.reduce((a, r) => a + Number(r.row_count), 0),
        excludedUnits: excluded.reduce((a, r) => a + decimalToUnits(String(r.cost)), 0n),
      },
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
