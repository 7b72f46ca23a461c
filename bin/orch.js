#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=50 --no-opt --no-sparkplug --no-maglev
// The published entry point: orch bundled into dist/bundle/ (scripts/bundle.ts) by npm run build.
//
// The #! line gives this node process (never the agents, which orch starts with an environment of
// their own) V8 flags that keep its memory small, measured on a 32-task run (README, Benchmarks):
// - a young generation of 1 MB per semi-space instead of the 16 MB V8 grows it to;
// - an old generation that grows by half (not up to 4×) before the next full collection, so
//   garbage of the start (parsed prompts, loaded code) is collected instead of accumulating;
// - no optimizing or baseline compilers: orch waits on git and agents, its JavaScript is never hot
//   enough to repay compiled code, and the compilers' code and the parts of node they touch are
//   resident memory. A 32-task run used no more CPU without them.
// Together they took a 32-task run's orch from ~93 MB to ~67 MB at its peak. V8 reads them when it starts,
// so only node's command line can set them: `env -S` (coreutils 8.30 or newer, macOS, FreeBSD)
// splits the line into node and its flags. A background orch (`--detach`) is started with the
// same flags, read from this line (src/commands/detach.ts).
import module from 'node:module';

// Node ≥ 22.1 keeps the compiled code of the bundle between runs (in the OS's temp folder):
// short commands start faster from the second run on. Older Nodes start without it.
module.enableCompileCache?.();
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv);
