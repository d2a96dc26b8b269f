#!/usr/bin/env -S node --expose-gc
// --expose-gc: the operator collects garbage once it has been quiet after a burst of work
// (operator/src/kube/idleCollector.ts), which needs V8's gc() from the process's start; the image's
// entrypoint passes the same flag, and `node bin/landlord.mjs` without it runs without that collection.
// Runs the TypeScript sources through tsx so a fresh clone works right after `npm install`,
// with no separate build step that could leave a stale dist/ behind. The container image compiles
// the same sources in its build and runs them with plain node (see Dockerfile).
import { register } from "tsx/esm/api";

register();
await import("../operator/src/cli/run.ts");
