import type { ConfigInput, OrchConfig } from '../config/schema.js';

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
  /** The task's model: its frontmatter `model`, else `agent.model`. */
  model?: string | undefined;
  /** The task's turn limit: its frontmatter `max_turns`, else `agent.maxTurns`. */
  maxTurns?: number | undefined;
  /** Continue this Claude session instead of starting a new one. */
  resumeSessionId?: string | undefined;
  /** `--max-budget-usd`: `agent.maxBudgetUsd`, capped by what is left of the run's budget. */
  maxBudgetUsd?: number | undefined;
  /** Claude Code settings for this agent (`--settings`): its sandbox. */
  settingsFile?: string | undefined;
}

/**
 * The placeholders a custom `agent.command` may use, and where each value comes from. A list
 * value standing alone as an argument becomes one argument per item (none when empty); inside a
 * longer argument its items are joined with commas. An argument that is only a placeholder with
 * no value is left out.
 */
const PLACEHOLDERS = {
  prompt_file: (_agent: OrchConfig['agent'], context: InvocationContext) => context.promptFile,
  task_id: (_agent: OrchConfig['agent'], context: InvocationContext) => context.taskId,
  run_id: (_agent: OrchConfig['agent'], context: InvocationContext) => context.runId,
  worktree: (_agent: OrchConfig['agent'], context: InvocationContext) => context.worktree,
  branch: (_agent: OrchConfig['agent'], context: InvocationContext) => context.branch,
  model: (_agent: OrchConfig['agent'], context: InvocationContext) => context.model,
  max_turns: (_agent: OrchConfig['agent'], context: InvocationContext) =>
    context.maxTurns === undefined ? undefined : String(context.maxTurns),
  permission_mode: (agent: OrchConfig['agent']) => agent.permissionMode,
  allowed_tools: (agent: OrchConfig['agent']) => agent.allowedTools,
  disallowed_tools: (agent: OrchConfig['agent']) => agent.disallowedTools,
  append_system_prompt: (agent: OrchConfig['agent']) => agent.appendSystemPrompt ?? undefined,
  max_budget_usd: (_agent: OrchConfig['agent'], context: InvocationContext) =>
    context.maxBudgetUsd === undefined ? undefined : String(context.maxBudgetUsd),
  extra_args: (agent: OrchConfig['agent']) => agent.extraArgs,
  resume_session_id: (_agent: OrchConfig['agent'], context: InvocationContext) => context.resumeSessionId,
} satisfies Record<string, (agent: OrchConfig['agent'], context: InvocationContext) => string | string[] | undefined>;

type Placeholder = keyof typeof PLACEHOLDERS;
export const PLACEHOLDER_NAMES = Object.keys(PLACEHOLDERS) as Placeholder[];
const PLACEHOLDER = /\{(\w+)\}/g;

/** The placeholders an `agent.command` uses that orch does not know (a typo would otherwise reach the agent as text). */
export function unknownPlaceholders(command: readonly string[]): string[] {
  const names = command.flatMap((part) => [...part.matchAll(PLACEHOLDER)].map((match) => match[1]!));
  return [...new Set(names.filter((name) => !(name in PLACEHOLDERS)))];
}

function expand(part: string, agent: OrchConfig['agent'], context: InvocationContext): string[] {
  const alone = /^\{(\w+)\}$/.exec(part)?.[1];
  if (alone !== undefined && alone in PLACEHOLDERS) {
    const value = PLACEHOLDERS[alone as Placeholder](agent, context);
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }
  return [
    part.replace(PLACEHOLDER, (match, name: string) => {
      if (!(name in PLACEHOLDERS)) return match;
      const value = PLACEHOLDERS[name as Placeholder](agent, context);
      return Array.isArray(value) ? value.join(',') : (value ?? '');
    }),
  ];
}

/**
 * The command line for one agent. Claude Code gets `-p --output-format stream-json --verbose`
 * and the configured flags, with the prompt on stdin (never in argv, never through a shell).
 * A custom `agent.command` is an argv template (see PLACEHOLDERS).
 */
export function buildInvocation(agent: OrchConfig['agent'], context: InvocationContext): AgentInvocation {
  if (agent.command) {
    const [file, ...args] = agent.command.flatMap((part, index) => (index === 0 ? [part] : expand(part, agent, context)));
    return { file: file!, args };
  }

  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', agent.permissionMode];
  if (context.model) args.push('--model', context.model);
  if (context.maxTurns) args.push('--max-turns', String(context.maxTurns));
  if (agent.appendSystemPrompt) args.push('--append-system-prompt', agent.appendSystemPrompt);
  if (context.maxBudgetUsd !== undefined) args.push('--max-budget-usd', String(context.maxBudgetUsd));
  if (context.resumeSessionId) args.push('--resume', context.resumeSessionId);
  if (context.settingsFile) args.push('--settings', context.settingsFile);
  args.push(...agent.extraArgs);
  // Last, because they take a variable number of values (one rule per argument, spaces allowed).
  if (agent.disallowedTools.length > 0) args.push('--disallowedTools', ...agent.disallowedTools);
  if (agent.allowedTools.length > 0) args.push('--allowedTools', ...agent.allowedTools);
  return { file: agent.bin, args };
}

/**
 * With a custom `agent.command`, the agent settings that have a value but no placeholder in the
 * command: each would be silently lost, so the run says so once, at its start.
 */
export function unusedAgentSettings(
  config: OrchConfig,
  input: ConfigInput,
  tasks: ReadonlyArray<{ model?: string | undefined; maxTurns?: number | undefined }>,
): string[] {
  const command = config.agent.command;
  if (!command) return [];
  const used = new Set(command.flatMap((part) => [...part.matchAll(PLACEHOLDER)].map((match) => match[1]!)));
  const set: Array<[Placeholder, string, boolean]> = [
    ['model', '--model, agent.model or a prompt’s `model`', config.agent.model !== null || tasks.some((task) => task.model !== undefined)],
    [
      'max_turns',
      '--max-turns, agent.maxTurns or a prompt’s `max_turns`',
      config.agent.maxTurns !== null || tasks.some((task) => task.maxTurns !== undefined),
    ],
    ['permission_mode', '--permission-mode or agent.permissionMode', input.agent?.permissionMode !== undefined],
    ['allowed_tools', 'agent.allowedTools', input.agent?.allowedTools !== undefined],
    ['disallowed_tools', 'agent.disallowedTools', input.agent?.disallowedTools !== undefined],
    ['append_system_prompt', 'agent.appendSystemPrompt', config.agent.appendSystemPrompt !== null],
    ['max_budget_usd', 'agent.maxBudgetUsd or budget.maxCostUsd', config.agent.maxBudgetUsd !== null || config.budget.maxCostUsd !== null],
    ['extra_args', 'agent.extraArgs', config.agent.extraArgs.length > 0],
  ];
  return set
    .filter(([name, , isSet]) => isSet && !used.has(name))
    .map(
      ([name, source]) =>
        `agent.command does not use {${name}}, so ${source} does not reach the agent; add {${name}} to agent.command where it belongs`,
    );
}
