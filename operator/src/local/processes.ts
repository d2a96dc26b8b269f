import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

/** Starts a server detached from this process, so it outlives a short `landlord local up`. */
export function startDetached(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): number {
  const fd = openSync(logFile, "a");
  try {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd], env });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
export async function stopProcess(pid: number | undefined, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid as number, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) process.kill(pid as number, "SIGKILL");
  // Bounded: a zombie whose parent never reaps it would look alive forever.
  const killDeadline = Date.now() + 5_000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(50);
}

export function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** Polls `check` until it passes; fails at once, with the tail of its log, when the process exits first. */
export async function waitFor(name: string, check: () => Promise<boolean>, pid: number, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error(`${name} exited while starting; last lines of ${logFile}:\n${tail(logFile)}`);
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`${name} was not ready after ${Math.round(timeoutMs / 1000)}s; last lines of ${logFile}:\n${tail(logFile)}`);
}
