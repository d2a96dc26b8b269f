import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * The rules of the source tree, as data and pure checks, so layers.test.ts can run them over the
 * repository and over small made-up trees (proving each check fails when it should).
 */

/**
 * The layers, lowest first. A file may import its own layer and the layers before it, never one
 * after it. Paths are repository-relative prefixes; the longest that matches a file wins.
 */
export const LAYERS: ReadonlyArray<{ name: string; paths: readonly string[]; holds: string }> = [
  { name: "api", paths: ["operator/src/api/"], holds: "schemas, label and annotation keys, names: facts of the Landlord API" },
  { name: "config", paths: ["operator/src/config.ts"], holds: "the operator's options (flags and environment)" },
  { name: "kube", paths: ["operator/src/kube/"], holds: "the API client, store, informers, queue, events, leader election" },
  { name: "audit", paths: ["operator/src/audit/"], holds: "the decision hash chain and the manual-action annotations" },
  { name: "metrics", paths: ["operator/src/metrics/"], holds: "Prometheus metrics and their server" },
  { name: "placement", paths: ["operator/src/placement/"], holds: "bin packing of pooled tenants (pure)" },
  { name: "policy", paths: ["operator/src/policy/"], holds: "rules, signals, the promotion engine" },
  { name: "provision", paths: ["operator/src/provision/", "pulumi/"], holds: "the stack port, its plan and Pulumi adapters, the Pulumi programs" },
  { name: "costs", paths: ["operator/src/costs/"], holds: "bill reading, allocation, reports, the recorded cost run" },
  { name: "controller", paths: ["operator/src/controller/"], holds: "the reconcilers and the manager that runs them" },
  { name: "local", paths: ["operator/src/local/"], holds: "dev tooling: the local control plane, node, image and tool builds" },
  { name: "cli", paths: ["operator/src/cli/"], holds: "the landlord commands: the only layer that wires local/ in" },
];

/** Where the layered sources are. */
export const SOURCE_ROOTS = ["operator/src", "pulumi"] as const;
/** Where file and directory names must be camelCase. */
export const NAMED_ROOTS = ["operator/src", "pulumi", "test"] as const;

export interface SourceFile {
  /** Repository-relative, with forward slashes. */
  path: string;
  text: string;
}

export function layerOf(file: string, layers = LAYERS): { name: string; rank: number } | undefined {
  let best: { name: string; rank: number; length: number } | undefined;
  layers.forEach((layer, rank) => {
    for (const prefix of layer.paths) {
      const matches = prefix.endsWith("/") ? file.startsWith(prefix) : file === prefix;
      if (matches && (!best || prefix.length > best.length)) best = { name: layer.name, rank, length: prefix.length };
    }
  });
  return best && { name: best.name, rank: best.rank };
}

/** Every module specifier a file imports: static imports and exports (types too) and import("…"). */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** One line per import that points up, or at a file no layer holds. */
export function layerViolations(files: readonly SourceFile[], layers = LAYERS): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file.path, layers);
    if (!from) {
      problems.push(`${file.path} is in no layer: add its directory to LAYERS in test/unit/architecture/layers.ts`);
      continue;
    }
    for (const specifier of importsOf(file.text)) {
      if (!specifier.startsWith(".")) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), specifier));
      const to = layerOf(target, layers);
      if (!to) problems.push(`${file.path} imports ${specifier}, which is outside the layered sources (${SOURCE_ROOTS.join(", ")})`);
      else if (to.rank > from.rank) problems.push(`${file.path} (layer ${from.name}) imports ${specifier} (layer ${to.name}): dependencies point down only`);
    }
  }
  return problems;
}

/** camelCase, then optional dot-separated camelCase parts (`placer.property.test.ts`). */
const CAMEL_FILE = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*$/;

/** One line per file or directory whose name is not camelCase. */
export function caseViolations(paths: readonly string[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const file of paths) {
    const parts = file.split("/");
    parts.forEach((part, i) => {
      const at = parts.slice(0, i + 1).join("/");
      if (seen.has(at)) return;
      seen.add(at);
      const isFile = i === parts.length - 1;
      const stem = isFile ? part.replace(/\.(ts|mjs)$/, "") : part;
      if (!CAMEL_FILE.test(stem)) problems.push(`${at} is not camelCase (e.g. ${camel(part)})`);
    });
  }
  return problems;
}

