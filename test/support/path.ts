import { chmod, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './tmp.js';

/**
 * A PATH like the test's own, as one folder of links, without the programs named in `without`
 * and with `scripts` (name → shell script) added: how a test shows orch a machine that lacks
 * bubblewrap, or one that has it.
 */
export async function simulatedPath(options: { without?: readonly string[]; scripts?: Record<string, string> }): Promise<string> {
  const dir = await tempDir('orch-path-');
  const skip = new Set(options.without ?? []);
  const linked = new Set<string>();
  for (const folder of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      if (skip.has(name) || linked.has(name) || name in (options.scripts ?? {})) continue;
      linked.add(name);
      await symlink(path.join(folder, name), path.join(dir, name));
    }
  }
  for (const [name, script] of Object.entries(options.scripts ?? {})) {
    await writeFile(path.join(dir, name), `#!/bin/sh\n${script}\n`);
    await chmod(path.join(dir, name), 0o755);
  }
  return dir;
}
