import { execFileSync } from "node:child_process";

/** Whether openssl is on PATH: the local HTTPS servers of these tests get their certificates from it (ensurePki). */
export const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
