import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REPO_ROOT } from "../../../operator/src/api/generate.ts";
import { main } from "../../../operator/src/cli/main.ts";
import { envName, parseConfig, type ConfigDeps } from "../../../operator/src/config.ts";
import { createMetrics } from "../../../operator/src/metrics/metrics.ts";

/**
 * The README's reference parts checked against the code, so they cannot go stale: the CLI's
 * commands and their --help, the configuration table (every operator option, its environment
 * variables and defaults) and the metrics list.
 */

const README = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const COMMANDS = ["operator", "audit", "explain", "history", "plan", "costs", "dev", "local"];
const DEPS: ConfigDeps = { hostname: () => "host", suffix: () => "0000" };

/** Runs the CLI in-process and returns what it printed on stdout. */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stdout };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the CLI's help", () => {
  it("lists every command, and the README's CLI reference has a row for each", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const command of COMMANDS) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
      expect(README).toMatch(new RegExp(`^\\| \`landlord ${command}\\b`, "m"));
    }
  });

  it.each(COMMANDS)("landlord %s --help shows usage and an example", async (command) => {
    const { code, stdout } = await cli([command, "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: landlord /);
    expect(stdout).toMatch(/\nExamples?:\n {2}\S/);
  });
});

interface ConfigRow {
  flag: string;
  env: string[];
  /** The literal default when the cell starts with one, e.g. "15s"; undefined for prose ("unset", ...). */
  literal?: string;
}

/** The rows of the README's configuration table: | `--flag` | `ENV`, `ENV` | default | meaning |. */
function configRows(): ConfigRow[] {
  return README.split("\n")
    .filter((line) => line.startsWith("| `--"))
    .map((line) => {
      const [flagCell = "", envCell = "", defaultCell = ""] = line.slice(1).split(" | ").map((c) => c.trim());
      const literal = /^`([^`]*)`/.exec(defaultCell)?.[1];
      return { flag: flagCell.replace(/`/g, "").replace(/^--/, ""), env: [...envCell.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1] as string), ...(literal !== undefined ? { literal } : {}) };
    });
}

function knownFlags(): string[] {
  const result = parseConfig(["--no-such-option"], {}, DEPS);
  if (result.ok) throw new Error("an unknown option was accepted");
  const list = /known options are (.*)$/.exec(result.error)?.[1] ?? "";
  return list.split(", ").map((f) => f.replace(/^--/, ""));
}

function configOf(argv: string[], env: Record<string, string> = {}): unknown {
  const result = parseConfig(argv, env, DEPS);
  if (!result.ok) throw new Error(result.error);
  return result.config;
}

/** A valid value, other than the default, for each option a conventional variable also sets. */
const SAMPLES: Record<string, string> = {
  kubeconfig: "/tmp/kubeconfig",
  "lease-namespace": "ops",
  "pulumi-backend-url": "file:///tmp/landlord-state",
  "aws-region": "eu-west-1",
};

describe("the README's configuration table", () => {
  const rows = configRows();

  it("has one row per operator option, in any order", () => {
    expect(rows.map((r) => r.flag).sort()).toEqual(knownFlags().sort());
  });

  it.each(rows.map((r) => [r.flag, r] as const))("--%s: its LANDLORD_ variable, its conventional one, its default", (flag, row) => {
    expect(row.env[0], "the first variable is LANDLORD_<FLAG>").toBe(envName(flag));
    for (const name of row.env.slice(1)) {
      const sample = SAMPLES[flag];
      expect(sample, `add a sample value for --${flag} to SAMPLES to check ${name}`).toBeDefined();
      // The variable sets exactly what the flag sets, and that is not the default.
      expect(configOf([], { [name]: sample as string })).toEqual(configOf([`--${flag}`, sample as string]));
      expect(configOf([], { [name]: sample as string })).not.toEqual(configOf([]));
    }
    if (row.literal !== undefined) {
      // Giving the documented default explicitly changes nothing ($TMPDIR is the system's temp dir).
      expect(configOf([`--${flag}=${row.literal.replace("$TMPDIR", tmpdir())}`])).toEqual(configOf([]));
    }
  });
});

describe("the README's metrics table", () => {
  it("names every metric the operator registers, and no other", async () => {
    const registered = (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name).sort();
    const documented = [...README.matchAll(/^\| `(landlord_[a-z_]+)` \|/gm)].map((m) => m[1] as string).sort();
    expect(documented).toEqual(registered);
  });
});
