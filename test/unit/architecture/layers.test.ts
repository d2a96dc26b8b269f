import path from "node:path";
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readFileSync } from "node:fs";
import { caseViolations, citationViolations, commentsOf, LAYERS, layerViolations, layoutProblems, listFiles, missingCitations, NAMED_ROOTS, readSources, SOURCE_ROOTS } from "./layers.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");
const isSource = (file: string): boolean => file.endsWith(".ts");

describe("the repository", () => {
  it("holds every path the layer table names", () => {
    for (const layer of LAYERS) for (const p of layer.paths) expect(existsSync(path.join(REPO_ROOT, p)), `${layer.name}: ${p}`).toBe(true);
  });
  it("imports only down the layers", () => {
    const files = readSources(REPO_ROOT, listFiles(REPO_ROOT, SOURCE_ROOTS, isSource));
    expect(files.length).toBeGreaterThan(100);
    expect(layerViolations(files)).toEqual([]);
  });
  it("has a README whose layout lists the layers in order, and which cites only files the repository holds", () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const block = /<!-- layout -->[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, "README.md has a <!-- layout --> block").toBeDefined();
    expect(layoutProblems(block ?? "")).toEqual([]);
    expect(missingCitations(readme, listFiles(REPO_ROOT, ["."], () => true).map((f) => f.replace(/^\.\//, "")))).toEqual([]);
  });
  it("names files and directories in camelCase", () => {
    expect(caseViolations(listFiles(REPO_ROOT, NAMED_ROOTS, (f) => f.endsWith(".ts") || f.endsWith(".mjs")))).toEqual([]);
  });
  it("cites in comments only files the repository holds", () => {
    const all = listFiles(REPO_ROOT, ["."], () => true).map((f) => f.replace(/^\.\//, ""));
    const sources = readSources(REPO_ROOT, all.filter((f) => /\.(ts|mjs)$/.test(f)));
    expect(citationViolations(sources, all)).toEqual([]);
    // Parsing every file of the repository: seconds on a busy machine.
  }, 60_000);
});

describe("the checks themselves", () => {
  const file = (p: string, text: string) => ({ path: p, text });

  it("name the file and the import that points up, however it is written", () => {
    for (const text of [
      'import { x } from "../controller/context.ts";',
      'import type { EventRecorder } from "../controller/context.ts";',
      'export { x } from "../controller/context.ts";',
      'export * from "../controller/context.ts";',
      'const m = await import("../controller/context.ts");',
      'import {\n  a,\n  b,\n} from "../controller/context.ts";',
    ]) {
      expect(layerViolations([file("operator/src/kube/events.ts", text)]), text).toEqual([
        "operator/src/kube/events.ts (layer kube) imports ../controller/context.ts (layer controller): dependencies point down only",
      ]);
    }
  });

  it("keep product code off local/ and the Pulumi programs off the controller", () => {
    expect(layerViolations([file("operator/src/provision/pulumi.ts", 'import { NODEJS_SDK_ENV } from "../local/pulumiTool.ts";')])).toHaveLength(1);
    expect(layerViolations([file("operator/src/controller/manager.ts", 'import { ensurePulumi } from "../local/pulumiCli.ts";')])).toHaveLength(1);
    expect(layerViolations([file("pulumi/tags.ts", 'import { LABELS } from "../operator/src/controller/labels.ts";')])).toHaveLength(1);
  });

  it("allow imports down and within a layer, and of packages", () => {
    const ok = [
      file("operator/src/cli/operator.ts", 'import { ensurePulumi } from "../local/pulumiCli.ts";\nimport { pino } from "pino";'),
      file("operator/src/controller/stacks.ts", 'import { costTags } from "../../../pulumi/tags.ts";\nimport { x } from "./context.ts";'),
      file("pulumi/program.ts", 'import type { StackRequest } from "../operator/src/provision/port.ts";\nimport { createHash } from "node:crypto";'),
      file("operator/src/config.ts", 'import { DNS_LABEL } from "./api/v1alpha1/common.ts";'),
    ];
    expect(layerViolations(ok)).toEqual([]);
  });

  it("refuse a file in no layer, and an import of a file outside the layered sources", () => {
    expect(layerViolations([file("operator/src/util/x.ts", "")])).toEqual(["operator/src/util/x.ts is in no layer: add its directory to LAYERS in test/unit/architecture/layers.ts"]);
    expect(layerViolations([file("operator/src/cli/x.ts", 'import { poll } from "../../../test/poll.ts";')])).toEqual([
      "operator/src/cli/x.ts imports ../../../test/poll.ts, which is outside the layered sources (operator/src, pulumi)",
    ]);
  });

  it("find a layer the README layout leaves out or lists out of order, and a document's missing file", () => {
    const all = LAYERS.flatMap((l) => l.paths).join("  x\n");
    expect(layoutProblems(all)).toEqual([]);
    expect(layoutProblems(all.replace("operator/src/kube/", "operator/src/kubernetes/"))).toEqual(["the layout does not list operator/src/kube (layer kube)"]);
    expect(layoutProblems(["operator/src/cli/", ...LAYERS.flatMap((l) => l.paths)].join("\n").replace(/\noperator\/src\/cli\/$/, ""))).toEqual([
      "the layout lists the layers out of the table's order (lowest first)",
    ]);
    expect(missingCitations("see `test/poll.ts`, DESIGN.md and poll.ts", ["test/poll.ts"])).toEqual(["DESIGN.md"]);
  });

  it("find kebab-case and snake_case file and directory names", () => {
    expect(caseViolations(["operator/src/provision/plan-run.ts", "test/my_dir/a.ts", "test/unit/placement/placer.property.test.ts", "operator/src/api/v1alpha1/common.ts"])).toEqual([
      "operator/src/provision/plan-run.ts is not camelCase (e.g. planRun.ts)",
      "test/my_dir is not camelCase (e.g. myDir)",
    ]);
  });

  it("find a comment that cites a file the repository does not hold, and only in comments", () => {
    const repo = ["README.md", "pulumi/tags.ts", "operator/src/provision/port.ts"];
    const cites = (text: string): string[] => citationViolations([file("operator/src/provision/pulumi.ts", text)], repo);
    expect(cites("/** The adapter (DESIGN.md section 4). */\nexport const a = 1;")).toEqual([
      "operator/src/provision/pulumi.ts: a comment cites DESIGN.md, which is not in the repository: say the fact, or cite the README section",
    ]);
    expect(cites("export const a = 1;\n// see plan-run.ts\n")).toHaveLength(1);
    expect(cites("function f() {\n  return 1;\n  // trailing, before the brace: old-file.ts\n}\n")).toHaveLength(1);
    expect(cites('/** See the README and pulumi/tags.ts, port.ts and ./port.ts. */\nexport const a = "DESIGN.md"; // tags.ts')).toEqual([]);
    expect(commentsOf("const url = `http://x//y`; // real\n")).toEqual(["// real"]);
  });
});
