#!/usr/bin/env node
// Runs the TypeScript sources through tsx so a fresh clone works right after `npm install`,
// with no separate build step that could leave a stale dist/ behind. The container image compiles
// the same sources in its build and runs them with plain node (see Dockerfile).
import { register } from "tsx/esm/api";

register();
await import("../operator/src/cli/run.ts");
