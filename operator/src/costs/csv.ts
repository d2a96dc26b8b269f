/**
 * A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF), pure. Returns the header and
 * the data rows as records keyed by header name, each with its 1-based line number for messages.
 */
export interface CsvTable {
  header: string[];
  rows: { line: number; fields: Record<string, string> }[];
}

function splitRecords(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === "") {
      quoted = true;
      any = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
      any = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      fields.push(field);
      if (any || field !== "") records.push({ line: start, fields });
      fields = [];
      field = "";
      any = false;
      line++;
      start = line;
    } else {
      field += ch;
      any = true;
    }
  }
  if (quoted) throw new Error(`line ${start}: unterminated quoted field`);
  fields.push(field);
  if (any || field !== "") records.push({ line: start, fields });
  return records;
}

/** Parses CSV text; blank lines and lines starting with # are skipped. */
export function parseCsv(text: string): CsvTable {
  const records = splitRecords(text.replace(/^\uFEFF/, "")).filter((r) => !(r.fields.length === 1 && (r.fields[0] as string).trim() === "") && !(r.fields[0] ?? "").startsWith("#"));
  const first = records.shift();
  if (!first) return { header: [], rows: [] };
  const header = first.fields.map((h) => h.trim());
  const rows = records.map((r) => {
    if (r.fields.length > header.length) throw new Error(`line ${r.line}: ${r.fields.length} fields, but the header has ${header.length}`);
    return { line: r.line, fields: Object.fromEntries(header.map((h, i) => [h, (r.fields[i] ?? "").trim()])) };
  });
  return { header, rows };
}
