import { readFileSync } from 'node:fs';

/** The values the WorkflowManager template (templates/workflow-manager.md) refers to. */
export interface PromptValues {
  run_id: string;
  task_id: string;
  task_title: string;
  worktree: string;
  branch: string;
  base_ref: string;
  base_sha: string;
  /** A markdown list (or a line saying none were declared). */
  files: string;
  /** What orch prepared in the worktree before the agent started (copied files, setup, ports). */
  prepared: string;
  /** A note for a retried or resumed task; empty for a first attempt. */
  note: string;
  task_prompt: string;
}

/** The values the merge agent's template (templates/resolve-conflict.md) refers to. */
export interface ResolveValues {
  run_id: string;
  task_id: string;
  task_title: string;
  worktree: string;
  integration_branch: string;
  task_branch: string;
  /** A markdown list. */
  conflict_files: string;
  /** What to run before committing (the check), or what to do without one. */
  check_instruction: string;
  task_prompt: string;
  /** The prompts of the integrated tasks on the other side of the conflict. */
  integrated_tasks: string;
}

const templates = new Map<string, string>();

function template(name: 'workflow-manager' | 'resolve-conflict'): string {
  let text = templates.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`../../templates/${name}.md`, import.meta.url), 'utf8');
    templates.set(name, text);
  }
  return text;
}

export function workflowManagerTemplate(): string {
  return template('workflow-manager');
}

export function resolveConflictTemplate(): string {
  return template('resolve-conflict');
}

/** Fills `{{name}}` template variables in one pass, so text inside the values is never expanded. */
export function renderPrompt<Values extends object>(text: string, values: Values): string {
  const rendered = text.replace(/\{\{(\w+)\}\}/g, (match, name: string) => {
    if (!(name in values)) throw new Error(`unknown template variable ${match}`);
    return String(values[name as keyof Values]);
  });
  return `${rendered.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

export function formatFileList(files: readonly string[]): string {
  return files.length > 0 ? files.map((file) => `  - \`${file}\``).join('\n') : '  - (none declared: touch only what the task needs)';
}
