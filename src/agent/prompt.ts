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

const TEMPLATE_URL = new URL('../../templates/workflow-manager.md', import.meta.url);
let cachedTemplate: string | undefined;

export function workflowManagerTemplate(): string {
  cachedTemplate ??= readFileSync(TEMPLATE_URL, 'utf8');
  return cachedTemplate;
}

/** Fills `{{name}}` template variables in one pass, so text inside the values is never expanded. */
export function renderPrompt(template: string, values: PromptValues): string {
  const rendered = template.replace(/\{\{(\w+)\}\}/g, (match, name: string) => {
    if (!(name in values)) throw new Error(`unknown template variable ${match} in the WorkflowManager template`);
    return values[name as keyof PromptValues];
  });
  return `${rendered.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

export function formatFileList(files: readonly string[]): string {
  return files.length > 0 ? files.map((file) => `  - \`${file}\``).join('\n') : '  - (none declared: touch only what the task needs)';
}
