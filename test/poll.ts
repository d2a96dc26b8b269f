/** Polling helpers shared by the integration and reliability suites (each has its own control plane). */

export const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** Polls until `check` returns a value other than undefined; fails with what it last saw. */
export async function until<T>(check: () => Promise<T | undefined>, options: { timeoutMs: number; what: string; everyMs?: number; describe?: () => string }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(options.everyMs ?? 250);
  }
  const seen = options.describe?.() ?? (last ? String(last) : "");
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${seen ? `: ${seen}` : ""}`);
}

/**
 * Waits for an operator process's /readyz; fails at once, with the tail of its output, if the
 * process exits first.
 */
export async function waitForOperator(operator: { ready(): Promise<boolean>; alive(): boolean; output(): string }, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!operator.alive()) throw new Error(`the operator exited while starting:\n${operator.output().slice(-4000)}`);
    if (await operator.ready()) return;
    await sleep(everyMs);
  }
  throw new Error(`the operator was not ready after ${timeoutMs} ms:\n${operator.output().slice(-4000)}`);
}
