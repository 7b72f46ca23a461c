import { errorFirstLine } from '../errors.js';

// Apart from clone.ts, so that `orch run` and `orch resume` (which only need this) do not load execa.
/** The line of a git error that says what went wrong (`fatal: …`, `error: …`), without the prefix. */
export function firstGitLine(error: unknown): string {
  const lines = errorFirstLine(error) ? String(error instanceof Error ? error.message : error).split('\n') : [];
  const telling = lines.find((line) => /^(fatal|error|remote):/.test(line.trim())) ?? lines[0] ?? 'git failed';
  return telling
    .trim()
    .replace(/^(fatal|error):\s*/, '')
    .slice(0, 300);
}
