#!/bin/sh
':' //; flags='--max-semi-space-size=1 --heap-growing-percent=50 --no-opt --no-sparkplug --no-maglev'; case "$1" in run | resume | merge | worker | mcp) ;; *) flags= ;; esac; exec node $flags "$0" "$@"
// The published entry point: orch bundled into dist/bundle/ (scripts/bundle.ts) by npm run build.
//
// bin/orch.js is a shell script and a JavaScript module at once. Started by a shell (the #! line),
// /bin/sh reads the second line (`:` does nothing) and replaces itself with node, given the
// flags below only for the commands that hold a run in a long-lived process (`run`, `resume`,
// `merge`, `worker`, `mcp`); node reads the second line as a string and a comment. Every other
// command (status, plan, clean, wait, logs, report, init, workers, help, `--version`, and an option
// given before the command name, which only `-V`/`-h` accept) starts without them. Why not `#!/usr/bin/env -S node <flags>`: any V8 flag on node's command line
// makes V8 refuse the code cache of Node's own built-in modules (compiled at every start instead,
// measured: 4–6 ms CPU for status, 6–10 ms for plan), and the short commands need no flag; only a
// run's memory does. A background orch (`--detach`) gets the flags, read from the second line
// (src/commands/detach.ts).
//
// The flags keep this node process's memory small (never the agents', which orch starts with an
// environment of their own), measured on a 32-task run (README, Benchmarks):
// - a young generation of 1 MB per semi-space instead of the 16 MB V8 grows it to;
// - an old generation that grows by half (not up to 4×) before the next full collection, so
//   garbage of the start (parsed prompts, loaded code) is collected instead of accumulating;
// - no optimizing or baseline compilers: orch waits on git and agents, its JavaScript is never hot
//   enough to repay compiled code, and the compilers' code and the parts of node they touch are
//   resident memory. A 32-task run used no more CPU without them.
// Together they took a 32-task run's orch from ~93 MB to ~67 MB at its peak. V8 sizes its young
// generation when it starts (`v8.setFlagsFromString` later does not change it), so only node's
// command line can set that one, and with it on the line the others cost nothing more there.
import module from 'node:module';

// `status` and `plan` run from a script of their own with a code cache orch keeps
// (src/util/code-cache.ts, $XDG_CACHE_HOME/orch/code): Node 20 has no compile cache for our code,
// and on Node 22 this was faster than Node's own too (measured: README, Benchmarks). Every other
// command: Node ≥ 22.1 keeps the compiled code of the bundle between runs (in the OS's temp
// folder); older Nodes start without it.
const command = process.argv[2];
if (command === 'status' || command === 'plan') {
  const { runShortCommand } = await import('../dist/bundle/code-cache.js');
  process.exitCode = await runShortCommand(process.argv);
} else {
  module.enableCompileCache?.();
  const { main } = await import('../dist/bundle/main.js');
  process.exitCode = await main(process.argv);
}
