/**
 * `npm run demo`: a real orchestration, offline. Copies the example repository and its prompts
 * into a temporary folder, starts a scripted Messages API on 127.0.0.1, and runs the built orch
 * with the real `claude` CLI (the pinned devDependency) pointed at it. What you get is real:
 * worktrees, branches, commits, the registry and the summary.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_PLANS } from './plans.js';
import { offlineClaudeEnv, perTaskScript, startScriptedApi } from './scripted-api.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '..');
const orch = path.join(projectRoot, 'bin', 'orch.js');
const claude = path.join(projectRoot, 'node_modules', '.bin', 'claude');

const work = await mkdtemp(path.join(tmpdir(), 'orch-demo-'));
const repo = path.join(work, 'mathlib');
await cp(path.join(here, 'example-repo'), repo, { recursive: true });
await cp(path.join(here, 'prompts'), path.join(repo, 'prompts'), { recursive: true });
const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
git('init', '-q', '-b', 'main');
git('config', 'user.name', 'orch demo');
git('config', 'user.email', 'demo@orch.invalid');
git('config', 'commit.gpgsign', 'false');
git('add', '-A');
git('commit', '-q', '-m', 'mathlib: add()');

const claudeHome = path.join(work, 'claude-home');
await mkdir(path.join(claudeHome, 'config'), { recursive: true });
await mkdir(path.join(claudeHome, 'tmp'), { recursive: true });
const api = await startScriptedApi(perTaskScript(DEMO_PLANS));
const env = {
  ...process.env,
  ...offlineClaudeEnv(api.url, path.join(claudeHome, 'config'), path.join(claudeHome, 'tmp')),
  ORCH_CLAUDE_BIN: claude,
};

console.log(`orch demo: ${repo}\nscripted Messages API at ${api.url}; agents are the real claude CLI\n`);
console.log(`$ orch run prompts/*.md`);
const exitCode = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [orch, 'run', 'prompts/*.md'], { cwd: repo, env, stdio: 'inherit' });
  child.on('exit', (code) => resolve(code ?? 1));
});
await api.close();

console.log('\n$ git branch --list "orch/*"');
console.log(git('branch', '--list', 'orch/*'));
for (const branch of git('branch', '--list', '--format=%(refname:short)', 'orch/*').split('\n').filter(Boolean)) {
  console.log(`\n$ git log --oneline main..${branch}`);
  console.log(git('log', '--oneline', `main..${branch}`));
}
console.log('\n$ git worktree list');
console.log(git('worktree', 'list'));
console.log(`\nEverything is left in place to look at:
  cd ${repo}
  node ${orch} status
  git log --oneline --graph --all
When done: node ${orch} clean --branches --force --purge (in the repo), then rm -rf ${work}`);
process.exitCode = exitCode;