const camel = (name: string): string => name.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * A repository file a comment names: a path or a bare name of a document or a source file. Other
 * extensions are mostly files a program writes or an upstream project holds (Pulumi.yaml,
 * manifest.json, quantity.go), which a comment may well name.
 */
const CITED = /(?<![\w@/.-])((?:[\w.-]+\/)*[\w-]+(?:\.[\w-]+)*\.(?:md|ts|mjs))\b/g;

/** The comments of a TypeScript or JavaScript file, in order (from the syntax tree: text in strings is not a comment). */
export function commentsOf(text: string): string[] {
  const source = ts.createSourceFile("file.ts", text, ts.ScriptTarget.Latest, false);
  const ranges = new Map<number, string>();
  const collect = (pos: number): void => {
    for (const range of [...(ts.getLeadingCommentRanges(text, pos) ?? []), ...(ts.getTrailingCommentRanges(text, pos) ?? [])]) {
      ranges.set(range.pos, text.slice(range.pos, range.end));
    }
  };
  // Leading ranges read every comment from a position to the next token, so the ones after a node's
  // end (before a closing brace, at the end of the file) are found as well as those before it.
  const visit = (node: ts.Node): void => {
    collect(node.pos);
    collect(node.end);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...ranges].sort(([a], [b]) => a - b).map(([, comment]) => comment);
}

/** Every path, and every tail of it left when leading directories are dropped, so a citation is one lookup. */
function pathTails(repoFiles: readonly string[]): Set<string> {
  return new Set(repoFiles.flatMap((f) => f.split("/").map((_, i, parts) => parts.slice(i).join("/"))));
}

/**
 * One line per comment that cites a file the repository does not hold. A citation counts as found
 * when it names a tracked file from the repository root, from the citing file's directory, or by
 * the end of its path (`pulumi/tags.ts`, `tags.ts`).
 */
export function citationViolations(files: readonly SourceFile[], repoFiles: readonly string[]): string[] {
  const known = pathTails(repoFiles);
  const found = (cited: string, from: string): boolean =>
    known.has(cited) || known.has(path.posix.normalize(path.posix.join(path.posix.dirname(from), cited)));
  const problems: string[] = [];
  for (const file of files) {
    for (const comment of commentsOf(file.text)) {
      for (const match of comment.matchAll(CITED)) {
        const cited = match[1] as string;
        if (!found(cited, file.path)) problems.push(`${file.path}: a comment cites ${cited}, which is not in the repository: say the fact, or cite the README section`);
      }
    }
  }
  return problems;
}

/** Files a document names (every path-like word with a document or source extension) that the repository does not hold. */
export function missingCitations(text: string, repoFiles: readonly string[]): string[] {
  const known = pathTails(repoFiles);
  return [...new Set([...text.matchAll(CITED)].map((m) => m[1] as string))].filter((cited) => !known.has(cited));
}

/**
 * What is wrong with a README layout block against the table: a layer path it does not list as
 * the first word of a line, or lists out of the table's order.
 */
export function layoutProblems(block: string, layers = LAYERS): string[] {
  const listed = block.split("\n").map((line) => line.split(/\s+/)[0] ?? "");
  const wanted = layers.flatMap((layer) => layer.paths.map((p) => ({ layer: layer.name, path: p.replace(/\/$/, "") })));
  const problems = wanted.filter((w) => !listed.some((l) => l.replace(/\/$/, "") === w.path)).map((w) => `the layout does not list ${w.path} (layer ${w.layer})`);
  const order = wanted.map((w) => listed.findIndex((l) => l.replace(/\/$/, "") === w.path)).filter((i) => i >= 0);
  if (order.some((at, i) => i > 0 && at < (order[i - 1] as number))) problems.push("the layout lists the layers out of the table's order (lowest first)");
  return problems;
}

/** The repository's files below `roots`, skipping what git ignores by convention here. */
export function listFiles(repoRoot: string, roots: readonly string[], keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(path.join(repoRoot, dir))) return;
    for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (keep(rel)) out.push(rel);
    }
  };
  roots.forEach(walk);
  return out.sort();
}

export function readSources(repoRoot: string, paths: readonly string[]): SourceFile[] {
  return paths.map((p) => ({ path: p, text: readFileSync(path.join(repoRoot, p), "utf8") }));
}
