#!/usr/bin/env -S node --max-semi-space-size=1
// The published entry point: orch bundled into dist/bundle/ (scripts/bundle.ts) by npm run build.
//
// The #! line gives this node process (never the agents, which orch starts with an environment of
// their own) a young generation of 1 MB per semi-space instead of the 16 MB V8 grows it to:
// a 32-task run peaks at ~86 MB instead of ~110 MB, at no measured cost in time (README,
// Benchmarks). V8 sizes it when it starts, so only node's command line can set it: `env -S`
// (coreutils 8.30 or newer, macOS, FreeBSD) splits the line into node and its flags. A background
// orch (`--detach`) is started with the same flags, read from this line (src/commands/detach.ts).
import module from 'node:module';

// Node ≥ 22.1 keeps the compiled code of the bundle between runs (in the OS's temp folder):
// short commands start faster from the second run on. Older Nodes start without it.
module.enableCompileCache?.();
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv);
