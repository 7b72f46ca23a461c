import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { afterEach } from 'vitest';

const mounts: string[] = [];
afterEach(() => {
  for (const target of mounts.splice(0).reverse()) execFileSync('umount', [target]);
});

/** Mounts a tiny tmpfs at `dir` (unmounted after the test); skips the test where mounting is not allowed. */
export async function tinyDisk(dir: string, size: string, context: { skip: () => void }): Promise<string> {
  await mkdir(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
  } catch {
    context.skip(); // needs root and permission to mount; the registry writer's unit test covers the rest
  }
  return dir;
}

/**
 * Makes a file or folder read-only in place (a read-only bind mount over it, removed after the
 * test): writes to it fail with EROFS, even for root. Skips the test where mounting is not allowed.
 */
export function readOnly(target: string, context: { skip: () => void }): void {
  try {
    execFileSync('mount', ['--bind', target, target], { stdio: 'ignore' });
    mounts.push(target);
    execFileSync('mount', ['-o', 'remount,bind,ro', target], { stdio: 'ignore' });
  } catch {
    context.skip();
  }
}
