import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../operator/src/local/paths.ts";

/** The commands `.ci/run` lets `npm test` see: its lines, without comments. */
function prerequisites(): string[] {
  return readFileSync(join(projectRoot, ".ci/prerequisites"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "")
    .map((line) => line.split(/\s+/)[0] as string);
}

function quickStart(): string {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  const start = readme.indexOf("## Quick start");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end);
}

describe("what a machine must already have", () => {
  it("is listed in the README's Quick start exactly as .ci/run enforces it", () => {
    const listed = prerequisites();
    expect(listed).toEqual(expect.arrayContaining(["node", "npm", "go", "openssl"]));
    const table = quickStart().split("\n").filter((line) => line.startsWith("| `"));
    const inReadme = table.flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
    expect(inReadme.sort()).toEqual([...listed].sort());
  });

  it("names no system path of a binary anywhere in the sources or tests", () => {
    // A hard-coded /usr/bin/prometheus is how the project once depended on a Debian package no
    // README mentioned; every binary is found on PATH (prerequisites) or built into .cache/bin.
    const offenders: string[] = [];
    const sources = sourceFiles();
    for (const file of sources) {
      const text = readFileSync(join(projectRoot, file), "utf8");
      // Anywhere: a component the project builds itself, found at a system path.
      for (const match of text.matchAll(BUILT_HERE_AT_SYSTEM_PATH)) offenders.push(`${file}: ${match[1]}`);
      // In the product: any system path (a program is found on PATH or by nodeHost's which()).
      if (!file.startsWith("test/")) {
        for (const match of text.matchAll(/["'`](\/usr(?:\/local)?\/s?bin\/[a-z0-9._-]+)/g)) {
          if (match[1] !== "/usr/bin/env") offenders.push(`${file}: ${match[1]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});

const BUILT_HERE_AT_SYSTEM_PATH = /["'`](\/usr(?:\/local)?\/s?bin\/(?:prometheus|promtool|kubectl|helm|pulumi|etcd|kube-[a-z-]+|kubelet))\b/g;

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(projectRoot, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mjs|js)$/.test(entry.name)) out.push(path);
    }
  };
  for (const dir of ["operator", "test", "bin", "pulumi"]) walk(dir);
  return out;
}
