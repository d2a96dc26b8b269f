import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { generate, HEADER, OUTPUT_DIRS, renderCrds, REPO_ROOT } from "../../../operator/src/api/generate.ts";

const FILES = [
  "costreports.landlord.dev.yaml",
  "placementdecisions.landlord.dev.yaml",
  "placementpolicies.landlord.dev.yaml",
  "tenantplacements.landlord.dev.yaml",
  "tenantpools.landlord.dev.yaml",
];

async function readOrNull(file: string): Promise<string | null> {
  return readFile(file, "utf8").catch(() => null);
}

describe("npm run generate", () => {
  it("renders one CustomResourceDefinition per kind, with the do-not-edit header", () => {
    const files = renderCrds();
    expect([...files.keys()].sort()).toEqual(FILES);
    for (const [name, text] of files) {
      expect(text.startsWith(HEADER)).toBe(true);
      const crd = parse(text) as { apiVersion: string; kind: string; metadata: { name: string } };
      expect(crd.apiVersion).toBe("apiextensions.k8s.io/v1");
      expect(crd.kind).toBe("CustomResourceDefinition");
      expect(`${crd.metadata.name}.yaml`).toBe(name);
    }
  });

  it("is deterministic", () => {
    expect([...renderCrds()]).toEqual([...renderCrds()]);
  });

  it.each(OUTPUT_DIRS.flatMap((dir) => FILES.map((file) => [path.join(dir, file)] as const)))(
    "committed %s is up to date",
    async (file) => {
      const committed = await readOrNull(path.join(REPO_ROOT, file));
      const expected = renderCrds().get(path.basename(file));
      // toBe on the whole text prints a diff; the message says how to fix it.
      expect(committed, `${file} is stale: run npm run generate`).toBe(expected);
    },
  );

  it("--check lists stale files and writes nothing; a normal run writes them", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "landlord-generate-"));
    try {
      const stale = await generate({ root, check: true });
      expect(stale).toHaveLength(FILES.length * OUTPUT_DIRS.length);
      expect(await readOrNull(path.join(root, "crds", FILES[0]!))).toBeNull();
      expect(await generate({ root, check: false })).toEqual(stale);
      expect(await generate({ root, check: true })).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("removes a file it generated for a kind that no longer exists, and nothing else", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "landlord-generate-"));
    try {
      await mkdir(path.join(root, "crds"), { recursive: true });
      await writeFile(path.join(root, "crds", "olds.landlord.dev.yaml"), `${HEADER}kind: Old\n`);
      await writeFile(path.join(root, "crds", "handwritten.landlord.dev.yaml"), "kind: Mine\n");
      expect(await generate({ root, check: true })).toContain(path.join("crds", "olds.landlord.dev.yaml"));
      await generate({ root, check: false });
      expect(await readOrNull(path.join(root, "crds", "olds.landlord.dev.yaml"))).toBeNull();
      expect(await readOrNull(path.join(root, "crds", "handwritten.landlord.dev.yaml"))).toBe("kind: Mine\n");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
