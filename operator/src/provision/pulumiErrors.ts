import { ellipsize } from "../api/text.ts";
import { ProvisionError } from "./port.ts";

/**
 * The one place where what the Automation API throws becomes a ProvisionError. The runner decides
 * retries from the kind, and the message lands in a condition on the tenant: it must say what went
 * wrong in the CLI's words, briefly, and never carry a secret.
 */

/** Longest message kept: a condition message is read by people, not parsed. */
export const MESSAGE_LIMIT = 1000;

/** What a CommandError carries; the field is private in the SDK's types but is how it reports output. */
interface CommandResultLike {
  stdout?: unknown;
  stderr?: unknown;
}

function commandResultOf(error: Error): CommandResultLike | undefined {
  const result = (error as Error & { commandResult?: unknown }).commandResult;
  return result && typeof result === "object" ? (result as CommandResultLike) : undefined;
}

/** The SDK's error classes, recognised by name: the adapter and a test may load different copies of the SDK. */
function isNamed(error: unknown, name: string): error is Error {
  return error instanceof Error && error.name === name;
}

/** Replaces every known secret value by "[secret]"; short values are skipped, they would mangle ordinary words. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[secret]");
  return out;
}

// Lines that are the CLI's bookkeeping, not the reason.
const NOISE = [/^error: update failed$/, /^error: destroy failed$/, /^error: preview failed$/, /^error: one or more errors occurred/i];

/**
 * The reason in the CLI's words. The engine prints each diagnostic as "error: ..." under
 * "Diagnostics:" on stdout and a summary on stderr; the distinct error lines are the reason. When
 * there are none (a crash, a refused flag) the last lines of stderr are.
 */
export function cliMessage(stdout: string, stderr: string): string {
  const lines = `${stdout}\n${stderr}`.split(/\r?\n/).map((line) => line.trim());
  const errors = [...new Set(lines.filter((line) => /^error: /.test(line)))];
  // A program's exception is printed twice, once as "Unhandled exception: Error: <message>".
  const reasons = errors.filter((line) => !NOISE.some((noise) => noise.test(line))).map((line) => line.replace(/^error: (Unhandled exception: )?(Error: )?/, ""));
  if (reasons.length > 0) return [...new Set(reasons)].join("; ");
  if (errors.length > 0) return errors.join("; ");
  const tail = stderr.split(/\r?\n/).map((line) => line.trim()).filter(Boolean).slice(-5);
  return tail.length > 0 ? tail.join("; ") : "the Pulumi CLI failed without saying why";
}


/** The abort reason when the signal fired: the runner's own ProvisionError (Timeout or Cancelled), else Cancelled. */
export function abortError(signal: AbortSignal, what: string): ProvisionError {
  const reason: unknown = signal.reason;
  if (reason instanceof ProvisionError) return reason;
  return new ProvisionError("Cancelled", `${what} was cancelled`, { cause: reason });
}

/**
 * Classifies an error thrown while running `what` (e.g. "up of landlord-acme-database"). An aborted
 * signal wins over the error it caused (the CLI killed by SIGINT fails with an unhelpful message).
 */
export function classifyPulumiError(error: unknown, options: { what: string; signal?: AbortSignal; secrets?: Iterable<string> }): ProvisionError {
  const { what, signal } = options;
  const secrets = [...(options.secrets ?? [])];
  if (signal?.aborted) return abortError(signal, what);
  if (error instanceof ProvisionError) return error;
  // No CLI error becomes a cause: its message holds the whole command line, and
  // `config set-all --secret` puts secret values on it.
  if (isNamed(error, "ConcurrentUpdateError")) {
    return new ProvisionError("ConcurrentUpdate", `${what}: another update holds the stack's lock; it is retried once the lock is released`);
  }
  if (error instanceof Error) {
    const result = commandResultOf(error);
    const text =
      result && (typeof result.stdout === "string" || typeof result.stderr === "string")
        ? cliMessage(String(result.stdout ?? ""), String(result.stderr ?? ""))
        : error.message;
    return new ProvisionError("ProgramError", ellipsize(`${what} failed: ${redact(text, secrets)}`, MESSAGE_LIMIT), result ? undefined : { cause: error });
  }
  return new ProvisionError("ProgramError", ellipsize(`${what} failed: ${redact(String(error), secrets)}`, MESSAGE_LIMIT));
}
