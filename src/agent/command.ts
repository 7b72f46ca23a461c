import type { OrchConfig } from '../config/schema.js';

export interface AgentInvocation {
  file: string;
  args: string[];
}

export interface InvocationContext {
  runId: string;
  taskId: string;
  worktree: string;
  branch: string;
  promptFile: string;
  model?: string | undefined;
  maxTurns?: number | undefined;
  /** Continue this Claude session instead of starting a new one. */
  resumeSessionId?: string | undefined;
}

/**
 * The command line for one agent. Claude Code gets `-p --output-format stream-json --verbose`
 * and the configured flags, with the prompt on stdin (never in argv, never through a shell).
 * A custom `agent.command` is an argv template: `{prompt_file}`, `{task_id}`, `{run_id}`,
 * `{worktree}` and `{branch}` are replaced inside each element.
 */
export function buildInvocation(agent: OrchConfig['agent'], context: InvocationContext): AgentInvocation {
  if (agent.command) {
    const values: Record<string, string> = {
      prompt_file: context.promptFile,
      task_id: context.taskId,
      run_id: context.runId,
      worktree: context.worktree,
      branch: context.branch,
    };
    const [file, ...args] = agent.command.map((part) => part.replace(/\{(\w+)\}/g, (match, name: string) => values[name] ?? match));
    return { file: file!, args };
  }

  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', agent.permissionMode];
  const model = context.model ?? agent.model;
  if (model) args.push('--model', model);
  const maxTurns = context.maxTurns ?? agent.maxTurns;
  if (maxTurns) args.push('--max-turns', String(maxTurns));
  if (agent.appendSystemPrompt) args.push('--append-system-prompt', agent.appendSystemPrompt);
  if (agent.maxBudgetUsd) args.push('--max-budget-usd', String(agent.maxBudgetUsd));
  if (context.resumeSessionId) args.push('--resume', context.resumeSessionId);
  args.push(...agent.extraArgs);
  // Last, because it takes a variable number of values (one rule per argument, spaces allowed).
  if (agent.allowedTools.length > 0) args.push('--allowedTools', ...agent.allowedTools);
  return { file: agent.bin, args };
}
