/**
 * How long orch's short commands take to start and answer, against `node -e 0` (Node's own
 * start-up, the floor), side by side in one run and interleaved so both meet the same machine:
 * `orch status` on a repository with a finished 8-task run, and `orch plan` of its prompts.
 * Every answer is checked (exit 0, the run's id or the tasks in the output). orch is started as a
 * user's shell starts it, through bin/orch.js's #! line (`/usr/bin/env` then node, in one process).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './repo.js';
import { measure, spread, type Spread } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const orch = path.join(here, '..', 'bin', 'orch.js');
const noopAgent = path.join(here, 'noop-agent.sh');

export interface StartupBench {
  node: Spread;
  status: Spread;
  plan: Spread;
  statusRatio: Spread;
  planRatio: Spread;
}

export async function startup(options: { repetitions?: number } = {}): Promise<StartupBench> {
  // Short commands move a lot from one start to the next: more samples than the long rows.
  const repetitions = (options.repetitions ?? 5) * 4;
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-startup-'));
  try {
    const repo = path.join(dir, 'repo');
    const git = await initBenchRepo(repo);
    const env = { ...process.env, ORCH_CLAUDE_BIN: noopAgent };
    for (let index = 1; index <= 8; index++) await writeFile(path.join(repo, 'prompts', `t${index}.md`), `# t${index}\nDo t${index}.\n`);
    git('add', '-A');
    git('commit', '-q', '-m', 'prompts');
    execFileSync(process.execPath, [orch, 'run', 'prompts', '--json'], { cwd: repo, env, stdio: 'ignore' });

    const samples = { node: [] as number[], status: [] as number[], plan: [] as number[] };
    for (let round = 0; round < repetitions; round++) {
      samples.node.push((await measure(process.execPath, ['-e', '0'], { cwd: repo, env })).wallMs);
      const status = await measure(orch, ['status'], { cwd: repo, env });
      if (!/8 succeeded/.test(status.stdout)) throw new Error(`orch status did not show the run: ${status.stdout}`);
      samples.status.push(status.wallMs);
      const plan = await measure(orch, ['plan', 'prompts'], { cwd: repo, env });
      if (!plan.stdout.includes('t8')) throw new Error(`orch plan did not list the tasks: ${plan.stdout}`);
      samples.plan.push(plan.wallMs);
    }
    const ratio = (values: number[]) => spread(values.map((ms, index) => ms / samples.node[index]!));
    return {
      node: spread(samples.node),
      status: spread(samples.status),
      plan: spread(samples.plan),
      statusRatio: ratio(samples.status),
      planRatio: ratio(samples.plan),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
