import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Debian's chromium, headless, for tests of pages Landlord writes. No puppeteer and no browser
 * download: .ci/run installs the `chromium` package. Each call runs a fresh browser with its own
 * profile, and no network: every host resolves to nothing, so a page that needed the network would
 * show it.
 */

export function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      const file = join(dir, name);
      if (dir && existsSync(file)) return file;
    }
  }
  return undefined;
}

/** Why a browser test cannot run here, or undefined when it can. With CI=true a missing chromium is a failure, not a skip. */
export function chromiumMissing(): string | undefined {
  if (findChromium()) return undefined;
  if (process.env.CI) throw new Error("chromium is not installed, and CI is set: .ci/run installs Debian's chromium package; the report test cannot be skipped in CI");
  return "chromium is not installed (apt-get install chromium): skipping the browser test of the HTML report";
}

function chromium(args: string[], timeoutMs = 60_000): Promise<string> {
  const browser = findChromium();
  if (!browser) throw new Error("chromium is not installed");
  const profile = mkdtempSync(join(tmpdir(), "landlord-chromium-"));
  return new Promise((done, reject) => {
    execFile(
      browser,
      [
        "--headless",
        // Root in a container has no user namespace sandbox to give.
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        '--host-resolver-rules=MAP * ~NOTFOUND',
        // Scripts run until the page is idle (charts drawn) before the DOM is dumped or the screenshot taken.
        "--virtual-time-budget=10000",
        ...args,
      ],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        rmSync(profile, { recursive: true, force: true });
        if (error) reject(new Error(`chromium ${args.join(" ")} failed: ${stderr.split("\n").filter((l) => !/dbus|Fontconfig/.test(l)).join("\n")}`));
        else done(stdout);
      },
    );
  });
}

/** The page's DOM after its scripts ran. */
export const dumpDom = (file: string): Promise<string> => chromium(["--dump-dom", pathToFileURL(file).href]);

/** A PNG of the page at `width`×`height`. */
export async function screenshot(file: string, png: string, width = 1400, height = 1800): Promise<void> {
  await chromium([`--screenshot=${png}`, `--window-size=${width},${height}`, pathToFileURL(file).href]);
}
