/**
 * `npm run bench`: every benchmark, each row side by side in one run against its baseline,
 * printed as one table (medians with min–max). Never part of `npm test`: figures depend on the
 * machine. BENCH_REPETITIONS sets the repetitions (default 5); BENCH_ROWS (comma-separated:
 * noop, merge, startup, dag, large, workers, claude) runs only some rows.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { claudeMemory } from './claude-memory.js';
import { dagVsBound } from './dag-vs-bound.js';
import { largeRepo } from './large-repo.js';
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

const only = process.env.BENCH_ROWS?.split(',').map((row) => row.trim());
const wanted = (row: string): boolean => only === undefined || only.includes(row);

const rows: string[][] = [];
const notes: string[] = [];
if (wanted('noop')) {
  const sideBySide = await runVsShell({ repetitions });
  rows.push(
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
  );
  notes.push(
    `all runs, wall (s): orch ${sideBySide.runs.orch.map((ms) => (ms / 1000).toFixed(2)).join(', ')} · shell ${sideBySide.runs.shell.map((ms) => (ms / 1000).toFixed(2)).join(', ')}`,
  );
}
if (wanted('merge')) {
  const merge = await mergeVsShell({ repetitions });
  rows.push([
    'orch merge of 32 task branches, check `true` after each, wall',
    formatSpread(merge.orch, 's', 2, 1000),
    `shell loop (git merge + check): ${formatSpread(merge.shell, 's', 2, 1000)}`,
    formatSpread(merge.ratio, '×'),
  ]);
}
if (wanted('startup')) {
  const starts = await startup({ repetitions });
  rows.push(
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
  );
}
if (wanted('dag')) {
  const dag = await dagVsBound(repetitions);
  rows.push([
    `DAG: 16 short tasks (${dag.unitMs / 1000} s) given first, a chain of 5 (${(2 * dag.unitMs) / 1000} s each) given last, 4 at a time, wall`,
    formatSpread(dag.wall, 's', 2, 1000),
    `lower bound max(critical path, work ÷ slots): ${(dag.lowerBoundMs / 1000).toFixed(2)} s`,
    formatSpread(dag.ratio, '×'),
  ]);
}
if (wanted('large')) {
  const large = await largeRepo(repetitions);
  rows.push([
    `8 no-op tasks at 8 at a time on a generated ${large.files.toLocaleString('en')}-file repository, wall`,
    formatSpread(large.orch, 's', 2, 1000),
    `shell loop: ${formatSpread(large.shell, 's', 2, 1000)}`,
    formatSpread(large.ratio, '×'),
  ]);
}
if (wanted('workers')) {
  const workers = await workersVsLocal({ repetitions });
  rows.push(
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
  );
}
if (wanted('claude')) {
  const memory = await claudeMemory(repetitions);
  rows.push([
    `one real claude agent on a one-file task (offline${memory.sandboxed ? ', in its sandbox' : ''}), peak RSS of its process tree`,
    formatSpread(memory.peakRss, 'MB', 0),
    '—',
    '—',
  ]);
  notes.push(`all runs, claude peak RSS (MB): ${memory.runs.map((mb) => mb.toFixed(0)).join(', ')}`);
}
console.log('| row | orch | baseline | ratio |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
