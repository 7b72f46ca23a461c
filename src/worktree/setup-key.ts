import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { worktreeGitDir } from './pool.js';

/**
 * Whether setup must run again in a worktree where it already ran (one taken from the warm pool,
 * or a resumed one): a stamp of the setup commands and the content of the `worktree.setupKey`
 * files, written in the worktree's own git folder once setup has succeeded there. The stamp
 * travels with the worktree (a `git worktree move` keeps that folder) and goes when it is removed.
 */

const STAMP_FILE = 'orch-setup-key';

/** The stamp setup would leave now; undefined when no key files are configured (setup always runs then). */
export async function setupStamp(worktree: string, commands: readonly string[], keyFiles: readonly string[]): Promise<string | undefined> {
  if (keyFiles.length === 0) return undefined;
  const hash = createHash('sha256').update(JSON.stringify(commands));
  for (const file of keyFiles) {
    hash.update(`\0${file}\0`);
    try {
      hash.update(await readFile(path.join(worktree, file)));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') throw error;
      hash.update('\0missing');
    }
  }
  return hash.digest('hex');
}

/** The stamp of the last setup that succeeded in this worktree, if any. */
export async function lastSetupStamp(worktree: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(await worktreeGitDir(worktree), STAMP_FILE), 'utf8')).trim() || undefined;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Records a successful setup (stamp), or forgets the last one (undefined) before setup runs again. */
export async function recordSetupStamp(worktree: string, stamp: string | undefined): Promise<void> {
  const file = path.join(await worktreeGitDir(worktree), STAMP_FILE);
  if (stamp === undefined) await rm(file, { force: true });
  else await writeFile(file, `${stamp}\n`);
}
