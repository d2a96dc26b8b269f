// Preloaded with node --import into a measured child: on exit it writes the process's peak RSS
// (VmHWM, the kernel's high-water mark) to stderr, so the parent reads the true peak, not a sample.
import { readFileSync } from "node:fs";

process.on("exit", () => {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  process.stderr.write(`\nbench-peak-rss-kib ${kib ?? "?"}\n`);
});
