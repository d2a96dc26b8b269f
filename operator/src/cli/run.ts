// The process entry: bin/landlord.mjs loads it through tsx in a clone; the container image runs its
// compiled form (dist/operator/src/cli/run.js) with plain node, which saves tsx's ~75 MiB per replica.
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
