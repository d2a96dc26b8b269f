import { stringify } from "yaml";
import { UsageError } from "./errors.ts";

export const OUTPUT_FORMATS = ["table", "json", "yaml", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  const format = value ?? "table";
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(", ")}, got "${format}"`);
  }
  return format as OutputFormat;
}

export type Cell = string | number | boolean | undefined | null;

export interface Column<Row> {
  /** Header in table and csv output, e.g. TIER. */
  header: string;
  /** Key in json and yaml output, e.g. tier. */
  key: string;
  value: (row: Row) => Cell;
}

function text(cell: Cell): string {
  return cell === undefined || cell === null ? "" : String(cell);
}

/**
 * RFC 4180: quote a field that holds a comma, a quote or a line break; double its quotes. A field
 * a spreadsheet would run as a formula (=, +, -, @, a tab or carriage return first: OWASP's list)
 * gets a leading apostrophe, so a display name such as =HYPERLINK(...) stays text. A number such
 * as -12.5 is left as it is: it is data, and no spreadsheet evaluates it as a formula.
 */
export function csvField(value: string): string {
  const guarded = /^[=+\-@\t\r]/.test(value) && !/^[-+]?\d+(\.\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

/**
 * Renders rows the way kubectl does: an aligned table with upper-case headers and "<none>" for
 * empty cells, or json/yaml objects keyed by column key, or csv with a header line.
 */
export function render<Row>(rows: readonly Row[], columns: readonly Column<Row>[], format: OutputFormat): string {
  if (format === "json" || format === "yaml") {
    const objects = rows.map((row) => Object.fromEntries(columns.map((c) => [c.key, c.value(row) ?? null])));
    return format === "json" ? `${JSON.stringify(objects, null, 2)}\n` : stringify(objects);
  }
  if (format === "csv") {
    const lines = [columns.map((c) => csvField(c.header)).join(","), ...rows.map((row) => columns.map((c) => csvField(text(c.value(row)))).join(","))];
    return `${lines.join("\n")}\n`;
  }
  const cells = rows.map((row) => columns.map((c) => text(c.value(row)) || "<none>"));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join("   ");
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join("\n")}\n`;
}
