/**
 * `npm run bench`: every benchmark, each row side by side in one run against its baseline,
 * printed as one table (medians with min–max). Never part of `npm test`: figures depend on the
 * machine. BENCH_REPETITIONS sets the repetitions (default 5); BENCH_ROWS (comma-separated:
 * noop, merge, startup, sleep, dag, large, clean, workers, claude) runs only some rows. Each row
 * gives orch's figure, the baseline's, their ratio and the target issue #12 sets (— where none).
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { claudeMemory } from './claude-memory.js';
import { CLEAN_WORKTREES, cleanVsRemove } from './clean-vs-remove.js';
import { dagVsBound } from './dag-vs-bound.js';
import { largeRepo } from './large-repo.js';
import { mergeVsShell } from './merge-vs-shell.js';
import { formatSpread } from './measure.js';
import { runVsShell } from './run-vs-shell.js';
import { SLEEP_SECONDS, SLEEP_SLOTS, SLEEP_TASKS, sleepVsIdeal } from './sleep-vs-ideal.js';
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
      '≤ 1.5×',
    ],
    [
      '  peak RSS of the whole process tree (agents, git, everything)',
      formatSpread(sideBySide.orch.treeRss, 'MB', 1),
      `shell loop: ${formatSpread(sideBySide.shell.treeRss, 'MB', 1)}`,
      `${(sideBySide.orch.treeRss.median / sideBySide.shell.treeRss.median).toFixed(1)}×`,
      '—',
    ],
    [
      '  peak RSS of orch’s own process tree (orch and its git processes, not the agents’ process groups)',
      formatSpread(sideBySide.orch.ownRss, 'MB', 1),
      '—',
      '—',
      '≤ 60 MB',
    ],
    ['    of which the orch process alone', formatSpread(sideBySide.orch.mainRss, 'MB', 1), '—', '—', '—'],
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
    '—',
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
      '≤ 2×',
    ],
    [
      '`orch plan` of 8 prompt files',
      formatSpread(starts.plan, 'ms', 0),
      `node -e 0: ${formatSpread(starts.node, 'ms', 0)}`,
      formatSpread(starts.planRatio, '×'),
      '≤ 2×',
    ],
  );
}
if (wanted('sleep')) {
  const sleep = await sleepVsIdeal(repetitions);
  rows.push([
    `${SLEEP_TASKS} independent tasks of ${SLEEP_SECONDS} s agents, ${SLEEP_SLOTS} at a time, wall`,
    formatSpread(sleep.wall, 's', 2, 1000),
    `ideal ${SLEEP_TASKS} × ${SLEEP_SECONDS} s ÷ ${SLEEP_SLOTS}: ${(sleep.idealMs / 1000).toFixed(2)} s`,
    `${formatSpread(sleep.ratio, '×')}; +${formatSpread(sleep.perTaskMs, 'ms', 0)} per task`,
    '≤ 1.10×',
  ]);
}
if (wanted('dag')) {
  const dag = await dagVsBound(repetitions);
  rows.push([
    `DAG: 16 short tasks (${dag.unitMs / 1000} s) given first, a chain of 5 (${(2 * dag.unitMs) / 1000} s each) given last, 4 at a time, wall`,
    formatSpread(dag.wall, 's', 2, 1000),
    `lower bound max(critical path, work ÷ slots): ${(dag.lowerBoundMs / 1000).toFixed(2)} s`,
    formatSpread(dag.ratio, '×'),
    '≤ 1.10×',
  ]);
}
if (wanted('large')) {
  const large = await largeRepo(repetitions);
  const files = large.files.toLocaleString('en');
  const pooled = `${large.pooled.join(', ')}; taken by the second run: ${large.taken.join(', ')}`;
  rows.push(
    [
      `8 no-op tasks at 8 at a time on a generated ${files}-file repository, cold, wall (${large.repetitions} repetition${large.repetitions === 1 ? '' : 's'})`,
      formatSpread(large.cold.orch, 's', 2, 1000),
      `shell loop: ${formatSpread(large.cold.shell, 's', 2, 1000)}`,
      formatSpread(large.cold.ratio, '×'),
      '≤ 0.6×',
    ],
    [
      `  the same, second run after orch clean --branches --force (worktrees pooled: ${pooled}${large.poolExists ? '' : '; this orch has no pool'})`,
      formatSpread(large.warm.orch, 's', 2, 1000),
      `shell loop, second run (no pool): ${formatSpread(large.warm.shell, 's', 2, 1000)}`,
      formatSpread(large.warm.ratio, '×'),
      '≤ 0.2×',
    ],
  );
  const seconds = (runs: number[]) => runs.map((ms) => (ms / 1000).toFixed(2)).join(', ');
  notes.push(
    `large repository, before every run: sync${large.cachesDropped ? ' and the page cache emptied' : ' (the page cache could not be emptied: not root)'}; all runs, wall (s): cold orch ${seconds(large.runs.orch.cold)} · shell ${seconds(large.runs.shell.cold)}; second run orch ${seconds(large.runs.orch.warm)} · shell ${seconds(large.runs.shell.warm)}`,
  );
  if (large.repetitions < 5)
    notes.push(
      `large repository: ${large.repetitions} repetition${large.repetitions === 1 ? '' : 's'} (BENCH_LARGE_REPETITIONS), fewer than 5`,
    );
}
if (wanted('clean')) {
  const clean = await cleanVsRemove(repetitions);
  rows.push(
    [
      `${clean.how} of ${CLEAN_WORKTREES} worktrees of a finished run, wall`,
      formatSpread(clean.orch, 's', 2, 1000),
      `git worktree remove loop: ${formatSpread(clean.loop, 's', 2, 1000)}`,
      formatSpread(clean.ratio, '×'),
      '≤ 1.2×',
    ],
    [
      `  orch clean with the default pool (worktrees pooled, moved not deleted: ${clean.pooled.join(', ')})`,
      formatSpread(clean.pool, 's', 2, 1000),
      `git worktree remove loop: ${formatSpread(clean.loop, 's', 2, 1000)}`,
      formatSpread(clean.poolRatio, '×'),
      '—',
    ],
  );
}
if (wanted('workers')) {
  const workers = await workersVsLocal({ repetitions });
  rows.push(
    [
      '16 tasks of 2 s agents on two 4-slot workers (run --workers, real Redis), wall',
      formatSpread(workers.sleeping.workers, 's', 2, 1000),
      `local run, 8 slots: ${formatSpread(workers.sleeping.local, 's', 2, 1000)}`,
      formatSpread(workers.sleeping.ratio, '×'),
      '—',
    ],
    [
      '  the same with no-op agents (the queue’s own cost)',
      formatSpread(workers.noop.workers, 's', 2, 1000),
      `local run, 8 slots: ${formatSpread(workers.noop.local, 's', 2, 1000)}`,
      `${formatSpread(workers.noop.ratio, '×')}; +${formatSpread(workers.noop.perTaskMs, 'ms', 0)} per task`,
      '—',
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
    '—',
  ]);
  notes.push(`all runs, claude peak RSS (MB): ${memory.runs.map((mb) => mb.toFixed(0)).join(', ')}`);
}
console.log('| row | orch | baseline | ratio | target |');
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
