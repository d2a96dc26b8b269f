import { describe, expect, it } from "vitest";
import { ProvisionError } from "../../../operator/src/provision/port.ts";
import { abortError, classifyPulumiError, cliMessage, MESSAGE_LIMIT, redact } from "../../../operator/src/provision/pulumiErrors.ts";

/** What the Automation API throws: a CommandError subclass carrying the CLI's output (see automation/errors.js). */
function commandError(name: string, stdout: string, stderr: string): Error {
  const error = new Error(`code: 255\n stdout: ${stdout}\n stderr: ${stderr}\n err?: Error: Command failed with exit code 255: pulumi config set-all --secret db:password=hunter22\n`);
  error.name = name;
  Object.assign(error, { commandResult: { stdout, stderr, code: 255 } });
  return error;
}

// Output of a failed `pulumi up`, as the CLI prints it with --color never.
const UP_STDOUT = `Updating (landlord-acme-database):
 +  pulumi:pulumi:Stack landlord-landlord-acme-database creating (0s)
 +  aws:rds:Instance acme creating (1s) error: creating RDS DB Instance (landlord-acme): InvalidParameterCombination: RDS does not support creating a DB instance with the following combination: DBInstanceClass=db.t4g.nano, Engine=postgres
Diagnostics:
  aws:rds:Instance (acme):
    error: creating RDS DB Instance (landlord-acme): InvalidParameterCombination: RDS does not support creating a DB instance with the following combination: DBInstanceClass=db.t4g.nano, Engine=postgres

  pulumi:pulumi:Stack (landlord-landlord-acme-database):
    error: update failed
`;

describe("classifyPulumiError", () => {
  const what = "pulumi up of landlord-acme-database";

  it("makes a held stack lock a ConcurrentUpdate", () => {
    const error = commandError("ConcurrentUpdateError", "", "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.");
    const classified = classifyPulumiError(error, { what });
    expect(classified.kind).toBe("ConcurrentUpdate");
    expect(classified.message).toContain("landlord-acme-database");
  });

  it("makes a failed update a ProgramError in the CLI's own words, without its bookkeeping lines", () => {
    const classified = classifyPulumiError(commandError("CommandError", UP_STDOUT, "error: update failed\n"), { what });
    expect(classified.kind).toBe("ProgramError");
    expect(classified.message).toBe(
      `${what} failed: creating RDS DB Instance (landlord-acme): InvalidParameterCombination: RDS does not support creating a DB instance with the following combination: DBInstanceClass=db.t4g.nano, Engine=postgres`,
    );
  });

  it("never carries a secret: known values are scrubbed and the command line is not kept as a cause", () => {
    const error = commandError("CommandError", "", "error: could not decrypt: passphrase s3cr3t-pass is wrong\nCommand failed: pulumi config set-all --secret db:password=hunter22");
    const classified = classifyPulumiError(error, { what, secrets: ["s3cr3t-pass", "hunter22"] });
    expect(classified.message).not.toContain("s3cr3t-pass");
    expect(classified.cause).toBeUndefined();
    expect(JSON.stringify({ message: classified.message, cause: classified.cause })).not.toContain("hunter22");
  });

  it("reports the runner's abort reason (Timeout) over the error the interrupted CLI produced", () => {
    const controller = new AbortController();
    const timeout = new ProvisionError("Timeout", "up of landlord-acme-database ran past 1800s and was cancelled");
    controller.abort(timeout);
    expect(classifyPulumiError(commandError("CommandError", "", "error: update canceled"), { what, signal: controller.signal })).toBe(timeout);
  });

  it("makes any other abort a Cancelled", () => {
    const controller = new AbortController();
    controller.abort();
    const classified = classifyPulumiError(new Error("killed"), { what, signal: controller.signal });
    expect(classified.kind).toBe("Cancelled");
    expect(abortError(controller.signal, what).message).toBe(`${what} was cancelled`);
  });

  it("passes a ProvisionError through and wraps anything else as a ProgramError with its cause", () => {
    const own = new ProvisionError("ProgramError", "outputs lack endpoint");
    expect(classifyPulumiError(own, { what })).toBe(own);
    const spawn = new Error("spawn /nowhere/bin/pulumi ENOENT");
    const classified = classifyPulumiError(spawn, { what });
    expect(classified.kind).toBe("ProgramError");
    expect(classified.message).toContain("ENOENT");
    expect(classified.cause).toBe(spawn);
    expect(classifyPulumiError("a string", { what }).message).toBe(`${what} failed: a string`);
  });

  it("keeps messages short enough for a condition", () => {
    const long = `error: ${"x".repeat(5000)}`;
    expect(classifyPulumiError(commandError("CommandError", long, ""), { what }).message.length).toBe(MESSAGE_LIMIT);
  });
});

describe("cliMessage", () => {
  it("joins distinct error lines once each", () => {
    expect(cliMessage("error: a\nerror: b\n  error: a", "error: update failed")).toBe("a; b");
  });

  it("reports a program's exception once, though the CLI prints it twice", () => {
    const stderr = [
      "Command failed with exit code 1: /x/bin/pulumi up --yes --skip-preview --color never --client=127.0.0.1:33375 --exec-kind auto.inline --stack s --non-interactive",
      " +  pulumi:pulumi:Stack p-s creating (0s) error: Unhandled exception: Error: no capacity for acme",
      "Diagnostics:",
      "  pulumi:pulumi:Stack (p-s):",
      "    error: Unhandled exception: Error: no capacity for acme",
      "        at Object.program (/x/program.ts:10:32)",
      "    error: no capacity for acme",
    ].join("\n");
    expect(cliMessage("", stderr)).toBe("no capacity for acme");
  });

  it("falls back to the summary line, then to the last lines of stderr", () => {
    expect(cliMessage("", "error: update failed")).toBe("error: update failed");
    expect(cliMessage("progress", "panic: boom\ngoroutine 1 [running]:\n")).toBe("panic: boom; goroutine 1 [running]:");
    expect(cliMessage("", "")).toBe("the Pulumi CLI failed without saying why");
  });
});

describe("redact", () => {
  it("replaces every occurrence and ignores values too short to be secrets", () => {
    expect(redact("token abcd and abcd, id 42", ["abcd", "42"])).toBe("token [secret] and [secret], id 42");
  });
});
