/** Wrong words on the command line: printed as one line and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
