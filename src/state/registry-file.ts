import { readFile } from 'node:fs/promises';
import { UserError, environmentError, errorCode, errorMessage } from '../errors.js';
import { replaceFile } from './atomic-file.js';
import { registrySchema, type Registry } from './registry.js';

/**
 * Reads and validates a registry. A truncated or corrupted file is a UserError naming it; the
 * file is never rewritten on the way.
 */
export async function readRegistry(file: string): Promise<Registry> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT')
      throw new UserError(`no registry at ${file}: the run folder is incomplete; remove it or pick another run (\`orch status --all\`).`);
    throw new UserError(`cannot read the registry ${file}: ${errorCode(error) ?? errorMessage(error)}.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `the registry ${file} is corrupted (${errorMessage(error)}); it was left unchanged: restore it from a backup or remove that run folder.`,
    );
  }
  const parsed = registrySchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(
      `the registry ${file} is corrupted (${issue.path.join('.') || 'top level'}: ${issue.message}); it was left unchanged: restore it or remove that run folder.`,
    );
  }
  return parsed.data;
}

/**
 * Writes the registry atomically: a temporary file in the same folder, fsync, rename. A failed
 * write (a full disk) leaves the last good registry in place.
 */
export async function writeRegistry(file: string, registry: Registry): Promise<void> {
  try {
    await replaceFile(file, `${JSON.stringify(registry, null, 2)}\n`);
  } catch (error) {
    throw (
      environmentError(
        error,
        `cannot write the registry ${file}`,
        'the last good registry was kept. Free some space or fix the permissions, then `orch resume`.',
      ) ?? error
    );
  }
}
