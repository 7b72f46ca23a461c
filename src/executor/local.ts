import path from 'node:path';
import { errorMessage } from '../errors.js';
import { ProcessGroup } from '../process/process-group.js';
import { pathExists } from '../util/fs.js';
import { reclaimPorts, releasePorts } from '../worktree/ports.js';
import { AheadWorktrees, AttemptStarts, makeWorktreeAhead } from './ahead.js';
import type { LocalEnvironment } from './environment.js';
import { prepareRunSandbox, refsFileOf } from './local-sandbox.js';
import { startAgent, startResolver } from './local-start.js';
import { watchAgent } from './local-watch.js';
import type { AheadTask, AttemptControl, AttemptResult, AttemptSpec, Executor } from './types.js';

/**
 * Runs attempts on this machine: the task's worktree and branch in the repository, the agent as
 * a process group with its output in the run folder, its work committed on its branch.
 */
export class LocalExecutor implements Executor {
  private readonly ahead: AheadWorktrees;
  private readonly starts = new AttemptStarts();

  constructor(private readonly environment: LocalEnvironment) {
    prepareRunSandbox(environment);
    this.ahead = new AheadWorktrees({
      idle: async () => {
        // Both at once: no attempt starting, and no git work holding or waiting for the lock.
        for (;;) {
          await this.starts.quiet();
          await environment.gitMutex.idle();
          if (!this.starts.busy) return;
        }
      },
      exists: pathExists,
      make: async (task) => {
        return (await makeWorktreeAhead(environment, task, () => this.starts.busy)) !== 'deferred';
      },
      failed: (task, error) => environment.aheadFailed?.(task, oneLine(errorMessage(error))),
    });
  }

  /** Makes the worktrees of the tasks admitted next while agents work (see AheadWorktrees). */
  prepareAhead(tasks: AheadTask[]): void {
    this.ahead.want(tasks);
  }

  drain(): Promise<void> {
    return this.ahead.drain();
  }

  async run(spec: AttemptSpec, control: AttemptControl): Promise<AttemptResult> {
    // Until its agent runs, nothing is made ahead of time: its own start comes first.
    const started = spec.adopt ? () => undefined : this.starts.begin();
    const ports: number[] = [];
    // From here until the attempt ends its branch is its own, and other tasks' are not its to judge.
    const guard = this.environment.refsGuard?.begin(spec, (found) =>
      control.update({ kind: 'refs', changes: found.changes, problems: found.problems }),
    );
    try {
      if (spec.adopt) {
        const agent = ProcessGroup.adopt(spec.adopt);
        await guard?.load(path.join(this.environment.runDir, refsFileOf(spec)));
        // Its ports were reserved by the orchestrator that died: this one holds them now.
        if (spec.worktree.ports.length > 0) {
          await reclaimPorts(spec.worktree.ports, this.environment.owner, spec.runId, spec.task.id, this.environment.portsDir);
          ports.push(...spec.worktree.ports);
        }
        return await watchAgent(this.environment, spec, control, agent, spec.worktree.copiedFiles, guard);
      }
      if (spec.resolve) {
        const resolver = await startResolver(this.environment, spec, control, guard);
        started();
        if (!(resolver instanceof ProcessGroup)) return resolver;
        // The merge queue verifies and concludes the merge: nothing of it is committed here.
        return await watchAgent(this.environment, spec, control, resolver, spec.worktree.copiedFiles, guard, { saveWork: false });
      }
      const copiedFiles: string[] = [...spec.worktree.copiedFiles];
      const agent = await startAgent(this.environment, spec, control, ports, copiedFiles, guard);
      started();
      if (!(agent instanceof ProcessGroup)) return agent;
      return await watchAgent(this.environment, spec, control, agent, copiedFiles, guard);
    } finally {
      started();
      guard?.end();
      if (ports.length > 0) await releasePorts(ports, this.environment.owner, this.environment.portsDir);
    }
  }
}

/** A message on one line (git's stderr may hold several), for the ledger. */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
}
