#!/usr/bin/env node
// The published entry point: orch bundled into dist/bundle/ (scripts/bundle.ts) by npm run build.
import module from 'node:module';

// Node ≥ 22.1 keeps the compiled code of the bundle between runs (in the OS's temp folder):
// short commands start faster from the second run on. Older Nodes start without it.
module.enableCompileCache?.();
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv);
