import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { excludeStateDir } from '../worktree/git.js';
import { pathExists } from '../util/fs.js';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

/** What `orch init` writes: template → place in the repository. */
export const INIT_FILES: ReadonlyArray<{ template: string; target: string }> = [
  { template: 'commands/orchestrate.md', target: '.claude/commands/orchestrate.md' },
  { template: 'agents/workflow-manager.md', target: '.claude/agents/workflow-manager.md' },
  { template: 'config.json', target: '.gadugi/config.json' },
];

export interface InitResult {
  target: string;
  action: 'wrote' | 'overwrote' | 'kept';
}

/** Writes the slash command, the agent definition and the documented config; never overwrites without `force`. */
export async function initRepository(repoRoot: string, force: boolean): Promise<InitResult[]> {
  const results: InitResult[] = [];
  for (const { template, target } of INIT_FILES) {
    const destination = path.join(repoRoot, target);
    const existed = await pathExists(destination);
    if (existed && !force) {
      results.push({ target, action: 'kept' });
      continue;
    }
    await mkdir(path.dirname(destination), { recursive: true });
    await copyFile(path.join(TEMPLATES, template), destination);
    results.push({ target, action: existed ? 'overwrote' : 'wrote' });
  }
  await excludeStateDir(repoRoot);
  return results;
}
