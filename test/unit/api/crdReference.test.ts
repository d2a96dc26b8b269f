import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { crdSchema, type JSONSchemaProps } from "../../../operator/src/api/crd.ts";
import { generateReference, REFERENCE_FILE, REFERENCE_HEADER, renderReference, REPO_ROOT } from "../../../operator/src/api/generate.ts";
import { CRDS } from "../../../operator/src/api/v1alpha1/index.ts";

/** Every field path the reference should list: the same walk over the CRD schema, written independently. */
function paths(node: JSONSchemaProps, at: string, out: string[]): string[] {
  out.push(at);
  for (const [name, child] of Object.entries(node.properties ?? {})) paths(child, `${at}.${name}`, out);
  const items = node.items;
  if (items?.properties) for (const [name, child] of Object.entries(items.properties)) paths(child, `${at}[].${name}`, out);
  const values = node.additionalProperties;
  if (values?.properties) for (const [name, child] of Object.entries(values.properties)) paths(child, `${at}.<key>.${name}`, out);
  return out;
}

describe("docs/crd-reference.md", () => {
  const text = renderReference();

  it("is committed up to date (run npm run generate after changing a schema)", async () => {
    const committed = await readFile(path.join(REPO_ROOT, REFERENCE_FILE), "utf8").catch(() => null);
    expect(committed, `${REFERENCE_FILE} is stale: run npm run generate`).toBe(text);
  });

  it("is deterministic and carries the do-not-edit header", () => {
    expect(renderReference()).toBe(text);
    expect(text.startsWith(REFERENCE_HEADER)).toBe(true);
  });

  it.each(CRDS.map((d) => [d.kind, d] as const))("lists every field of %s, its short names and printer columns", (kind, descriptor) => {
    const schema = crdSchema(descriptor);
    const start = text.indexOf(`## ${kind}\n`);
    const end = text.indexOf("\n## ", start + 1);
    const section = text.slice(start, end === -1 ? undefined : end);
    expect(start).toBeGreaterThan(0);
    for (const part of ["spec", "status"] as const) {
      const node = schema.properties?.[part];
      if (!node) continue;
      for (const field of paths(node, part, [])) expect(section, `${kind} ${field}`).toContain(`| \`${field}\` |`);
    }
    for (const shortName of descriptor.shortNames) expect(section).toContain(`\`${shortName}\``);
    for (const column of descriptor.printerColumns) expect(section).toContain(`| ${column.name}`);
  });

  it("shows defaults, enums and the API server's validation messages", () => {
    expect(text).toContain('| `spec.policyRef` | string | `"default"` |');
    expect(text).toMatch(/\| `spec\.tier\.mode` \| string \| `"Auto"` \| [^\n]*\| one of `Auto`, `Pinned` \|/);
    // A CEL rule: its message and its rule, pipes escaped so the table holds.
    expect(text).toContain("pinned is required when mode is Pinned (on `.pinned`): `!has(self.mode) \\|\\| self.mode != 'Pinned' \\|\\| has(self.pinned)`");
    expect(text).toContain("tenantId is immutable: `self == oldSelf`");
    // Every table row has the same number of unescaped pipes as its header.
    for (const line of text.split("\n").filter((l) => l.startsWith("| `"))) {
      expect(line.replace(/\\\|/g, "").split("|").length, line).toBe(7);
    }
  });

  it("--check reports it missing and writes nothing; a normal run writes it", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "landlord-reference-"));
    try {
      expect(await generateReference({ root, check: true })).toEqual([REFERENCE_FILE]);
      expect(await readFile(path.join(root, REFERENCE_FILE), "utf8").catch(() => null)).toBeNull();
      expect(await generateReference({ root, check: false })).toEqual([REFERENCE_FILE]);
      expect(await generateReference({ root, check: true })).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
