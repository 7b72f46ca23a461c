import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import YAML from 'yaml';
import { UserError, environmentError, errorCode } from '../errors.js';
import { idFromFileName, sanitizeId } from '../prompt/id.js';
import { decodePrompt } from '../prompt/load.js';
import { parsePrompt } from '../prompt/parse.js';
import { INTEGRATION } from '../state/paths.js';
import { requireRepoRoot } from '../worktree/repo.js';

/** One task to queue, stated explicitly: what `add_tasks` is given. */
export interface NewTask {
  id: string;
  title: string;
  /** What the agent is to do (markdown). */
  prompt: string;
  dependsOn?: readonly string[] | undefined;
  files?: readonly string[] | undefined;
}

export interface AddTasksRequest {
  cwd: string;
  tasks: readonly NewTask[];
  /** Where the prompt files go, relative to `cwd` (default `prompts`). */
  dir?: string | undefined;
  /** Replace the prompt files of tasks that exist already. */
  overwrite?: boolean | undefined;
}

export interface AddedTask {
  id: string;
  /** The prompt file, relative to `cwd`. */
  path: string;
  action: 'wrote' | 'overwrote';
}

export const DEFAULT_TASK_DIR = 'prompts';

/** A prompt file in the format `orch plan` reads: frontmatter with the explicit fields, then the title and the text. */
export function promptFileText(task: NewTask): string {
  const frontmatter: Record<string, unknown> = { id: task.id, title: task.title };
  if (task.dependsOn && task.dependsOn.length > 0) frontmatter.depends_on = [...task.dependsOn];
  if (task.files && task.files.length > 0) frontmatter.files = [...task.files];
  const body = task.prompt.trim();
  const heading = /^#\s/.test(body) ? '' : `# ${task.title}\n\n`;
  return `---\n${YAML.stringify(frontmatter)}---\n${heading}${body}\n`;
}

function checkTask(task: NewTask, seen: Set<string>): void {
  if (!task.id || sanitizeId(task.id) !== task.id) {
    const suggestion = sanitizeId(task.id);
    throw new UserError(
      `task id "${task.id}" is not usable: ids may only hold letters, digits, '.', '_' and '-'${suggestion ? ` (say "${suggestion}")` : ''}.`,
    );
  }
  if (task.id === INTEGRATION)
    throw new UserError(`task id "${INTEGRATION}" is reserved (it names the merge queue's branch): choose another.`);
  if (seen.has(task.id)) throw new UserError(`task id "${task.id}" is given twice: every task needs its own id.`);
  seen.add(task.id);
  if (!task.title.trim() || /[\r\n]/.test(task.title)) throw new UserError(`task ${task.id}: the title must be one non-empty line.`);
  if (!task.prompt.trim()) throw new UserError(`task ${task.id}: the prompt is empty: say what the agent is to do.`);
  for (const [key, list] of [
    ['depends_on', task.dependsOn],
    ['files', task.files],
  ] as const) {
    if (list?.some((item) => !item.trim())) throw new UserError(`task ${task.id}: \`${key}\` holds an empty entry.`);
  }
}

/** The task ids the prompt files already in `dir` hold (by their frontmatter `id`, else their name), with their files. */
async function existingIds(dir: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.md')).sort();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return ids;
    throw error;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    let id = sanitizeId(idFromFileName(name));
    try {
      id = parsePrompt(decodePrompt(await readFile(file), name), name, file).id;
    } catch {
      // A file orch cannot read as a task is known by its name.
    }
    ids.set(id, file);
  }
  return ids;
}

/**
 * Writes one prompt file per task under `dir`, in the format `orch plan` reads: the queue of
 * work, stated explicitly. Everything is checked before anything is written; a task whose id a
 * prompt file there already holds is refused unless `overwrite` (then that file is replaced).
 */
export async function addTasks(request: AddTasksRequest): Promise<{ dir: string; tasks: AddedTask[] }> {
  const repoRoot = await requireRepoRoot(request.cwd);
  const dirArg = request.dir ?? DEFAULT_TASK_DIR;
  const dir = path.resolve(request.cwd, dirArg);
  const inside = path.relative(repoRoot, dir);
  if (inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new UserError(`dir "${dirArg}" is outside the repository ${repoRoot}: prompt files belong inside it.`);
  }
  const kind = await stat(dir).then(
    (info) => (info.isDirectory() ? 'directory' : 'file'),
    () => 'missing',
  );
  if (kind === 'file') throw new UserError(`dir "${dirArg}" is a file, not a directory: choose a folder for the prompt files.`);
  const seen = new Set<string>();
  for (const task of request.tasks) checkTask(task, seen);

  const existing = await existingIds(dir);
  const writes = request.tasks.map((task) => {
    const current = existing.get(task.id);
    if (current && !request.overwrite) {
      throw new UserError(
        `task "${task.id}" exists already (${path.relative(request.cwd, current)}): choose another id, or pass overwrite to replace it.`,
      );
    }
    const file = current ?? path.join(dir, `${task.id}.md`);
    const text = promptFileText(task);
    // What orch will read back is what was asked for (prose in the text may add dependencies; these are the explicit ones).
    const parsed = parsePrompt(text, path.relative(request.cwd, file), file);
    if (parsed.id !== task.id || parsed.title !== task.title) throw new Error(`task ${task.id} does not read back as written`);
    return { task, file, text, action: current ? ('overwrote' as const) : ('wrote' as const) };
  });

  try {
    await mkdir(dir, { recursive: true });
    for (const { file, text } of writes) await writeFileAtomic(file, text);
  } catch (error) {
    throw (
      environmentError(
        error,
        `cannot write the prompt files in ${dirArg}`,
        'free space or fix its permissions, then add the tasks again',
      ) ?? error
    );
  }
  return {
    dir: path.relative(request.cwd, dir) || '.',
    tasks: writes.map(({ task, file, action }) => ({ id: task.id, path: path.relative(request.cwd, file), action })),
  };
}
