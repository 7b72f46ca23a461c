/**
 * What one real `claude` agent holds in memory: the pinned CLI (the devDependency), run offline
 * against the scripted Messages API on a one-file task (write a file, run a command, commit) in
 * a fresh git repository, with the flags orch gives it — in Claude Code's sandbox when this
 * machine has it, as orch's default `agent.sandbox: "auto"` would. The figure is the peak of the
 * summed RSS of its process tree (the CLI, the sandboxes and the shells it starts), sampled from
 * /proc. orch's default `concurrency.agentMemoryMb` comes from this measurement.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { offlineClaudeEnv, startScriptedApi, type Conversation, type Reply } from '../demo/scripted-api.js';
import { probeMachine, sandboxExcludes, sandboxGitEnv, sandboxSettings, systemProbe } from '../src/agent/sandbox.js';
import { DEFAULT_ALLOWED_TOOLS, DEFAULT_DISALLOWED_TOOLS } from '../src/config/schema.js';
import { initBenchRepo } from './repo.js';
import { measure, spread, type Spread } from './measure.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const claude = path.join(projectRoot, 'node_modules', '.bin', 'claude');

/** The one-file task: write it, look at it, commit it, say so. */
function oneFileTask(conversation: Conversation): Reply {
  const cwd = conversation.cwd ?? '.';
  switch (conversation.step) {
    case 0:
      return {
        tool: {
          name: 'Write',
          input: {
            file_path: path.join(cwd, 'src', 'clamp.js'),
            content: 'export const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);\n',
          },
        },
      };
    case 1:
      return {
        tool: {
          name: 'Bash',
          input: { command: 'node -e "import(\'./src/clamp.js\').then((m) => console.log(m.clamp(5, 0, 3)))"', description: 'Try it' },
        },
      };
    case 2:
      return { tool: { name: 'Bash', input: { command: 'git add -A && git commit -q -m "Add clamp()"', description: 'Commit' } } };
    default:
      return { text: 'Added clamp() in src/clamp.js and committed it.' };
  }
}

export async function claudeMemory(repetitions = 5): Promise<{ peakRss: Spread; runs: number[]; sandboxed: boolean }> {
  const sandboxed = (await probeMachine(systemProbe(process.env, projectRoot))).available;
  const api = await startScriptedApi(oneFileTask);
  const runs: number[] = [];
  try {
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-claude-'));
      try {
        const repo = path.join(dir, 'repo');
        await initBenchRepo(repo);
        await mkdir(path.join(repo, 'src'), { recursive: true });
        await mkdir(path.join(dir, 'config'));
        await mkdir(path.join(dir, 'tmp'));
        // As orch gives it: git inside the sandbox ignores the sandbox's placeholder files.
        const excludes = path.join(dir, 'agent.gitignore');
        await writeFile(excludes, sandboxExcludes(''));
        const env = {
          ...process.env,
          ...offlineClaudeEnv(api.url, path.join(dir, 'config'), path.join(dir, 'tmp')),
          ...(sandboxed ? sandboxGitEnv(process.env, excludes) : {}),
        };
        const settings = path.join(dir, 'settings.json');
        // (The agent works in the repository's own checkout here, not a worktree: nothing in .git to deny it.)
        await writeFile(settings, JSON.stringify(sandboxSettings({ network: [], denyWrite: [] })));
        const args = [
          '-p',
          '--output-format',
          'stream-json',
          '--verbose',
          '--permission-mode',
          'acceptEdits',
          ...(sandboxed ? ['--settings', settings] : []),
          '--disallowedTools',
          ...DEFAULT_DISALLOWED_TOOLS,
          '--allowedTools',
          ...DEFAULT_ALLOWED_TOOLS,
        ];
        const run = await measure(claude, args, {
          cwd: repo,
          env,
          input: `Add clamp() in src/clamp.js. Worktree (your working directory): ${repo}\n`,
        });
        if (!run.stdout.includes('"is_error":false')) throw new Error(`the real claude run did not succeed:\n${run.stdout.slice(-1000)}`);
        if (!execFileSync('git', ['log', '--format=%s'], { cwd: repo, encoding: 'utf8' }).includes('Add clamp()'))
          throw new Error('the agent did not commit');
        runs.push(run.peakTreeRssMb);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await api.close();
  }
  return { peakRss: spread(runs), runs, sandboxed };
}
