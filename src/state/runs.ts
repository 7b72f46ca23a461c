import { readdir } from 'node:fs/promises';
import { UserError, errorCode } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { runPaths, runsDir, type RunPaths } from './paths.js';
import type { Registry } from './registry.js';
import { readRegistry } from './registry-file.js';

/** Run ids in creation order (ids start with a UTC timestamp). */
export async function listRunIds(repoRoot: string): Promise<string[]> {
  try {
    const entries = await readdir(runsDir(repoRoot), { withFileTypes: true });
    // Hidden entries are runs still being put together (see startingDir).
    return entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}

export interface LoadedRun {
  paths: RunPaths;
  registry: Registry;
}

/** A run by id, or the latest run with a registry when no id is given. */
export async function loadRun(repoRoot: string, runId?: string): Promise<LoadedRun> {
  if (runId !== undefined) {
    if (!/^[\w.-]+$/.test(runId)) throw new UserError(`"${runId}" is not a run id: see \`orch status --all\`.`);
    const paths = runPaths(repoRoot, runId);
    if (!(await pathExists(paths.registry))) throw new UserError(`no run "${runId}" in ${runsDir(repoRoot)}: see \`orch status --all\`.`);
    return { paths, registry: await readRegistry(paths.registry) };
  }
  const ids = await listRunIds(repoRoot);
  for (const id of ids.reverse()) {
    const paths = runPaths(repoRoot, id);
    if (await pathExists(paths.registry)) return { paths, registry: await readRegistry(paths.registry) };
  }
  throw new UserError('no orch runs in this repository yet: start one with `orch run prompts/*.md`.');
}
