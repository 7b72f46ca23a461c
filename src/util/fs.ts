import { stat } from 'node:fs/promises';

/** Whether anything (file, folder, link target) exists at the path. */
export async function pathExists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}
