import { err, ok, type Result } from '../errors.js';
import { INTEGRATION } from '../state/paths.js';
import { isGlob } from '../prompt/paths.js';
import type { PromptSpec } from '../prompt/types.js';
import { ConflictIndex, findConflicts, type Conflict } from './conflicts.js';
import { findCycle } from './cycles.js';
import { buildKeyIndex, resolveExact, scanReference } from './resolve.js';
import { computeWaves } from './waves.js';

/** A task as the rest of orch sees it: a prompt with its references resolved to task ids. */
export interface TaskNode {
  id: string;
  title: string;
  file: string;
  body: string;
  dependsOn: string[];
  files: string[];
  mentions: string[];
  priority: number;
  order: number;
  timeoutMs?: number;
  maxTurns?: number;
  model?: string;
}

export interface Analysis {
  tasks: TaskNode[];
  conflicts: Conflict[];
  waves: string[][];
  warnings: string[];
}

export type AnalysisError =
  | { kind: 'duplicate-id'; id: string; files: [string, string] }
  | { kind: 'reserved-id'; id: string; file: string }
  | { kind: 'unknown-dependency'; file: string; ref: string; known: string[] }
  | { kind: 'cycle'; cycle: string[] }
  | { kind: 'needs-repo'; file: string; pattern: string };

export interface AnalyzeOptions {
  /** The repository's tracked files, for matching globs in `files`; undefined outside a repository. */
  trackedFiles?: readonly string[];
}

/** Ids orch uses for itself: `integration` names the merge queue's branch. */
const RESERVED_IDS: ReadonlySet<string> = new Set([INTEGRATION]);

export function analyze(prompts: readonly PromptSpec[], options: AnalyzeOptions = {}): Result<Analysis, AnalysisError> {
  const byId = new Map<string, PromptSpec>();
  for (const prompt of prompts) {
    if (RESERVED_IDS.has(prompt.id)) return err({ kind: 'reserved-id', id: prompt.id, file: prompt.file });
    const other = byId.get(prompt.id);
    if (other) return err({ kind: 'duplicate-id', id: prompt.id, files: [other.file, prompt.file] });
    byId.set(prompt.id, prompt);
  }

  const index = buildKeyIndex(prompts);
  const warnings = prompts.flatMap((prompt) => prompt.warnings);
  const dependsOn = new Map<string, string[]>();

  for (const prompt of prompts) {
    const deps: string[] = [];
    for (const ref of prompt.dependsOn) {
      const id = resolveExact(ref, index);
      if (id === undefined) return err({ kind: 'unknown-dependency', file: prompt.file, ref, known: [...byId.keys()] });
      deps.push(id);
    }
    for (const ref of prompt.proseRefs) {
      const scan = scanReference(ref, index);
      // A task never depends on itself through its own prose ("after this task…").
      deps.push(...scan.ids.filter((id) => id !== prompt.id));
      for (const name of scan.unresolved) {
        const phrase = ref.phrase ? `after "${ref.phrase}"` : 'under its Dependencies heading';
        warnings.push(`${prompt.file}: "${name}" (${phrase}) names no task in this set; ignored`);
      }
    }
    dependsOn.set(prompt.id, [...new Set(deps)]);
  }

  if (options.trackedFiles === undefined) {
    for (const prompt of prompts) {
      const pattern = prompt.files.find(isGlob);
      if (pattern !== undefined) return err({ kind: 'needs-repo', file: prompt.file, pattern });
    }
  }

  const order = prompts.map((prompt) => prompt.id);
  const cycle = findCycle(order, dependsOn);
  if (cycle) return err({ kind: 'cycle', cycle });

  const tasks: TaskNode[] = prompts.map((prompt, position) => {
    const node: TaskNode = {
      id: prompt.id,
      title: prompt.title,
      file: prompt.file,
      body: prompt.body,
      dependsOn: dependsOn.get(prompt.id) ?? [],
      files: prompt.files,
      mentions: prompt.mentions,
      priority: prompt.priority,
      order: position,
    };
    if (prompt.timeoutMs !== undefined) node.timeoutMs = prompt.timeoutMs;
    if (prompt.maxTurns !== undefined) node.maxTurns = prompt.maxTurns;
    if (prompt.model !== undefined) node.model = prompt.model;
    return node;
  });

  const conflicts = findConflicts(tasks, options.trackedFiles ?? []);
  const waves = computeWaves(tasks, new ConflictIndex(conflicts));
  return ok({ tasks, conflicts, waves, warnings });
}

/** One line saying what is wrong and how to fix it. */
export function describeAnalysisError(error: AnalysisError): string {
  switch (error.kind) {
    case 'reserved-id':
      return `${error.file}: the task id "${error.id}" is reserved (orch/<run>/${error.id} is the merge queue's branch): give the task another \`id:\` in its frontmatter, or rename the file.`;
    case 'duplicate-id':
      return `duplicate task id "${error.id}" in ${error.files[0]} and ${error.files[1]}: rename one file or give it another \`id:\` in its frontmatter.`;
    case 'unknown-dependency': {
      const known = error.known.slice(0, 8).join(', ') + (error.known.length > 8 ? ', …' : '');
      return `${error.file}: depends_on "${error.ref}" names no task in this set (tasks: ${known}); use a task id or prompt file name, or add that prompt to the command.`;
    }
    case 'cycle':
      return `dependency cycle: ${error.cycle.join(' → ')}; remove one of these dependencies (a depends_on entry or a "depends on …" phrase).`;
    case 'needs-repo':
      return `${error.file}: files pattern "${error.pattern}" is a glob, which orch matches against the repository's tracked files: run orch inside a git repository.`;
  }
}
