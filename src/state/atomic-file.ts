import { open, rename, rm } from 'node:fs/promises';

let written = 0;

/**
 * Replaces `file` whole: the text goes to a temporary file beside it, which is flushed to disk
 * (fsync) and then renamed over `file`. A reader, or a crash at any instant, finds the old file or
 * the new one, never a mix; a failed write (a full disk) leaves the old one and no temporary file.
 * What write-file-atomic does for orch's own files, without what they do not need (resolving
 * symlinks, keeping another owner's ownership and mode): those cost a run a dozen system calls at
 * every registry write.
 */
export async function replaceFile(file: string, text: string): Promise<void> {
  written += 1;
  const staged = `${file}.${process.pid}.${written}.tmp`;
  try {
    const handle = await open(staged, 'wx');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(staged, file);
  } catch (error) {
    await rm(staged, { force: true }).catch(() => undefined);
    throw error;
  }
}
