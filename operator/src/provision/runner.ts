import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { ProvisionError, stackName, type ProvisionErrorKind, type StackBackend, type StackRequest, type StackResult } from "./port.ts";

/**
 * Runs a StackBackend's blocking operations in the background, so a `pulumi up` of minutes never
 * holds a reconcile: the controller asks `ensure(...)`, gets the operation's state at once, records
 * it in status and requeues; when the operation settles the runner wakes the tenant.
 *
 * Guarantees: one operation per stack at a time, at most `concurrency` operations at once, a
 * timeout per operation, cancellation of everything on close(), and a backoff after each failure
 * that depends on what failed (a held lock clears in seconds, a bad program does not).
 */

export type Operation = "up" | "destroy";

export type OperationState =
  | { state: "queued" | "running"; operation: Operation; since: Date }
  | { state: "succeeded"; operation: "up"; result: StackResult; at: Date }
  | { state: "succeeded"; operation: "destroy"; at: Date }
  | { state: "failed"; operation: Operation; error: ProvisionError; failures: number; retryAt: Date; at: Date };

export interface OperationRunner {
  readonly kind: StackBackend["kind"];
  /**
   * Brings the stack towards `operation` for `request` and returns where that stands. Starts the
   * operation unless the same one (same request) is running, has succeeded, or failed and waits
   * for its retry time. A different operation on a busy stack waits for the running one to end.
   * `failures` seeds the backoff after a restart (the count lives in the tenant's status).
   */
  ensure(operation: Operation, request: StackRequest, options?: { failures?: number }): OperationState;
  /** Whether this process has run (or runs) an operation on the request's stack since it started. */
  knows(request: Pick<StackRequest, "tenantId" | "kind">): boolean;
  /** Forgets what is known of a stack (after it was destroyed and recorded). */
  forget(tenantId: string, kind: StackRequest["kind"]): void;
  /** Number of operations running or queued. */
  active(): number;
  /** Cancels every operation and waits for them to settle. */
  close(): Promise<void>;
}

export interface RunnerOptions {
  backend: StackBackend;
  concurrency: number;
  timeoutMs: number;
  /** Called when an operation of the tenant settles, to requeue it. */
  onSettled: (tenantId: string) => void;
  now?: () => Date;
  log?: Logger;
  /** Observes each settled operation (metrics). */
  observe?: (operation: Operation, outcome: "succeeded" | ProvisionErrorKind, durationMs: number) => void;
}

/** Delay before retry number `failures` (1-based) for a kind of error. */
export function retryDelayMs(kind: ProvisionErrorKind, failures: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 16));
  switch (kind) {
    case "ConcurrentUpdate":
      return Math.min(10_000 * 2 ** exponent, 120_000);
    case "Cancelled":
      return 0;
    case "Timeout":
    case "ProgramError":
      return Math.min(60_000 * 2 ** exponent, 3_600_000);
  }
}

/** A stable digest of a request: a changed spec (tags, settings) means a new operation. */
export function requestHash(request: StackRequest): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
    }
    return value;
  };
  return createHash("sha256").update(JSON.stringify(canonical(request))).digest("hex").slice(0, 16);
}

interface Entry {
  operation: Operation;
  hash: string;
  tenantId: string;
  state: OperationState;
  failures: number;
  abort?: AbortController;
  settled?: Promise<void>;
}

