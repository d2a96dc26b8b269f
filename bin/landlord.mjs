#!/usr/bin/env node
// Runs the TypeScript sources through tsx so a fresh clone works right after `npm install`,
// with no separate build step that could leave a stale dist/ behind. The container image runs
// the same sources the same way (see Dockerfile).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../operator/src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
