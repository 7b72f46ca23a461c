import { createHash } from 'node:crypto';
import path from 'node:path';
import picomatch from 'picomatch';

/**
 * A remote as it may travel to workers: no credentials. An https URL loses its user and
 * password (workers use their own git credentials); an ssh URL keeps its user (never a secret);
 * a local path becomes absolute (relative to the repository). Anything else is kept as written.
 */
export function shareableRemote(remote: string, repoRoot: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) {
    try {
      const url = new URL(remote);
      if (url.protocol === 'http:' || url.protocol === 'https:') {
        url.username = '';
        url.password = '';
      } else url.password = '';
      return url.toString();
    } catch {
      return remote;
    }
  }
  // scp-like syntax (user@host:path) has a colon before any slash; a path does not.
  if (/^[^/]*:/.test(remote) && !/^[a-z]:[\\/]/i.test(remote)) return remote;
  return path.resolve(repoRoot, remote);
}

/** Whether the remote carried credentials that `shareableRemote` removed (they are never sent). */
export function hadCredentials(remote: string): boolean {
  try {
    const url = new URL(remote);
    return url.password !== '' || ((url.protocol === 'http:' || url.protocol === 'https:') && url.username !== '');
  } catch {
    return false;
  }
}

/** The queue of a remote: every coordinator and worker of that remote meets there. */
export function queueNameFor(remote: string): string {
  return `attempts-${createHash('sha256').update(remote).digest('hex').slice(0, 16)}`;
}

/** Whether a worker started with these `--allow-remote` patterns runs jobs of this remote. */
export function remoteAllowed(patterns: readonly string[], remote: string): boolean {
  return patterns.some((pattern) => pattern === remote || picomatch.isMatch(remote, pattern, { dot: true }));
}