export function createOperationRunner(options: RunnerOptions): OperationRunner {
  const { backend, concurrency, timeoutMs, onSettled } = options;
  const now = options.now ?? (() => new Date());
  const entries = new Map<string, Entry>();
  const waiting: Array<() => void> = [];
  let running = 0;
  let closed = false;

  const acquire = async (): Promise<void> => {
    if (running < concurrency) {
      running++;
      return;
    }
    await new Promise<void>((resolveTurn) => waiting.push(resolveTurn));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  async function execute(entry: Entry, request: StackRequest): Promise<void> {
    const abort = entry.abort as AbortController;
    const started = Date.now();
    await acquire();
    let timer: NodeJS.Timeout | undefined;
    try {
      if (abort.signal.aborted) throw abort.signal.reason;
      entry.state = { state: "running", operation: entry.operation, since: now() };
      timer = setTimeout(() => abort.abort(new ProvisionError("Timeout", `${entry.operation} of ${stackName(request.tenantId, request.kind)} ran past ${Math.round(timeoutMs / 1000)}s and was cancelled`)), timeoutMs);
      if (entry.operation === "up") {
        const result = await backend.up(request, abort.signal);
        entry.state = { state: "succeeded", operation: "up", result, at: now() };
      } else {
        await backend.destroy(request, abort.signal);
        entry.state = { state: "succeeded", operation: "destroy", at: now() };
      }
      entry.failures = 0;
      options.observe?.(entry.operation, "succeeded", Date.now() - started);
    } catch (caught) {
      const error = abort.signal.aborted && abort.signal.reason instanceof ProvisionError ? abort.signal.reason : classify(caught);
      entry.failures++;
      const at = now();
      entry.state = { state: "failed", operation: entry.operation, error, failures: entry.failures, retryAt: new Date(at.getTime() + retryDelayMs(error.kind, entry.failures)), at };
      options.log?.warn({ tenant: entry.tenantId, operation: entry.operation, kind: error.kind, failures: entry.failures, err: error.message }, "Provisioning operation failed");
      options.observe?.(entry.operation, error.kind, Date.now() - started);
    } finally {
      if (timer) clearTimeout(timer);
      release();
      delete entry.abort;
    }
    if (!closed) onSettled(entry.tenantId);
  }

  function start(key: string, operation: Operation, request: StackRequest, hash: string, failures: number): OperationState {
    const entry: Entry = { operation, hash, tenantId: request.tenantId, failures, state: { state: "queued", operation, since: now() }, abort: new AbortController() };
    entries.set(key, entry);
    entry.settled = execute(entry, request);
    return entry.state;
  }

  return {
    kind: backend.kind,
    ensure(operation, request, ensureOptions = {}) {
      const key = stackName(request.tenantId, request.kind);
      const hash = requestHash(request);
      const entry = entries.get(key);
      if (closed) return entry?.state ?? { state: "failed", operation, error: new ProvisionError("Cancelled", "the operator is shutting down"), failures: 0, retryAt: now(), at: now() };
      if (!entry) return start(key, operation, request, hash, ensureOptions.failures ?? 0);
      const busy = entry.state.state === "queued" || entry.state.state === "running";
      if (busy) return entry.state;
      const same = entry.operation === operation && entry.hash === hash;
      if (same && entry.state.state === "succeeded") return entry.state;
      if (same && entry.state.state === "failed" && entry.state.retryAt.getTime() > now().getTime()) return entry.state;
      // A new request or operation starts from a clean slate; a retry keeps counting failures.
      return start(key, operation, request, hash, same ? entry.failures : 0);
    },
    knows: (request) => entries.has(stackName(request.tenantId, request.kind)),
    forget(tenantId, kind) {
      const key = stackName(tenantId, kind);
      const entry = entries.get(key);
      if (entry && entry.state.state !== "queued" && entry.state.state !== "running") entries.delete(key);
    },
    active: () => [...entries.values()].filter((e) => e.state.state === "queued" || e.state.state === "running").length,
    async close() {
      closed = true;
      for (const entry of entries.values()) entry.abort?.abort(new ProvisionError("Cancelled", "the operator is shutting down"));
      await Promise.all([...entries.values()].map((e) => e.settled));
      await backend.close?.();
    },
  };
}

/** Adapters throw ProvisionError; anything else is a bug or an unclassified failure of the program. */
function classify(error: unknown): ProvisionError {
  if (error instanceof ProvisionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProvisionError("ProgramError", message, { cause: error });
}
