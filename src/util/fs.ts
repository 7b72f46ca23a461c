import { stat } from 'node:fs/promises';
import { errorCode } from '../errors.js';

/** Whether anything (file, folder, link target) exists at the path; a path that cannot be checked (EACCES…) is an error, not a "no". */
export async function pathExists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}
