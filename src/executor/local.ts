import { ProcessGroup } from '../process/process-group.js';
import { reclaimPorts, releasePorts } from '../worktree/ports.js';
import type { LocalEnvironment } from './environment.js';
import { startAgent, startResolver } from './local-start.js';
import { watchAgent } from './local-watch.js';
import type { AttemptControl, AttemptResult, AttemptSpec, Executor } from './types.js';

/**
 * Runs attempts on this machine: the task's worktree and branch in the repository, the agent as
 * a process group with its output in the run folder, its work committed on its branch.
 */
export class LocalExecutor implements Executor {
  constructor(private readonly environment: LocalEnvironment) {}

  async run(spec: AttemptSpec, control: AttemptControl): Promise<AttemptResult> {
    const ports: number[] = [];
    try {
      if (spec.adopt) {
        const agent = ProcessGroup.adopt(spec.adopt);
        // Its ports were reserved by the orchestrator that died: this one holds them now.
        if (spec.worktree.ports.length > 0) {
          await reclaimPorts(spec.worktree.ports, this.environment.owner, spec.runId, spec.task.id, this.environment.portsDir);
          ports.push(...spec.worktree.ports);
        }
        return await watchAgent(this.environment, spec, control, agent, spec.worktree.copiedFiles);
      }
      if (spec.resolve) {
        const resolver = await startResolver(this.environment, spec, control);
        if (!(resolver instanceof ProcessGroup)) return resolver;
        // The merge queue verifies and concludes the merge: nothing of it is committed here.
        return await watchAgent(this.environment, spec, control, resolver, spec.worktree.copiedFiles, { saveWork: false });
      }
      const copiedFiles: string[] = [...spec.worktree.copiedFiles];
      const started = await startAgent(this.environment, spec, control, ports, copiedFiles);
      if (!(started instanceof ProcessGroup)) return started;
      return await watchAgent(this.environment, spec, control, started, copiedFiles);
    } finally {
      if (ports.length > 0) await releasePorts(ports, this.environment.owner, this.environment.portsDir);
    }
  }
}
