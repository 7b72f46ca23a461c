import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

/** Finds an executable the way a shell would: a path as given, else the first match on PATH. */
export async function findExecutable(name: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [path.resolve(cwd, name)]
    : (env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
