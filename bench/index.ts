/**
 * `npm run bench`: every benchmark, each row side by side in one run against its baseline,
 * printed as one table (medians with min–max). Never part of `npm test`: figures depend on the
 * machine. BENCH_REPETITIONS sets the repetitions (default 5).
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { claudeMemory } from './claude-memory.js';
import { mergeVsShell } from './merge-vs-shell.js';
import { formatSpread } from './measure.js';
import { runVsShell } from './run-vs-shell.js';
import { startup } from './startup.js';
import { workersVsLocal } from './workers-vs-local.js';

const repetitions = Number(process.env.BENCH_REPETITIONS ?? 5);
console.log(
  `machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}`,
);
console.log(`repetitions: ${repetitions} (median, min–max)\n`);

const sideBySide = await runVsShell({ repetitions });
const memory = await claudeMemory(repetitions);
const merge = await mergeVsShell({ repetitions });
const workers = await workersVsLocal({ repetitions });
const starts = await startup({ repetitions });

const rows: string[][] = [
  [
    '32 no-op tasks at 4 at a time, wall',
    formatSpread(sideBySide.orch.wall, 's', 2, 1000),
    `shell loop: ${formatSpread(sideBySide.shell.wall, 's', 2, 1000)}`,
    `${formatSpread(sideBySide.wallRatio, '×')}`,
  ],
  [
    '  peak RSS of the whole process tree (agents, git, everything)',
    formatSpread(sideBySide.orch.treeRss, 'MB', 1),
    `shell loop: ${formatSpread(sideBySide.shell.treeRss, 'MB', 1)}`,
    `${(sideBySide.orch.treeRss.median / sideBySide.shell.treeRss.median).toFixed(1)}×`,
  ],
  ['  peak RSS of orch’s own processes (without the agents)', formatSpread(sideBySide.orch.ownRss, 'MB', 1), '—', '—'],
  [
    'orch merge of 32 task branches, check `true` after each, wall',
    formatSpread(merge.orch, 's', 2, 1000),
    `shell loop (git merge + check): ${formatSpread(merge.shell, 's', 2, 1000)}`,
    formatSpread(merge.ratio, '×'),
  ],
  [
    '`orch status` of a finished 8-task run, start to answer',
    formatSpread(starts.status, 'ms', 0),
    `node -e 0: ${formatSpread(starts.node, 'ms', 0)}`,
    formatSpread(starts.statusRatio, '×'),
  ],
  [
    '`orch plan` of 8 prompt files',
    formatSpread(starts.plan, 'ms', 0),
    `node -e 0: ${formatSpread(starts.node, 'ms', 0)}`,
    formatSpread(starts.planRatio, '×'),
  ],
  [
    '16 tasks of 2 s agents on two 4-slot workers (run --workers, real Redis), wall',
    formatSpread(workers.sleeping.workers, 's', 2, 1000),
    `local run, 8 slots: ${formatSpread(workers.sleeping.local, 's', 2, 1000)}`,
    formatSpread(workers.sleeping.ratio, '×'),
  ],
  [
    '  the same with no-op agents (the queue’s own cost)',
    formatSpread(workers.noop.workers, 's', 2, 1000),
    `local run, 8 slots: ${formatSpread(workers.noop.local, 's', 2, 1000)}`,
    `${formatSpread(workers.noop.ratio, '×')}; +${formatSpread(workers.noop.perTaskMs, 'ms', 0)} per task`,
  ],
  [
    `one real claude agent on a one-file task (offline${memory.sandboxed ? ', in its sandbox' : ''}), peak RSS of its process tree`,
    formatSpread(memory.peakRss, 'MB', 0),
    '—',
    '—',
  ],
];
console.log('| row | orch | baseline | ratio |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(
  `\nall runs, wall (s): orch ${sideBySide.runs.orch.map((ms) => (ms / 1000).toFixed(2)).join(', ')} · shell ${sideBySide.runs.shell.map((ms) => (ms / 1000).toFixed(2)).join(', ')}`,
);
console.log(`all runs, claude peak RSS (MB): ${memory.runs.map((mb) => mb.toFixed(0)).join(', ')}`);
