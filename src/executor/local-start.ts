import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildInvocation } from '../agent/command.js';
import {
  formatFileList,
  renderPrompt,
  resolveConflictTemplate,
  workflowManagerTemplate,
  type PromptValues,
  type ResolveValues,
} from '../agent/prompt.js';
import { environmentError, errorFirstLine, errorMessage } from '../errors.js';
import { ProcessGroup } from '../process/process-group.js';
import { fillWorktree, mergeBranches, registeredAlready, registerWorktree } from '../worktree/git.js';
import { cameFromPool } from '../worktree/pool.js';
import { prepareWorktree, type Prepared } from '../worktree/prepare.js';
import type { LocalEnvironment } from './environment.js';
import type { GuardedAttempt } from './guard.js';
import { prepareSandbox, refsFileOf } from './local-sandbox.js';
import { startRecorded, type AttemptControl, type AttemptResult, type AttemptSpec } from './types.js';

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
  guard: GuardedAttempt | undefined,
): Promise<ProcessGroup | AttemptResult> {
  const { config, runDir } = environment;
  const { task } = spec;
  if (control.signal.aborted) return STOPPED_BEFORE_START;
  // A worktree is prepared (merges, copies, setup) until that has completed once: a crash in the
  // middle of it leaves a worktree that the next attempt prepares again.
  let fresh: boolean;
  let fromPool: boolean;
  try {
    // Only the registration and the branch ref need the git lock. The checkout (one made ahead of
    // time may still be under way: it is waited for) and the merges write only this task's own
    // worktree, index and branch, so they run outside it, side by side with other tasks'.
    // A worktree made ahead of time (or by an earlier attempt) needs nothing under the lock.
    const how = (await registeredAlready(environment.repoRoot, task.worktree))
      ? 'reused'
      : await environment.gitMutex.run(() =>
          registerWorktree(environment.repoRoot, task.worktree, task.branch, spec.base.sha, environment.pool),
        );
    const filled = await fillWorktree(task.worktree);
    fresh = how !== 'reused' || filled || !spec.worktree.ready;
    // A worktree reused after a crash (or made ahead of time) may have come from the pool too.
    fromPool = how === 'pooled' || (how === 'reused' && (await cameFromPool(task.worktree)));
    if (fresh) {
      await mergeBranches(
        task.worktree,
        spec.mergeFirst.map((other) => other.branch),
        (branch) => {
          const other = spec.mergeFirst.find((candidate) => candidate.branch === branch);
          return other?.relation === 'conflict'
            ? `orch: build ${task.id} on ${other.taskId}, which edits the same files (${branch})`
            : `orch: merge dependency ${branch} into ${task.id}`;
        },
      );
    }
  } catch (error) {
    return { outcome: { status: 'failed', failure: 'worktree', reason: `cannot prepare the worktree: ${errorFirstLine(error)}` } };
  }
  if (control.signal.aborted) return STOPPED_BEFORE_START;

  const logs = path.dirname(path.join(runDir, spec.attempt.log));
  await mkdir(logs, { recursive: true });
  const prepared = await prepareWorktree({
    includeRoot: environment.includeRoot,
    portsDir: environment.portsDir,
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
    await control.update({
      kind: 'prepared',
      ready: prepared.ok,
      copiedFiles: [...copiedFiles],
      setupMs: prepared.setupMs,
      setupSkipped: prepared.ok && prepared.setupSkipped ? true : undefined,
      fromPool: fromPool || undefined,
    });
  }
  if (!prepared.ok) return { outcome: prepared.outcome };
  if (control.signal.aborted) return STOPPED_BEFORE_START;

  const prompt = renderPrompt(workflowManagerTemplate(), {
    run_id: spec.runId,
    task_id: task.id,
    task_title: task.title,
    worktree: task.worktree,
    branch: task.branch,
    base_ref: spec.base.ref,
    base_sha: spec.base.sha,
    files: formatFileList(task.files),
    prepared: [describeMergedFirst(spec), prepared.description].filter(Boolean).join('\n'),
    note: spec.note ?? '',
    task_prompt: task.text.trimEnd(),
  } satisfies PromptValues);
  return spawnAgent(environment, spec, control, prompt, prepared.env, guard);
}

/** The merge agent: its prompt, then the agent, in the integration worktree as it stands (conflicts in place). */
export async function startResolver(
  environment: LocalEnvironment,
  spec: AttemptSpec,
  control: AttemptControl,
  guard: GuardedAttempt | undefined,
): Promise<ProcessGroup | AttemptResult> {
  const brief = spec.resolve!;
  if (control.signal.aborted) return STOPPED_BEFORE_START;
  await mkdir(path.dirname(path.join(environment.runDir, spec.attempt.log)), { recursive: true });
  const integrated =
    brief.integrated.length > 0
      ? brief.integrated.map((other) => `### ${other.taskId}: ${other.title}\n\n${other.text.trimEnd()}`).join('\n\n')
      : "(no integrated task touched these files on its own: the other side is the run's base)";
  const prompt = renderPrompt(resolveConflictTemplate(), {
    run_id: spec.runId,
    task_id: spec.task.id,
    task_title: spec.task.title,
    worktree: spec.task.worktree,
    integration_branch: brief.integrationBranch,
    task_branch: brief.taskBranch,
    conflict_files: formatFileList(brief.conflictFiles),
    check_instruction: brief.check
      ? `Run the check \`${brief.check}\` and make it pass with both intents in place.`
      : "Run the project's tests, if it has any, and make them pass with both intents in place.",
    task_prompt: spec.task.text.trimEnd(),
    integrated_tasks: integrated,
  } satisfies ResolveValues);
  const env = {
    ORCH_RUN_ID: spec.runId,
    ORCH_TASK_ID: spec.task.id,
    ORCH_WORKTREE: spec.task.worktree,
    ORCH_BRANCH: brief.integrationBranch,
  };
  return spawnAgent(environment, spec, control, prompt, env, guard);
}

/** Writes the prompt where the run keeps it, then starts the agent on it (the prompt on stdin). */
async function spawnAgent(
  environment: LocalEnvironment,
  spec: AttemptSpec,
  control: AttemptControl,
  prompt: string,
  env: Record<string, string>,
  guard: GuardedAttempt | undefined,
): Promise<ProcessGroup | AttemptResult> {
  const { config, runDir } = environment;
  const { task } = spec;
  const promptFile = path.join(runDir, spec.attempt.prompt);
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
    maxBudgetUsd: task.maxBudgetUsd,
    settingsFile: sandbox?.settingsFile,
  });
  // No agent the registry does not know of: its start must be on record first.
  if (!(await startRecorded(control)) || control.signal.aborted) return STOPPED_BEFORE_START;
  // Every ref as it is the moment before the agent starts: what the refs guard compares with after.
  await guard?.record(path.join(runDir, refsFileOf(spec)));
  const agent = ProcessGroup.spawn({
    file: invocation.file,
    args: invocation.args,
    cwd: task.worktree,
    env: { ...environment.env, ...env, ...sandbox?.env },
    stdinFile: promptFile,
    stdoutFile: path.join(runDir, spec.attempt.log),
    stderrFile: path.join(runDir, spec.attempt.stderr),
  });
  // The pid must be on record before anything else happens: it is what resume adopts or kills.
  if (agent.pid > 0) await control.update({ kind: 'agent', identity: agent.identity });
  return agent;
}

/** What the prompt says of the branches merged in before the agent started. */
function describeMergedFirst(spec: AttemptSpec): string {
  const list = (relation: 'dependency' | 'conflict'): string =>
    spec.mergeFirst
      .filter((other) => other.relation === relation)
      .map((other) => `\`${other.taskId}\` (${other.title})`)
      .join(', ');
  const lines: string[] = [];
  const dependencies = list('dependency');
  const builtOn = list('conflict');
  if (dependencies) lines.push(`- This branch already contains the finished work of the tasks it depends on: ${dependencies}.`);
  if (builtOn) {
    lines.push(
      `- It also contains the finished work of tasks that edit the same files: ${builtOn}. Build on their changes; do not undo them.`,
    );
  }
  return lines.join('\n');
}
