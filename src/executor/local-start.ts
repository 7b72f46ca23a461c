import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildInvocation } from '../agent/command.js';
import { formatFileList, renderPrompt, workflowManagerTemplate } from '../agent/prompt.js';
import { environmentError, errorFirstLine, errorMessage } from '../errors.js';
import { ProcessGroup } from '../process/process-group.js';
import { ensureWorktree, mergeBranches } from '../worktree/git.js';
import { prepareWorktree, type Prepared } from '../worktree/prepare.js';
import type { LocalEnvironment } from './environment.js';
import type { GuardedAttempt } from './guard.js';
import { prepareSandbox, refsFileOf } from './local-sandbox.js';
import type { AttemptControl, AttemptResult, AttemptSpec } from './types.js';

const STOPPED_BEFORE_START: AttemptResult = { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };

/**
 * Worktree, preparation, prompt, process: everything up to a running agent, or the result that
 * says why there is none. `ports` receives the ports reserved for the attempt (the caller
 * releases them), `copiedFiles` every untracked file copied into the worktree so far.
 */
export async function startAgent(
  environment: LocalEnvironment,
  spec: AttemptSpec,
  control: AttemptControl,
  ports: number[],
  copiedFiles: string[],
  guard: GuardedAttempt,
): Promise<ProcessGroup | AttemptResult> {
  const { config, runDir } = environment;
  const { task } = spec;
  if (control.signal.aborted) return STOPPED_BEFORE_START;
  // A worktree is prepared (merges, copies, setup) until that has completed once: a crash in the
  // middle of it leaves a worktree that the next attempt prepares again.
  let fresh = false;
  try {
    await environment.gitMutex.run(async () => {
      const how = await ensureWorktree(environment.repoRoot, task.worktree, task.branch, spec.base.sha);
      fresh = how !== 'reused' || !spec.worktree.ready;
      if (fresh) {
        await mergeBranches(
          task.worktree,
          spec.mergeFirst.map((dependency) => dependency.branch),
          (branch) => `orch: merge dependency ${branch} into ${task.id}`,
        );
      }
    });
  } catch (error) {
    return { outcome: { status: 'failed', failure: 'worktree', reason: `cannot prepare the worktree: ${errorFirstLine(error)}` } };
  }
  if (control.signal.aborted) return STOPPED_BEFORE_START;

  const logs = path.dirname(path.join(runDir, spec.attempt.log));
  await mkdir(logs, { recursive: true });
  const prepared = await prepareWorktree({
    repoRoot: environment.repoRoot,
    spec,
    config,
    env: environment.env,
    fresh,
    owner: environment.owner,
    setupLog: path.join(logs, `${task.id}.setup.log`),
    includeCandidates: environment.includeCandidates,
    onPorts: (reserved) => {
      ports.push(...reserved);
      void control.update({ kind: 'ports', ports: reserved });
    },
    signal: control.signal,
    kill: control.kill,
  }).catch((error: unknown): Prepared => ({
    ok: false,
    ports: [],
    outcome: { status: 'failed', failure: 'setup', reason: `cannot prepare the worktree: ${errorMessage(error)}` },
  }));
  if (prepared.copiedFiles) copiedFiles.splice(0, copiedFiles.length, ...prepared.copiedFiles);
  if (prepared.ok || prepared.copiedFiles) {
    await control.update({ kind: 'prepared', ready: prepared.ok, copiedFiles: [...copiedFiles], setupMs: prepared.setupMs });
  }
  if (!prepared.ok) return { outcome: prepared.outcome };
  if (control.signal.aborted) return STOPPED_BEFORE_START;

  const promptFile = path.join(runDir, spec.attempt.prompt);
  const prompt = renderPrompt(workflowManagerTemplate(), {
    run_id: spec.runId,
    task_id: task.id,
    task_title: task.title,
    worktree: task.worktree,
    branch: task.branch,
    base_ref: spec.base.ref,
    base_sha: spec.base.sha,
    files: formatFileList(task.files),
    prepared: [describeDependencies(spec), prepared.description].filter(Boolean).join('\n'),
    note: spec.note ?? '',
    task_prompt: task.text.trimEnd(),
  });
  try {
    await mkdir(path.dirname(promptFile), { recursive: true });
    await writeFile(promptFile, prompt);
  } catch (error) {
    // A full disk or a read-only run folder is the environment's failure, not this task's.
    throw (
      environmentError(
        error,
        `cannot write the prompt file ${promptFile}`,
        'free some space or fix the permissions, then `orch resume`.',
      ) ?? error
    );
  }

  const sandbox = await prepareSandbox(environment, spec);
  const invocation = buildInvocation(config.agent, {
    runId: spec.runId,
    taskId: task.id,
    worktree: task.worktree,
    branch: task.branch,
    promptFile,
    model: task.model,
    maxTurns: task.maxTurns,
    resumeSessionId: spec.resumeSessionId,
    settingsFile: sandbox?.settingsFile,
  });
  // Every ref as it is the moment before the agent starts: what the refs guard compares with after.
  await guard.record(path.join(runDir, refsFileOf(spec)));
  const agent = ProcessGroup.spawn({
    file: invocation.file,
    args: invocation.args,
    cwd: task.worktree,
    env: { ...environment.env, ...prepared.env, ...sandbox?.env },
    stdinFile: promptFile,
    stdoutFile: path.join(runDir, spec.attempt.log),
    stderrFile: path.join(runDir, spec.attempt.stderr),
  });
  // The pid must be on record before anything else happens: it is what resume adopts or kills.
  if (agent.pid > 0) await control.update({ kind: 'agent', identity: agent.identity });
  return agent;
}

function describeDependencies(spec: AttemptSpec): string {
  if (spec.mergeFirst.length === 0) return '';
  const list = spec.mergeFirst.map((dependency) => `\`${dependency.taskId}\` (${dependency.title})`).join(', ');
  return `- This branch already contains the finished work of the tasks it depends on: ${list}.`;
}
